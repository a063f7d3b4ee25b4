"""Writing a graded class into the output folder: gradebook, results, feedback, junit."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from grader.course import Course
from grader.grade.adjustments import Adjustment, apply
from grader.grade.batch import Graded
from grader.grade.exports import NO_SUBMISSION, Mark, canvas_csv, moodle_csv, moodle_feedback_zip
from grader.grade.feedback import feedback_markdown, plain
from grader.grade.gradebook import gradebook_csv, read_gradebook, row
from grader.grade.junit import junit_xml
from grader.grade.results_json import max_score, results_json
from grader.grade.roster import Roster, match
from grader.grade.submissions import Submission
from grader.results import clip


def _write(path: Path, text: str) -> None:
    """Write through a temporary file, so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_student(out: Path, graded: Graded, course: Course, adjustments: list[Adjustment] | None = None,
                  extra: dict[str, Any] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """results/NAME.json and feedback/NAME.md; `extra` goes into the results' extra_data (the
    LMS id, the fingerprint of the files graded); checks shown as course.toml says at `now`."""
    data = apply(results_json(graded, course, now), adjustments or [])
    if extra:
        data["extra_data"] = {**data.get("extra_data", {}), **extra}
    _write(out / "results" / f"{graded.name}.json", json.dumps(data, indent=2) + "\n")
    _write(out / "feedback" / f"{graded.name}.md", _adjusted(feedback_markdown(graded, course, now), data))
    return data


def _adjusted(feedback: str, data: dict[str, Any]) -> str:
    """The feedback with the adjustments made to its total, right under that total."""
    listed = data.get("extra_data", {}).get("adjustments", [])
    if not listed:
        return feedback
    lines = feedback.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("Total: "))
    added = ["", f"After adjustments: **{data['score']:g} / {max_score(data):g}**", "",
             *(f"- {item['points']:+g}: {plain(item['reason'])}" for item in listed)]
    return "\n".join([*lines[:at + 1], *added, *lines[at + 1:]])


def prepare(out: Path) -> None:
    for sub in ("results", "feedback"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)


def write_class(out: Path, grades: list[Graded], course: Course, steps: tuple[int, ...],
                replace_all: bool, who: dict[str, dict[str, str]] | None = None) -> None:
    """gradebook.csv and junit.xml from this run, merged with earlier rows unless `replace_all`;
    `who`: each student's LMS id, late flag and submission time."""
    rows = {} if replace_all else read_gradebook(out / "gradebook.csv")
    for graded in grades:
        rows[graded.name] = row(graded, (who or {}).get(graded.name))
    results: dict[str, dict[str, Any]] = {}
    for name in rows:
        data = read_results(out, name)
        if data is not None:
            results[name] = data
            if "adjustments" in data.get("extra_data", {}):
                rows[name]["total"] = f"{data['score']:g}"
    _write(out / "gradebook.csv", gradebook_csv(rows, course, steps))
    _write(out / "junit.xml", junit_xml(results))


def read_results(out: Path, name: str) -> dict[str, Any] | None:
    path = out / "results" / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class Exports:
    """What went into the LMS files, and who could not."""

    files: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # on the roster, with no submission
    unmatched: list[str] = field(default_factory=list)  # submissions matching no roster row
    no_id: list[str] = field(default_factory=list)  # no roster, and no LMS id in the name
    ungraded: list[str] = field(default_factory=list)  # submissions with no results here yet
    withheld: str = ""  # why the roster's LMS file was not written
    warnings: list[str] = field(default_factory=list)  # what to check before importing a file

    def lines(self) -> list[str]:
        out = [f"Wrote {', '.join(self.files)} for your LMS."] if self.files else []
        out += [self.withheld] if self.withheld else []
        out += self.warnings
        if self.missing:
            out.append(f"On the roster with no submission (0, \"{NO_SUBMISSION}\"): {', '.join(self.missing)}.")
        if self.unmatched:
            out.append(f"Submissions matching no one on the roster (not in the LMS files): "
                       f"{', '.join(self.unmatched)}.")
        if self.ungraded:
            out.append(f"Not graded into this folder yet, so left out of the LMS files (their grades there stay as "
                       f"they are): {', '.join(self.ungraded)}.")
        if self.no_id:
            out.append(f"Submissions whose name carries no Canvas or Moodle id (not in the LMS files; give --roster "
                       f"to match them by name): {', '.join(self.no_id)}.")
        return out


