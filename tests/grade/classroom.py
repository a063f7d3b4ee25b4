"""A generated class: workspaces at every stage of the course, correct and broken, from variants."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from grader.course import Course
from grader.workspace import create_workspace
from tests.checks.variants import VARIANTS

SLOW = {"handler-loops", "import-hangs"}  # each costs whole timeouts: kept out of big classes


def solve(workspace: Path, course: Course, number: int) -> None:
    step = course.step(number)
    for path in step.solution_dir.glob("*.py"):
        shutil.copy(path, workspace / step.folder / path.name)


def sign(folder: Path, name: str) -> None:
    """Real students' files differ (comments, spacing): so do these, or grading would be cached."""
    for path in folder.glob("*.py"):
        path.write_text(f"# {name}\n" + path.read_text(encoding="utf-8"), encoding="utf-8")


def make_student(root: Path, name: str, course: Course, steps: int, rng: random.Random) -> Path:
    """Steps before the one reached are solved; that one is broken by a variant (or solved)."""
    workspace = root / name
    create_workspace(course, workspace)
    reached = rng.randint(1, steps + 1)
    for number in range(1, min(reached, steps + 1)):
        solve(workspace, course, number)
        sign(workspace / course.step(number).folder, name)
    broken = [v for v in VARIANTS if v.step == reached and v.name not in SLOW]
    if broken and rng.random() < 0.8:
        folder = workspace / course.step(reached).folder
        shutil.rmtree(folder)
        rng.choice(broken).write(folder)
        sign(folder, name)
    elif reached <= steps:
        solve(workspace, course, reached)
        sign(workspace / course.step(reached).folder, name)
    return workspace


def make_class(root: Path, course: Course, count: int, steps: int = 5, seed: int = 1) -> list[Path]:
    rng = random.Random(seed)
    return [make_student(root, f"student{i:03d}", course, steps, rng) for i in range(count)]
