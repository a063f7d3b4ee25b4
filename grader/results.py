"""Check results in Exercism's results format (version 3), with scores and outcomes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PASS, FAIL, ERROR = "pass", "fail", "error"

# What happened in a check, as data set where it happened: the summary, the gradebook, the result
# cache and every output file read these, never the wording of a message.
PASSED = "passed"
FAILED = "failed"  # the app answered, and the answer was wrong
TIMEOUT = "timeout"  # a time limit: the start, an answer, or the submission's whole budget
CRASHED = "crashed"  # the app's process ended: an exception at import or startup, an exit, a signal
SYNTAX_ERROR = "syntax_error"  # Python cannot read the student's code: nothing could run (Exercism's error)
MEMORY = "memory"  # the app ran out of memory
OUTPUT_CUT = "output_cut"  # the app wrote more output than is kept
SKIPPED = "skipped"  # the check could not run here (no PostgreSQL server): no marks, and why
REFUSED = "refused"  # the submission could not be taken: unsafe, empty or unreadable input
SANDBOX_ERROR = "sandbox_error"  # the sandbox could not be set up: not the student's doing
GRADER_ERROR = "grader_error"  # the grader itself failed: not the student's doing
GRADER_FAULTS = frozenset({SANDBOX_ERROR, GRADER_ERROR})
UNSETTLED = GRADER_FAULTS | {TIMEOUT}  # a verdict that may come out otherwise next time


def status_of(outcome: str) -> str:
    """The Exercism status an outcome gives: a fault of the grader's is an error, never a fail."""
    if outcome == PASSED:
        return PASS
    return ERROR if outcome in GRADER_FAULTS or outcome in (REFUSED, SYNTAX_ERROR) else FAIL


MAX_MESSAGE = 2000  # characters of one message carried into results, feedback and junit
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` with control characters shown as escapes and, past `limit` characters, its middle
    cut out, saying how much: a message can hold anything the student's code printed or raised.
    Clipping a clipped text changes nothing."""
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
    if len(text) <= limit:
        return text
    keep = max(limit - 48, 0) // 2  # 48: room for the note of what was cut
    return f"{text[:keep]} [... {len(text) - 2 * keep} characters cut ...] {text[len(text) - keep:]}"


def whole(value: float) -> int | float:
    """A score as JSON shows it: 3, not 3.0."""
    return int(value) if float(value).is_integer() else value


@dataclass
class TestResult:
    __test__ = False  # not a test class of pytest's, though its name says Test

    name: str
    status: str
    max_score: float
    task_id: int | None = None
    message: str = ""
    hint: str = ""
    outcome: str = PASSED
    test_code: str = ""  # the check's own source, as Exercism's results show it
    check: str = ""  # the check function's name, as course.toml's visibility names it

    def __post_init__(self) -> None:
        self.message, self.hint = clip(self.message), clip(self.hint)

    def record(self, outcome: str, message: str = "", hint: str = "") -> None:
        """The check's verdict: its outcome gives its status; the texts are clipped."""
        self.outcome, self.status = outcome, status_of(outcome)
        self.message, self.hint = clip(message), clip(hint)
    log: str = ""  # what the app printed, when the failure came from it (not in the JSON)

    @property
    def score(self) -> float:
        return self.max_score if self.status == PASS else 0.0

    def to_json(self) -> dict[str, Any]:
        message = self.message + (f"\nHint: {self.hint}" if self.hint else "")
        return {
            "name": self.name,
            "test_code": self.test_code,
            "status": self.status,
            "message": (message or None) if self.status != PASS else None,
            "score": whole(self.score),
            "max_score": whole(self.max_score),
            "task_id": self.task_id,
            "outcome": self.outcome,
        }


@dataclass
class StepReport:
    """A step's verdict. `outcome` is the first failure's, or the step's own when no check ran."""

    step: int
    status: str
    max_score: float
    message: str = ""
    tests: list[TestResult] = field(default_factory=list)
    outcome: str = PASSED

    def __post_init__(self) -> None:
        self.message = clip(self.message)

    @property
    def score(self) -> float:
        return 0.0 if self.status == ERROR else sum(t.score for t in self.tests)

    @property
    def first_failure(self) -> TestResult | None:
        return next((t for t in self.tests if t.status != PASS), None)

    @property
    def outcomes(self) -> set[str]:
        """Every outcome in the step: its own and each check's."""
        return {self.outcome, *(t.outcome for t in self.tests)}

    @property
    def timed_out(self) -> bool:
        return TIMEOUT in self.outcomes

    @property
    def settled(self) -> bool:
        """No time limit and no fault of the grader's: the same files would get the same verdict."""
        return not self.outcomes & UNSETTLED

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 3,
            "step": self.step,
            "status": self.status,
            "score": whole(self.score),
            "max_score": whole(self.max_score),
            "message": (self.message or "The step could not be checked.") if self.status == ERROR else None,
            "outcome": self.outcome,
            "tests": [t.to_json() for t in self.tests],
        }


def error_report(step: int, max_score: float, message: str, outcome: str = GRADER_ERROR) -> StepReport:
    """A step that could not be checked: zero marks, and the reason."""
    return StepReport(step=step, status=ERROR, max_score=max_score, message=message, outcome=outcome)


def failed_report(step: int, max_score: float, message: str, outcome: str = FAILED) -> StepReport:
    """A step that earns nothing although no check ran: work missing, or the time used up."""
    return StepReport(step=step, status=FAIL, max_score=max_score, message=message, outcome=outcome)


def usage_error_json(step: int | None, max_score: float, message: str) -> dict[str, Any]:
    """Every key of a result, for a command that was refused before (or after) a step was known;
    no code ran, so no protections applied."""
    refused = error_report(0, max_score, message, REFUSED)
    return {**refused.to_json(), "step": step, "protections": None}


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
    return StepReport(step=step, status=status, max_score=max_score, message=failed.message,
                      tests=tests, outcome=failed.outcome)
