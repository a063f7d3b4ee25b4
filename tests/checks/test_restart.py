"""A scenario's phases run once: what a phase raised, every later check that needs it hears again."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.checks.restart import Phases
from grader.feedback import CheckFailure


class Upgrade(Phases):
    """A phase that makes a folder, then meets an error of the grader's: run again, it would
    find its own folder there (FileExistsError) and hide the first error."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root, self.runs = root, 0

    def _upgrade(self) -> None:
        self.runs += 1
        (self.root / "older").mkdir()
        raise KeyError("id")

    def _fails(self) -> None:
        self.runs += 1
        raise CheckFailure("GET /notes answered 500.")


def test_a_phase_that_raised_raises_the_same_again_and_never_runs_twice(tmp_path: Path) -> None:
    run = Upgrade(tmp_path)
    for _ in range(3):
        with pytest.raises(KeyError, match="id"):
            run.phase("upgrade")
        with pytest.raises(CheckFailure, match="answered 500"):
            run.phase("fails")
    assert run.runs == 2
