"""How pytest-xdist's two workers share the suite. Tests go to whichever worker is free, one by
one, except that a file with a module-wide fixture runs whole on one worker (the fixture is made
once); and a test marked `solo` (it loads the machine) runs with no other test beside it."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

BY_FILE = {
    "tests/checks/test_postgres.py", "tests/engine/test_cgroups.py", "tests/engine/test_jail.py",
    "tests/engine/test_sandbox.py", "tests/engine/test_transport.py", "tests/grade/test_outputs.py",
    "tests/grade/test_parity.py",
    "tests/quiz/test_bank.py", "tests/quiz/test_browser.py", "tests/quiz/test_export.py",
    "tests/quiz/test_layout.py", "tests/quiz/test_proofs.py", "tests/test_packaging.py",
}  # fmt: skip
WIDE_SCOPES = {"module", "class", "package"}


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


class Scheduling(LoadScopeScheduling):
    """xdist's scope scheduling, a scope being a file of BY_FILE or else a single test: the
    largest files start first, and the single tests fill in around them."""

    def _split_scope(self, nodeid: str) -> str:
        return _file(nodeid) if _file(nodeid) in BY_FILE else nodeid


def files_missing_from_by_file(items: list[pytest.Item]) -> list[str]:
    """The files whose tests use a module-, class- or package-scoped fixture that BY_FILE does
    not list: spread over two workers, each would make the fixture."""
    found = set()
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs.values() if info is not None else ()
        if any(d and d[-1].scope in WIDE_SCOPES for d in defs):
            found.add(_file(item.nodeid))
    return sorted(found - BY_FILE)


class Turns:
    """A readers-writer lock between the workers of one run, on two files in the run's shared
    temporary folder. A test holds the room shared while it runs, a solo test holds it alone;
    whoever waits for the room holds the door, so no test starts while a solo test waits."""

    def __init__(self, folder: Path) -> None:
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
        self.door = os.open(folder / "door.lock", flags, 0o600)
        self.room = os.open(folder / "room.lock", flags, 0o600)

    @contextmanager
    def turn(self, alone: bool) -> Iterator[None]:
        fcntl.flock(self.door, fcntl.LOCK_EX)
        try:
            fcntl.flock(self.room, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            fcntl.flock(self.door, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(self.room, fcntl.LOCK_UN)
