"""feedback/NAME.md: what a student reads, per step: the checks passed, the first failure, a hint.

Every text that can carry what a student's code printed or raised is clipped and escaped, so it
reads as the plain text it is: no Markdown, no HTML, no terminal control characters.
"""

from __future__ import annotations

import re
from datetime import datetime

from grader.course import VISIBLE, Course
from grader.grade.batch import Graded
from grader.results import ERROR, GRADER_FAULTS, PASS, SYNTAX_ERROR, clip

_INLINE = re.compile(r"([\\`*_\[\]!~|])")  # emphasis, code, links, images, strikethrough, tables
_LINE_START = re.compile(r"^(\s*\d*)([#+=.)-])", re.MULTILINE)  # headings, lists, rules
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def plain(text: str, lines: bool = False) -> str:
    """`text`, clipped, as Markdown that renders as that text: on one line unless `lines`."""
    text = clip(text)
    if not lines:
        text = " ".join(text.splitlines())
    text = _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", text))
    return "".join(_HTML.get(char, char) for char in text)


def quoted(text: str) -> list[str]:
    """`text` as a block quote, every line of it inside the quote."""
    return [f"> {line}".rstrip() for line in plain(text, lines=True).splitlines() or [""]]


def feedback_markdown(graded: Graded, course: Course, now: datetime | None = None) -> str:
    """The student's feedback; a check course.toml hides (at `now`) is counted, never named."""
    moment = now or datetime.now()
    lines = [f"# persistlab: feedback for {plain(graded.name)}", "",
             f"Total: **{graded.score:g} / {graded.max_score:g}**", ""]
    if graded.problem:
        lines += [*quoted(graded.problem), ""]
    for report in graded.reports:
        step = course.step(report.step)
        lines += [f"## Step {step.number}: {plain(step.title)} ({report.score:g} / {report.max_score:g})", ""]
        hidden = {id(t) for t in report.tests if step.shown(t.check, moment) != VISIBLE}
        passed = [t for t in report.tests if t.status == PASS and id(t) not in hidden]
        if report.status == ERROR and report.message and report.outcome != SYNTAX_ERROR:
            fault = " (a fault of the grader's, not of your code)" if report.outcome in GRADER_FAULTS else ""
            lines += [f"Not graded{fault}: {plain(report.message)}", ""]
        elif not report.tests and report.message:
            lines += [f"No marks: {plain(report.message)}", ""]
        for test in passed:
            lines.append(f"- passed: {plain(test.name)}")
        unseen = [t for t in report.tests if id(t) in hidden]
        if unseen:
            kept = sum(t.status == PASS for t in unseen)
            lines.append(f"- hidden checks: {kept} of {len(unseen)} passed (shown later)")
        failure = next((t for t in report.tests if t.status != PASS and id(t) not in hidden), None)
        if failure is not None:
            lines += ["", f"First problem, in **{plain(failure.name)}**:", "", *quoted(failure.message)]
            if failure.hint:
                lines += ["", f"Hint: {plain(failure.hint)}"]
        elif report.status == PASS and not unseen:
            lines.append("")
            lines.append("Every check passes.")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["feedback_markdown", "plain"]
