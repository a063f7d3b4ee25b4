"""gradebook.csv (one row per student) and the class summary printed at the end."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from grader.course import Course
from grader.grade.batch import Graded
from grader.results import ERROR, SYNTAX_ERROR

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: str) -> str:
    """A value a spreadsheet shows as text: one that could start a formula (`+1+1`, `=HYPERLINK(...)`)
    gets a leading apostrophe, as OWASP advises against CSV injection."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


WHO = ("lms_id", "late", "submitted")  # from the download's names: the LMS's id, its late flag, the time


def _columns(course: Course, steps: tuple[int, ...]) -> list[str]:
    return ["student", *WHO, *(f"step{n}" for n in steps), "total", "max", "status", "seconds"]


def row(graded: Graded, who: dict[str, str] | None = None) -> dict[str, str]:
    values = {"student": graded.name, **dict.fromkeys(WHO, ""), **(who or {})}
    for report in graded.reports:
        values[f"step{report.step}"] = f"{report.score:g}"
    values.update(total=f"{graded.score:g}", max=f"{graded.max_score:g}", status=graded.status,
                  seconds=f"{graded.seconds:.2f}")
    return values


def read_gradebook(path: Path) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [{key: uncell(value or "") for key, value in r.items() if key is not None}
                for r in csv.DictReader(handle)]
    return {r["student"]: r for r in rows}


def uncell(value: str) -> str:
    """The value `cell` was given."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def gradebook_csv(rows: dict[str, dict[str, str]], course: Course, steps: tuple[int, ...]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_columns(course, steps), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for name in sorted(rows):
        writer.writerow({key: cell(value) for key, value in rows[name].items()})
    return out.getvalue()


NAMED = 8  # students named after a count in the summary, at most


def _count(names: list[str]) -> str:
    """'2 (ann, bo)': how many, and who, so the instructor knows whose feedback to read."""
    if not names:
        return "0"
    more = f", and {len(names) - NAMED} more" if len(names) > NAMED else ""
    return f"{len(names)} ({', '.join(names[:NAMED])}{more})"


@dataclass
class Summary:
    students: int
    averages: dict[int, tuple[float, float]]  # step -> (average score, points)
    timeouts: list[str]  # the students who hit a time limit
    errors: list[str]  # the students with a step that could not be graded

    def lines(self) -> list[str]:
        out = [f"{self.students} submission{'' if self.students == 1 else 's'} graded."]
        for step, (average, points) in self.averages.items():
            out.append(f"  step {step}: class average {average:.2f} / {points:g}")
        out.append(f"  {_count(self.timeouts)} hit a time limit; {_count(self.errors)} had a step that "
                   "could not be graded.")
        return out


def summarise_class(grades: list[Graded]) -> Summary:
    averages: dict[int, tuple[float, float]] = {}
    if grades:
        for index, report in enumerate(grades[0].reports):
            scores = [g.reports[index].score for g in grades]
            averages[report.step] = (sum(scores) / len(scores), report.max_score)
    return Summary(
        students=len(grades), averages=averages,
        timeouts=[g.name for g in grades if g.timed_out],
        errors=[g.name for g in grades if any(r.status == ERROR and r.outcome != SYNTAX_ERROR for r in g.reports)],
    )


__all__ = ["WHO", "Summary", "gradebook_csv", "read_gradebook", "row", "summarise_class"]