def _mark(out: Path, key: str, points: float | None, submission: Submission) -> tuple[float, float, str] | None:
    """The grade (scaled to the LMS's points, if it has its own), those points, and a note; None
    if the student has no results file here yet (graded by no run into this folder)."""
    data = read_results(out, key)
    if data is None:
        return None
    score, most = float(data.get("score", 0.0)), max_score(data)
    target = points if points else most
    grade = score * target / most if most else 0.0
    return grade, target, clip(submission.problem, 500) if submission.problem else ""


def write_exports(out: Path, submissions: list[Submission], roster: Roster | None,
                  assignment: str | None, now: datetime) -> Exports:
    """canvas.csv and moodle.csv: the roster's students (or, without one, the submissions whose
    names carry an LMS id), each with their grade."""
    exports = Exports()
    by_key = {s.name: s for s in submissions}
    canvas: list[Mark] = []
    moodle: list[Mark] = []
    if roster is not None:
        matched, exports.unmatched = match(roster, {s.name: s.identity for s in submissions})
        marks = canvas if roster.kind == "canvas" else moodle if roster.kind == "moodle" else []
        if submissions and not matched and roster.kind in ("canvas", "moodle"):
            exports.withheld = (f"No submission matches anyone on the roster, so {roster.kind}.csv was not "
                                "written (it would give every student 0): is it this class's roster?")
        for student in [] if exports.withheld else roster.students:
            key = matched.get(student)
            submission = by_key[key] if key is not None else None
            if key is None or submission is None:
                exports.missing.append(student.name)
                grade, points, note = 0.0, roster.points or 0.0, NO_SUBMISSION
            elif (scored := _mark(out, key, roster.points, submission)) is not None:
                grade, points, note = scored
            else:
                exports.ungraded.append(key)
                continue
            lms_id = student.lms_id or (submission.identity.lms_id if submission is not None else "")
            if lms_id:  # a participants export has no ids: those who submitted bring theirs
                marks.append(Mark(student.name, lms_id, grade, points, note, submitted=submission is not None,
                                  email=student.email, fields=student.fields))
        if any(m.submitted for m in marks):
            top = max(m.points for m in marks)
            for mark in marks:
                mark.points = mark.points or top
    else:
        for submission in submissions:
            identity = submission.identity
            into = {"canvas": canvas, "moodle": moodle}.get(identity.lms)
            if into is None:
                exports.no_id.append(submission.name)
                continue
            scored = _mark(out, submission.name, None, submission)
            if scored is None:
                exports.ungraded.append(submission.name)
                continue
            into.append(Mark(identity.display, identity.lms_id, *scored))
    name = (roster.assignment if roster is not None else "") or assignment or "persistlab"
    if canvas:
        _write(out / "canvas.csv", canvas_csv(canvas, name))
        exports.files.append("canvas.csv")
    if moodle:
        _write(out / "moodle.csv", moodle_csv(moodle, now, roster.decimal if roster is not None else "."))
        exports.files.append("moodle.csv")
        if roster is None or roster.points is None:  # Moodle reads a grade against its own maximum
            exports.warnings.append(
                f"moodle.csv gives grades out of persistlab's {max(m.points for m in moodle):g} points, and Moodle "
                "reads them out of the assignment's own Maximum Grade: unless the two are the same, give "
                "--roster the assignment's grading worksheet, which says its maximum.")
    feedback = [(s.identity.display, s.identity.lms_id, path.read_bytes()) for s in submissions
                if s.identity.lms == "moodle" and (path := out / "feedback" / f"{s.name}.md").is_file()]
    if feedback:
        moodle_feedback_zip(feedback, out / "moodle-feedback.zip")
        exports.files.append("moodle-feedback.zip")
    return exports


__all__ = ["Exports", "prepare", "read_results", "write_class", "write_exports", "write_student"]
