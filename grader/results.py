"""Check results in Exercism's results format (version 3), with scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASS, FAIL, ERROR = "pass", "fail", "error"


def whole(value: float) -> int | float:
    """A score as JSON shows it: 3, not 3.0."""
    return int(value) if float(value).is_integer() else value


@dataclass
class TestResult:
    name: str
    status: str
    max_score: float
    task_id: int | None = None
    message: str = ""
    hint: str = ""
    log: str = ""  # what the app printed, when the failure came from it (not in the JSON)

    @property
    def score(self) -> float:
        return self.max_score if self.status == PASS else 0.0

    def to_json(self) -> dict[str, Any]:
        message = self.message + (f"\nHint: {self.hint}" if self.hint else "")
        return {
            "name": self.name,
            "status": self.status,
            "message": message or None,
            "score": whole(self.score),
            "max_score": whole(self.max_score),
            "task_id": self.task_id,
        }


@dataclass
class StepReport:
    step: int
    status: str
    max_score: float
    message: str = ""
    tests: list[TestResult] = field(default_factory=list)

    @property
    def score(self) -> float:
        return 0.0 if self.status == ERROR else sum(t.score for t in self.tests)

    @property
    def first_failure(self) -> TestResult | None:
        return next((t for t in self.tests if t.status != PASS), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 3,
            "step": self.step,
            "status": self.status,
            "score": whole(self.score),
            "max_score": whole(self.max_score),
            "message": self.message or None,
            "tests": [t.to_json() for t in self.tests],
        }


def error_report(step: int, max_score: float, message: str) -> StepReport:
    """A step that could not be checked: zero marks, and the reason."""
    return StepReport(step=step, status=ERROR, max_score=max_score, message=message)


def usage_error_json(step: int | None, max_score: float, message: str) -> dict[str, Any]:
    """Every key of a result, for a command that was refused before (or after) a step was known;
    no code ran, so no protections applied."""
    return {**error_report(0, max_score, message).to_json(), "step": step, "protections": None}


def summarise(step: int, max_score: float, tests: list[TestResult]) -> StepReport:
    """The step's verdict from its tests, failing closed on anything inconsistent."""
    if not tests:
        return error_report(step, max_score, "No check ran: the grader could not collect its checks.")
    total = sum(t.max_score for t in tests)
    if total != max_score:
        return error_report(
            step, max_score, f"The checks are worth {total:g} points, not {max_score:g}: a grader bug."
        )
    if any(t.status == ERROR for t in tests):
        status, failed = ERROR, next(t for t in tests if t.status == ERROR)
    elif any(t.status == FAIL for t in tests):
        status, failed = FAIL, next(t for t in tests if t.status == FAIL)
    else:
        return StepReport(step=step, status=PASS, max_score=max_score, tests=tests)
    return StepReport(step=step, status=status, max_score=max_score, message=failed.message, tests=tests)
