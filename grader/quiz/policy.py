"""What an instructor decides about each quiz, read from a TOML file they edit (named by
PERSISTLAB_QUIZ_SETTINGS). Names and defaults follow Moodle's quiz settings:

```toml
[defaults]                  # every quiz
attempts = 0                # attempts allowed; 0: unlimited (Moodle's default)
timeopen = 2026-12-07T09:00:00Z    # "Open the quiz": no start before (default: always open)
timeclose = 2026-12-11T17:00:00Z   # "Close the quiz": open attempts are submitted then
timelimit = 20              # minutes per attempt, enforced by the server; 0: none (default)
feedback = "immediate"      # "immediate": after each answer (Moodle's immediatefeedback);
                            # "deferred": after the attempt (deferredfeedback);
                            # "after-close": score and feedback once timeclose has passed
multiple_open = false       # may a student keep more than one attempt open at once?

[quizzes.persistence]       # one topic's quiz, or "self-check"
attempts = 2
```

With `multiple_open = false` (the default, and Moodle's only way), starting a quiz that has
an open attempt resumes it, so the feedback of one attempt never gives away the keys of
another still open. An attempt whose time is up is submitted with the answers it has (Moodle's
default "overdue handling"). Moodle's default feedback is deferred; persistlab's quizzes are
practice, so its default is immediate.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from grader.quiz.grading import SELF_CHECK

MAX_ATTEMPTS = 100
MAX_TIMELIMIT_MINUTES = 24 * 60
FEEDBACK_MODES = ("immediate", "deferred", "after-close")
FEEDBACK_TEXT = {
    "immediate": "after each answer",
    "deferred": "after the attempt",
    "after-close": "after the close date",
}
SETTINGS = ("attempts", "timeopen", "timeclose", "timelimit", "feedback", "multiple_open")


class PolicyError(ValueError):
    """The settings file cannot be read or holds a setting the quiz cannot use."""


def when(timestamp: float, *, seconds: bool = False) -> str:
    """A moment for people, in UTC: '2026-12-11 17:00 UTC' (or '... 17:00:25 UTC')."""
    shape = "%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC"
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime(shape)


@dataclass(frozen=True)
class QuizPolicy:
    attempts: int = 0  # attempts allowed; 0 is unlimited
    timeopen: float | None = None  # epoch seconds
    timeclose: float | None = None
    timelimit: int = 0  # seconds; 0 is no limit
    feedback: str = "immediate"
    multiple_open: bool = False

    @property
    def attempts_text(self) -> str:
        return "unlimited" if self.attempts == 0 else str(self.attempts)

    @property
    def timelimit_text(self) -> str:
        return f"{self.timelimit // 60} minutes" if self.timelimit else "none"

    @property
    def feedback_text(self) -> str:
        return FEEDBACK_TEXT[self.feedback]

    @property
    def summary(self) -> str:
        """What differs from the defaults, for the student choosing a quiz ("" if nothing)."""
        parts = []
        if self.timeopen is not None:
            parts.append(f"opens {when(self.timeopen)}")
        if self.timeclose is not None:
            parts.append(f"closes {when(self.timeclose)}")
        if self.timelimit:
            parts.append(f"time limit {self.timelimit_text}")
        if self.attempts:
            parts.append(f"{self.attempts} attempt{'s' if self.attempts > 1 else ''} allowed")
        if self.feedback != "immediate":
            parts.append(f"feedback {self.feedback_text}")
        return "; ".join(parts)

    def deadline(self, started_at: float) -> float | None:
        """When an attempt started at `started_at` stops taking answers (None: never)."""
        ends = [t for t in (self.timeclose,) if t is not None]
        if self.timelimit:
            ends.append(started_at + self.timelimit)
        return min(ends) if ends else None

    def not_open(self, now: float) -> str | None:
        """Why a new attempt cannot start at `now`, or None when it can."""
        if self.timeopen is not None and now < self.timeopen:
            return f"opens at {when(self.timeopen)}"
        if self.timeclose is not None and now >= self.timeclose:
            return f"closed at {when(self.timeclose)}"
        return None

    def shows_feedback(self, now: float, *, finished: bool) -> bool:
        """Whether a student sees the key, hints and score of an answer now."""
        if self.feedback == "immediate":
            return True
        if self.feedback == "deferred":
            return finished
        return finished and self.timeclose is not None and now >= self.timeclose


@dataclass(frozen=True)
class Policies:
    defaults: QuizPolicy = QuizPolicy()
    quizzes: dict[str, QuizPolicy] = field(default_factory=dict)
    source: Path | None = None

    def of(self, topic: str | None) -> QuizPolicy:
        """The policy of a topic's quiz (None: the self-check)."""
        return self.quizzes.get(topic or SELF_CHECK, self.defaults)

    @property
    def timed(self) -> bool:
        """Whether any quiz has a deadline (a close date or a time limit)."""
        return any(
            p.timeclose is not None or p.timelimit for p in (self.defaults, *self.quizzes.values())
        )


