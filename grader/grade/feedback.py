"""feedback/NAME.md: what a student reads, per step: the checks passed, the first failure, a hint."""

from __future__ import annotations

from grader.course import Course
from grader.grade.batch import Graded
from grader.results import ERROR, PASS


def feedback_markdown(graded: Graded, course: Course) -> str:
    lines = [f"# persistlab: feedback for {graded.name}", "",
             f"Total: **{graded.score:g} / {graded.max_score:g}**", ""]
    if graded.problem:
        lines += [f"> {graded.problem}", ""]
    for report in graded.reports:
        step = course.step(report.step)
        lines += [f"## Step {step.number}: {step.title} ({report.score:g} / {report.max_score:g})", ""]
        passed = [t for t in report.tests if t.status == PASS]
        if report.status == ERROR and report.message:
            lines += [f"Not graded: {report.message}", ""]
        elif not report.tests and report.message:
            lines += [f"No marks: {report.message}", ""]
        for test in passed:
            lines.append(f"- passed: {test.name}")
        failure = report.first_failure
        if failure is not None:
            lines += ["", f"First problem, in **{failure.name}**:", "", f"> {failure.message}"]
            if failure.hint:
                lines += ["", f"Hint: {failure.hint}"]
        elif report.status == PASS:
            lines.append("")
            lines.append("Every check passes.")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["feedback_markdown"]
