"""Changes to a grade an instructor makes by hand: adjustments.csv and a late penalty.

Both are applied when a student's results are written, on every run and regrade, and shown
where the grade is: the results file (its score, output and `extra_data.adjustments`), the
feedback, the gradebook's total and the LMS files.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.grade.submissions import Submission


class AdjustmentError(Exception):
    """An adjustments file or late penalty that cannot be applied as written."""


@dataclass(frozen=True)
class Adjustment:
    points: float  # added to the score: negative for a deduction
    reason: str
    fraction: bool = False  # `points` is a fraction of the maximum score (a late penalty in %)

    def value(self, max_score: float) -> float:
        return self.points * max_score if self.fraction else self.points


@dataclass(frozen=True)
class LatePenalty:
    amount: float
    percent: bool

    def adjustment(self) -> Adjustment:
        shown = f"{self.amount * 100:g}%" if self.percent else f"{self.amount:g} points"
        return Adjustment(-self.amount, f"late: the LMS marked this submission late (-{shown})", self.percent)


def parse_late_penalty(text: str) -> LatePenalty:
    """'10%' (of the maximum score) or '2' (points)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", text)
    if not match or (match[2] and float(match[1]) > 100):
        raise AdjustmentError(f"--late-penalty {text!r} is not a penalty such as 10% or 2 (points)")
    return LatePenalty(float(match[1]) / 100 if match[2] else float(match[1]), bool(match[2]))


def read_adjustments(path: Path, submissions: list[Submission]) -> dict[str, list[Adjustment]]:
    """adjustments.csv (student, points, reason) by submission name; a student is named as in
    the gradebook, by their LMS id, or by their name as the download gives it."""
    names: dict[str, str] = {}
    for submission in submissions:
        for alias in (submission.identity.display, submission.identity.lms_id, submission.name):
            if alias:
                names.setdefault(alias.casefold(), submission.name)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise AdjustmentError(f"{path} cannot be read as a UTF-8 CSV file ({exc})") from None
    found: dict[str, list[Adjustment]] = {}
    for line, row in enumerate(rows, start=2):
        student, points, reason = (row.get(k, "") or "" for k in ("student", "points", "reason"))
        if not student.strip():
            raise AdjustmentError(f"{path}, line {line}: give student, points and reason columns")
        name = names.get(student.strip().casefold())
        if name is None:
            raise AdjustmentError(f"{path}, line {line}: no submission is named {student.strip()!r}")
        try:
            value = float(points)
        except ValueError:
            raise AdjustmentError(f"{path}, line {line}: points {points!r} is not a number") from None
        if not reason.strip():
            raise AdjustmentError(f"{path}, line {line}: say why ({student.strip()}'s reason is empty)")
        found.setdefault(name, []).append(Adjustment(value, reason.strip()))
    return found


def apply(data: dict[str, Any], adjustments: list[Adjustment]) -> dict[str, Any]:
    """A results file's data with `adjustments` applied to its score (never below zero) and listed."""
    if not adjustments:
        return data
    most = float(data.get("max_score", 0.0))
    values = [round(a.value(most), 2) for a in adjustments]
    listed = [{"points": value, "reason": a.reason} for value, a in zip(values, adjustments)]
    before = float(data.get("score", 0.0))
    after = max(0.0, before + sum(values))
    lines = [f"Adjustment: {value:+g} ({a.reason})" for value, a in zip(values, adjustments)]
    extra = {**data.get("extra_data", {}), "adjustments": listed, "score_before_adjustments": before}
    return {**data, "score": round(after, 2), "output": "\n".join([*lines, str(data.get("output", ""))]),
            "extra_data": extra}


__all__ = ["Adjustment", "AdjustmentError", "LatePenalty", "apply", "parse_late_penalty", "read_adjustments"]