def _moment(value: Any, where: str, name: str) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise PolicyError(
                f"{where}: {name} needs a time zone, such as {value.isoformat()}Z for UTC."
            )
        return value.timestamp()
    if isinstance(value, date):
        raise PolicyError(f"{where}: {name} needs a time of day too, such as {value}T17:00:00Z.")
    raise PolicyError(f"{where}: {name} must be a date and time such as 2026-12-11T17:00:00Z.")


def _whole(value: Any, where: str, name: str, top: int, unit: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise PolicyError(f"{where}: {name} must be a whole number of {unit}, 0 to {top}.")
    return value


def _policy(raw: Any, where: str, base: QuizPolicy) -> QuizPolicy:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} must be a table of settings.")
    unknown = sorted(set(raw) - set(SETTINGS))
    if unknown:
        raise PolicyError(
            f"{where}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(SETTINGS)}."
        )
    changes: dict[str, Any] = {}
    if "attempts" in raw:
        changes["attempts"] = _whole(
            raw["attempts"], where, "attempts", MAX_ATTEMPTS, "attempts (0: unlimited)"
        )
    for name in ("timeopen", "timeclose"):
        if name in raw:
            changes[name] = _moment(raw[name], where, name)
    if "timelimit" in raw:
        minutes = _whole(
            raw["timelimit"], where, "timelimit", MAX_TIMELIMIT_MINUTES, "minutes (0: none)"
        )
        changes["timelimit"] = minutes * 60
    if "feedback" in raw:
        if raw["feedback"] not in FEEDBACK_MODES:
            raise PolicyError(
                f"{where}: feedback must be one of {', '.join(map(repr, FEEDBACK_MODES))}."
            )
        changes["feedback"] = raw["feedback"]
    if "multiple_open" in raw:
        if not isinstance(raw["multiple_open"], bool):
            raise PolicyError(f"{where}: multiple_open must be true or false.")
        changes["multiple_open"] = raw["multiple_open"]
    return replace(base, **changes)


def _check(policy: QuizPolicy, where: str) -> QuizPolicy:
    """The settings of one quiz, defaults included, that only make sense together."""
    opens, closes = policy.timeopen, policy.timeclose
    if opens is not None and closes is not None and closes <= opens:
        raise PolicyError(f"{where}: timeclose must come after timeopen.")
    if policy.feedback == "after-close" and policy.timeclose is None:
        raise PolicyError(f'{where}: feedback = "after-close" needs a timeclose.')
    return policy


def load_policies(path: Path | None, topics: list[str]) -> Policies:
    """The settings in `path` (defaults everywhere when None), checked against the bank's topics."""
    if path is None:
        return Policies()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"Cannot read the quiz settings {path}: {exc}") from None
    unknown = sorted(set(data) - {"defaults", "quizzes"})
    if unknown:
        raise PolicyError(
            f"{path}: unknown table(s) {', '.join(unknown)}; known: defaults, quizzes."
        )
    defaults = _policy(data.get("defaults", {}), f"{path} [defaults]", QuizPolicy())
    quizzes = data.get("quizzes", {})
    if not isinstance(quizzes, dict):
        raise PolicyError(f"{path}: quizzes must be tables such as [quizzes.{SELF_CHECK}].")
    known = [SELF_CHECK, *topics]
    policies = {}
    for name, raw in quizzes.items():
        if name not in known:
            raise PolicyError(f"{path}: there is no quiz {name!r}; quizzes: {', '.join(known)}.")
        policies[name] = _policy(raw, f"{path} [quizzes.{name}]", defaults)
    final = {
        name: _check(policies.get(name, defaults), f"{path} [quizzes.{name}]") for name in known
    }
    return Policies(defaults, final, path)
