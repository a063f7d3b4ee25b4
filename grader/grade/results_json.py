"""A student's grade in Gradescope's results.json format.

Each test carries its outcome (grader.results: "timeout", "crashed", ...) in `extra_data`, which
Gradescope keeps and shows to no one; junit.xml is built from these files and reads it there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from grader.course import Course
from grader.grade.batch import Graded
from grader.results import ERROR, PASS, PASSED, StepReport, clip

MAX_OUTPUT = 4000


def step_tests(report: StepReport, course: Course, now: datetime | None = None) -> list[dict[str, Any]]:
    """One Gradescope test per check, shown as course.toml says at `now`; a step that could not run
    is one failed test worth its points."""
    step = course.step(report.step)
    title = step.title
    moment = now or datetime.now()
    if not report.tests:
        return [{
            "name": f"Step {report.step}: {title}",
            "number": f"{report.step}",
            "score": 0.0,
            "max_score": float(report.max_score),
            "status": "failed",
            "output": clip(report.message, MAX_OUTPUT),
            "visibility": "visible",
            "extra_data": {"outcome": report.outcome},
        }]
    errored = report.status == ERROR
    tests = []
    for index, test in enumerate(report.tests, start=1):
        passed = test.status == PASS and not errored
        output = test.message + (f"\nHint: {test.hint}" if test.hint else "")
        outcome = test.outcome
        if errored and test.status == PASS:
            output = f"No marks: the step could not be graded ({report.message})"
            outcome = report.outcome
        tests.append({
            "name": f"Step {report.step}: {test.name}",
            "number": f"{report.step}.{index}",
            "score": float(test.max_score) if passed else 0.0,
            "max_score": float(test.max_score),
            "status": "passed" if passed else "failed",
            "output": clip(output, MAX_OUTPUT),
            "visibility": step.shown(test.check, moment),
            "extra_data": {"outcome": PASSED if passed else outcome},
        })
    return tests


def results_json(graded: Graded, course: Course, now: datetime | None = None) -> dict[str, Any]:
    tests = [t for report in graded.reports for t in step_tests(report, course, now)]
    lines = [
        f"Step {r.step} ({course.step(r.step).title}): {r.score:g} / {r.max_score:g}"
        for r in graded.reports
    ]
    if graded.problem:
        lines.insert(0, clip(graded.problem))
    return {
        "score": float(sum(t["score"] for t in tests)),
        "execution_time": round(graded.seconds, 3),
        "output": "\n".join(lines),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"status": graded.status, "timed_out": graded.timed_out},
        "tests": tests,
    }


def max_score(data: dict[str, Any]) -> float:
    """A results file's maximum: its tests' (Gradescope's format has no top-level maximum)."""
    tests = data.get("tests")
    return float(sum(float(t.get("max_score", 0)) for t in tests if isinstance(t, dict))) \
        if isinstance(tests, list) else 0.0


__all__ = ["max_score", "results_json", "step_tests"]
