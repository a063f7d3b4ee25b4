from __future__ import annotations

import signal
from pathlib import Path

import pytest

from grader.course import Course, load_course
from grader.workspace import create_workspace


def pytest_configure() -> None:
    """Ctrl-C as a student's shell gives it: a run started in the background (`cmd &`) ignores
    SIGINT, and every command the tests start would inherit that and never stop."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def course() -> Course:
    return load_course()


@pytest.fixture
def workspace(tmp_path: Path, course: Course) -> Path:
    """A workspace with every step's starter folder (`persistlab init` makes step 1's alone, and
    the others appear as steps pass: see tests/test_carry.py)."""
    target = tmp_path / "ws"
    create_workspace(course, target)
    return target
