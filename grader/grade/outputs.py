"""Writing a graded class into the output folder: gradebook, results, feedback, junit."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from grader.course import Course
from grader.grade.batch import Graded
from grader.grade.feedback import feedback_markdown
from grader.grade.gradebook import gradebook_csv, read_gradebook, row
from grader.grade.junit import junit_xml
from grader.grade.results_json import results_json


def _write(path: Path, text: str) -> None:
    """Write through a temporary file, so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_student(out: Path, graded: Graded, course: Course) -> dict[str, Any]:
    data = results_json(graded, course)
    _write(out / "results" / f"{graded.name}.json", json.dumps(data, indent=2) + "\n")
    _write(out / "feedback" / f"{graded.name}.md", feedback_markdown(graded, course))
    return data


def prepare(out: Path) -> None:
    for sub in ("results", "feedback"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)


def write_class(out: Path, grades: list[Graded], course: Course, steps: tuple[int, ...],
                replace_all: bool) -> None:
    """gradebook.csv and junit.xml from this run, merged with earlier rows unless `replace_all`."""
    rows = {} if replace_all else read_gradebook(out / "gradebook.csv")
    for graded in grades:
        rows[graded.name] = row(graded)
    _write(out / "gradebook.csv", gradebook_csv(rows, course, steps))
    results: dict[str, dict[str, Any]] = {}
    for name in rows:
        path = out / "results" / f"{name}.json"
        if path.is_file():
            results[name] = json.loads(path.read_text(encoding="utf-8"))
    _write(out / "junit.xml", junit_xml(results))


__all__ = ["prepare", "write_class", "write_student"]
