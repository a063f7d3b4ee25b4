from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.course import Course, load_course
from grader.workspace import create_workspace
from tests.parallel import Scheduling, Turns, files_missing_from_by_file

TURNS = pytest.StashKey[Turns]()


def pytest_configure() -> None:
    """Ctrl-C as a student's shell gives it: a run started in the background (`cmd &`) ignores
    SIGINT, and every command the tests start would inherit that and never stop."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> Scheduling:
    return Scheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = files_missing_from_by_file(items)
    if missing:
        raise pytest.UsageError(
            f"{', '.join(missing)} use a module-wide fixture: add them to BY_FILE in "
            "tests/parallel.py, so that each runs whole on one worker and makes it once."
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[object]:
    """On an xdist worker, the test's turn (see tests/parallel.py) from its fixtures' setup to
    their teardown."""
    config = item.config
    if not hasattr(config, "workerinput"):
        return (yield)
    if TURNS not in config.stash:  # the run's own folder, which holds each worker's basetemp
        config.stash[TURNS] = Turns(Path(config.option.basetemp).parent)
    with config.stash[TURNS].turn(alone=item.get_closest_marker("solo") is not None):
        return (yield)


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

