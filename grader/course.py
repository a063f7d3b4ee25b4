"""Course metadata: course.toml loaded and validated in one place."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_CHECKOUT = Path(__file__).resolve().parent.parent
# A checkout keeps the course beside the package; a built wheel carries it in grader/_data.
ROOT = _CHECKOUT if (_CHECKOUT / "course.toml").is_file() else Path(__file__).resolve().parent / "_data"
COURSE_FILE = ROOT / "course.toml"
EXERCISES = ROOT / "exercises"
SOLUTIONS = ROOT / "solutions"
FORMAT_VERSION = 1
VISIBLE = "visible"
VISIBILITIES = (VISIBLE, "hidden", "after_due_date", "after_published")  # Gradescope's own words


class CourseError(Exception):
    """course.toml is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class Step:
    number: int
    slug: str
    title: str
    folder: str
    points: int
    checks: str
    hints: tuple[str, ...]
    quiz: tuple[str, ...] = ()
    visibility: tuple[tuple[str, str], ...] = ()  # (check function, "hidden" / Gradescope's / a date)

    def shown(self, check: str, now: datetime) -> str:
        """How Gradescope shows the check graded at `now`: "visible", "hidden", "after_due_date" or
        "after_published"; a check hidden until a date is "after_due_date" before it."""
        rule = dict(self.visibility).get(check, VISIBLE)
        if rule in VISIBILITIES:
            return rule
        return VISIBLE if now >= datetime.fromisoformat(rule) else "after_due_date"

    @property
    def label(self) -> str:
        return f"step {self.number} ({self.slug})"

    @property
    def exercise_dir(self) -> Path:
        return EXERCISES / self.folder

    @property
    def solution_dir(self) -> Path:
        return SOLUTIONS / self.folder


@dataclass(frozen=True)
class Course:
    title: str
    steps: tuple[Step, ...]
    root: Path = field(default=ROOT)

    def step(self, number: int) -> Step:
        for step in self.steps:
            if step.number == number:
                return step
        raise CourseError(
            f"There is no step {number}: the course has steps 1 to {len(self.steps)}."
        )

    def by_slug(self, slug: str) -> Step:
        for step in self.steps:
            if step.slug == slug:
                return step
        raise CourseError(f"There is no step called {slug!r}.")

    def resolve(self, ref: str | int) -> Step:
        """A step from a number ("3"), a slug ("add-note") or a folder ("03-add-note")."""
        text = str(ref).strip()
        if text.isdigit():
            return self.step(int(text))
        for step in self.steps:
            if text in (step.slug, step.folder):
                return step
        raise CourseError(
            f"There is no step {text!r}: give a number from 1 to {len(self.steps)} or a name "
            f"such as {self.steps[0].slug!r}."
        )

    @property
    def max_score(self) -> int:
        return sum(step.points for step in self.steps)


_REQUIRED = {"number": int, "slug": str, "title": str, "folder": str, "points": int, "checks": str}


def _visibility(raw: object, index: int) -> tuple[tuple[str, str], ...]:
    """A step's `visibility` table: check function name = "hidden", "after_due_date",
    "after_published", "visible" or a date ("2026-12-15": hidden until then)."""
    if not isinstance(raw, dict):
        raise CourseError(f"course.toml: step {index} visibility must be a table of check = visibility.")
    for check, rule in raw.items():
        if rule in VISIBILITIES:
            continue
        try:
            datetime.fromisoformat(str(rule))
        except ValueError:
            raise CourseError(f"course.toml: step {index} visibility of {check}: {rule!r} is none of "
                              f"{', '.join(VISIBILITIES)}, nor a date such as 2026-12-15.") from None
    return tuple(sorted((str(k), str(v)) for k, v in raw.items()))


def parse_course(data: dict, root: Path = ROOT) -> Course:
    if data.get("format_version") != FORMAT_VERSION:
        raise CourseError(
            f"course.toml has format_version {data.get('format_version')!r}; "
            f"this persistlab reads version {FORMAT_VERSION}."
        )
    steps = []
    for index, raw in enumerate(data.get("steps", []), start=1):
        for key, kind in _REQUIRED.items():
            if not isinstance(raw.get(key), kind):
                raise CourseError(f"course.toml: step {index} needs {key!r} ({kind.__name__}).")
        visibility = _visibility(raw.get("visibility", {}), index)
        hints = raw.get("hints", [])
        quiz = raw.get("quiz", [])
        if not all(isinstance(h, str) for h in hints) or not all(isinstance(q, str) for q in quiz):
            raise CourseError(f"course.toml: step {index} hints and quiz must be lists of strings.")
        steps.append(
            Step(
                number=raw["number"],
                slug=raw["slug"],
                title=raw["title"],
                folder=raw["folder"],
                points=raw["points"],
                checks=raw["checks"],
                hints=tuple(hints),
                quiz=tuple(quiz),
                visibility=visibility,
            )
        )
    if [s.number for s in steps] != list(range(1, len(steps) + 1)):
        raise CourseError("course.toml: steps must be numbered 1, 2, 3, ... in order.")
    return Course(title=data.get("title", "persistlab"), steps=tuple(steps), root=root)


def load_course(path: Path = COURSE_FILE) -> Course:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CourseError(f"Cannot read {path}: {exc}") from exc
    return parse_course(data, root=path.parent)
