"""What an instructor decides about each quiz, read from a TOML file they edit (named by
PERSISTLAB_QUIZ_SETTINGS); the names follow Moodle's quiz settings.

```toml
[defaults]            # every quiz
attempts = 0          # attempts allowed; 0: unlimited (Moodle's default)

[quizzes.persistence] # one topic's quiz, or "self-check"
attempts = 2
```

A student has at most one open (unfinished) attempt per quiz: starting the quiz again resumes
it, so the feedback of one attempt never gives away the keys of another still open.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from grader.quiz.grading import SELF_CHECK

MAX_ATTEMPTS = 100


class PolicyError(ValueError):
    """The settings file cannot be read or holds a setting the quiz cannot use."""


@dataclass(frozen=True)
class QuizPolicy:
    attempts: int = 0  # attempts allowed; 0 is unlimited

    @property
    def attempts_text(self) -> str:
        return "unlimited" if self.attempts == 0 else str(self.attempts)


@dataclass(frozen=True)
class Policies:
    defaults: QuizPolicy = QuizPolicy()
    quizzes: dict[str, QuizPolicy] = field(default_factory=dict)
    source: Path | None = None

    def of(self, topic: str | None) -> QuizPolicy:
        """The policy of a topic's quiz (None: the self-check)."""
        return self.quizzes.get(topic or SELF_CHECK, self.defaults)


def _policy(raw: Any, where: str, base: QuizPolicy) -> QuizPolicy:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} must be a table of settings.")
    unknown = sorted(set(raw) - {"attempts"})
    if unknown:
        raise PolicyError(f"{where}: unknown setting(s) {', '.join(unknown)}; known: attempts.")
    attempts = raw.get("attempts", base.attempts)
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        raise PolicyError(f"{where}: attempts must be a whole number (0 for unlimited).")
    if not 0 <= attempts <= MAX_ATTEMPTS:
        raise PolicyError(f"{where}: attempts must be 0 (unlimited) to {MAX_ATTEMPTS}.")
    return QuizPolicy(attempts=attempts)


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
    return Policies(defaults, {name: policies.get(name, defaults) for name in known}, path)
