from __future__ import annotations

from pathlib import Path

import pytest

from grader.course import Course, load_course
from grader.workspace import create_workspace


@pytest.fixture(scope="session")
def course() -> Course:
    return load_course()


@pytest.fixture
def workspace(tmp_path: Path, course: Course) -> Path:
    """A fresh workspace, as `persistlab init` makes it."""
    target = tmp_path / "ws"
    create_workspace(course, target)
    return target
