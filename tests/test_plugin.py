"""The plugin's server fixtures: a check may reuse the previous check's server only while it is sound."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.check import run_checks
from grader.course import Course
from grader.engine import process
from grader.engine.limits import Limits
from grader.results import FAIL, PASS
from tests.checks.variants import S3, S4, Variant

QUICK = Limits(startup=5.0, request=1.0, stop=1.0)


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The mode of every student process started (the processes are real)."""
    started: list[str] = []
    original = process.StudentProcess.__init__

    def counting(self: process.StudentProcess, folder: Path, mode: str, *args: object) -> None:
        started.append(mode)
        original(self, folder, mode, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(process.StudentProcess, "__init__", counting)
    return started


@pytest.mark.parametrize(("number", "servers"), [(3, 1), (4, 1), (5, 3)])
def test_checks_that_can_share_a_server_do(
    course: Course, starts: list[str], number: int, servers: int
) -> None:
    step = course.step(number)
    report = run_checks(step, step.solution_dir, QUICK)
    assert report.status == PASS
    assert starts == ["serve"] * servers


def test_a_server_that_hung_is_not_reused(course: Course, tmp_path: Path, starts: list[str]) -> None:
    """The second note hangs: the check after it gets a fresh server, and passes."""
    hangs = Variant("hangs-on-the-second-note", 3, S3, {"main.py": [
        ("    note_id = next_id\n",
         "    note_id = next_id\n    if note_id == 2:\n        import time\n        time.sleep(30)\n"),
    ]})
    report = run_checks(course.step(3), hangs.write(tmp_path / "step"), QUICK)
    first, count_up, rejects = report.tests
    assert (first.status, count_up.status, rejects.status) == (PASS, FAIL, PASS)
    assert "within 1 s" in (count_up.message or "")
    assert starts == ["serve"] * 2


def test_a_first_note_that_hangs_is_waited_on_once(course: Course, tmp_path: Path, starts: list[str]) -> None:
    """The second check needs the first note's id: it fails at once, with the first one's reason."""
    hangs = Variant("hangs-on-the-first-note", 3, S3, {"main.py": [
        ("    note_id = next_id\n", "    note_id = next_id\n    import time\n    time.sleep(30)\n"),
    ]})
    report = run_checks(course.step(3), hangs.write(tmp_path / "step"), QUICK)
    first, count_up, _ = report.tests
    assert (first.status, count_up.status) == (FAIL, FAIL)
    assert "within 1 s" in (first.message or "")
    assert (count_up.message or "").startswith("Cannot check the ids of the notes after it yet: ")
    assert starts == ["serve"] * 2  # the first server, then a fresh one for the 422 check


def test_a_listing_check_on_a_reused_server_still_sees_only_its_notes(
    course: Course, tmp_path: Path
) -> None:
    """A server that starts with a note in it fails the empty-listing check; the listing check,
    on the reused server, finds its three notes under their ids and passes: one mistake, one check.
    A note of its own missing from the reused server still fails it."""
    seeded = Variant("seeded", 4, S4, {"main.py": [
        ("notes_db: dict[int, str] = {}", 'notes_db: dict[int, str] = {0: "example"}'),
    ]})
    report = run_checks(course.step(4), seeded.write(tmp_path / "step"), QUICK)
    assert [t.status for t in report.tests] == [FAIL, PASS]
    forgets = Variant("forgets-the-second", 4, S4, {"main.py": [
        ("    notes_db[note_id] = note.text\n", "    if note_id != 2:\n        notes_db[note_id] = note.text\n"),
    ]})
    report = run_checks(course.step(4), forgets.write(tmp_path / "forgets"), QUICK)
    assert [t.status for t in report.tests] == [PASS, FAIL]


@pytest.mark.parametrize("number", range(5, 10))
def test_a_server_starts_only_once_every_other_has_ended(
    course: Course, monkeypatch: pytest.MonkeyPatch, number: int
) -> None:
    """Two student processes alive at once could hand notes to each other through a restart."""
    started: list[process.StudentProcess] = []
    overlaps: list[int] = []
    original = process.StudentProcess.__init__

    def watching(self: process.StudentProcess, *args: object) -> None:
        overlaps.append(sum(Path(f"/proc/{p.pid}").exists() for p in started))
        original(self, *args)  # type: ignore[arg-type]
        started.append(self)

    monkeypatch.setattr(process.StudentProcess, "__init__", watching)
    step = course.step(number)
    assert run_checks(step, step.solution_dir, QUICK).status == PASS
    assert len(overlaps) > 1 and set(overlaps) == {0}
