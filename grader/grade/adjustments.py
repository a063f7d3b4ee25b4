"""Changes to a grade an instructor makes by hand: adjustments.csv and a late penalty.

Both are applied when a student's results are written, on every run and regrade, and shown
where the grade is: the results file (its score, output and `extra_data.adjustments`), the
feedback, the gradebook's total and the LMS files.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from grader.grade.lms import Identity
from grader.grade.results_json import max_score
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


LATE = "late: "  # how a late penalty's reason starts


@dataclass(frozen=True)
class LatePolicy:
    """A late penalty: once (`per_day` False) or per day late (counted up: 1 minute late is 1
    day), in points or a share of the maximum (`percent`), at most `cap` in all (same unit)."""

    amount: float
    percent: bool
    per_day: bool = False
    cap: float | None = None
    due: datetime | None = None

    def _shown(self, value: float) -> str:
        return f"{value * 100:g}%" if self.percent else f"{value:g} points"

    def days_late(self, identity: Identity) -> int:
        """Days late by the submission time the download gives, measured from `due`; else 1 if
        the LMS flagged it late; else 0."""
        if self.due is not None and identity.submitted is not None:
            seconds = (identity.submitted - self.due).total_seconds()
            return max(0, math.ceil(seconds / 86400))
        return 1 if identity.late else 0

    def adjustment(self, identity: Identity) -> Adjustment | None:
        days = self.days_late(identity)
        if days == 0:
            return None
        total = self.amount * (days if self.per_day else 1)
        capped = self.cap is not None and total > self.cap
        total = min(total, self.cap) if self.cap is not None else total
        if self.due is not None and identity.submitted is not None:
            when = (f"handed in {identity.submitted:%Y-%m-%d %H:%M}, {days} day{'s' * (days > 1)} "
                    f"after the due date {self.due:%Y-%m-%d %H:%M}")
        else:
            when = "the LMS marked this submission late" + (
                " and gives no time: counted as 1 day" if self.per_day else "")
        rate = f"{self._shown(self.amount)} a day" if self.per_day else self._shown(self.amount)
        cap = f", capped at {self._shown(total)}" if capped else ""
        return Adjustment(-total, f"{LATE}{when} (-{rate}{cap})", self.percent)


def _penalty(text: str, option: str) -> tuple[float, bool]:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", text)
    if not match or (match[2] and float(match[1]) > 100):
        raise AdjustmentError(f"{option} {text!r} is not a penalty such as 10% or 2 (points)")
    return (float(match[1]) / 100 if match[2] else float(match[1])), bool(match[2])


def parse_due(text: str) -> datetime:
    """`2026-12-01 23:59` (or with T, or a date alone: its midnight), in the times of the download."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AdjustmentError(f"--due {text!r} is not a date and time such as 2026-12-01 23:59") from None
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment


def parse_late_policy(text: str, due: str | None = None, cap: str | None = None) -> LatePolicy:
    """'10%' (of the maximum score) or '2' (points), once; '10%/day' or '2/day' for each day after
    `due`; `cap`, the most taken off in all."""
    amount_text, per_day = text, False
    if text.strip().endswith("/day"):
        amount_text, per_day = text.strip()[: -len("/day")], True
    amount, percent = _penalty(amount_text, "--late-penalty")
    moment = parse_due(due) if due is not None else None
    if per_day and moment is None:
        raise AdjustmentError(f"--late-penalty {text!r} is per day: give --due, the due date to count the days from")
    limit = None
    if cap is not None:
        limit, cap_percent = _penalty(cap, "--late-cap")
        if cap_percent != percent:
            raise AdjustmentError(f"--late-cap {cap!r} and --late-penalty {text!r} must both be in % or both in points")
    return LatePolicy(amount, percent, per_day, limit, moment)


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
    most = max_score(data)
    values = [round(a.value(most), 2) for a in adjustments]
    listed = [{"points": value, "reason": a.reason} for value, a in zip(values, adjustments)]
    before = float(data.get("score", 0.0))
    after = max(0.0, before + sum(values))
    lines = [f"Adjustment: {value:+g} ({a.reason})" for value, a in zip(values, adjustments)]
    extra = {**data.get("extra_data", {}), "adjustments": listed, "score_before_adjustments": before}
    return {**data, "score": round(after, 2), "output": "\n".join([*lines, str(data.get("output", ""))]),
            "extra_data": extra}


__all__ = [
    "LATE", "Adjustment", "AdjustmentError", "LatePolicy", "apply", "parse_due", "parse_late_policy",
    "read_adjustments",
]
