"""The plugin's server fixtures: a check may reuse the previous check's server only while it is sound."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from grader.check import run_checks
from grader.course import Course
from grader.driver import run_steps
from grader.engine import process
from grader.engine.limits import Limits
from grader.engine.sandbox import FIRST_UID, Sandbox
from grader.engine.scratch import in_memory
from grader.feedback import CheckFailure, no_answer
from grader.results import (
    CRASHED,
    ERROR,
    FAIL,
    FAILED,
    PASS,
    PASSED,
    SANDBOX_ERROR,
    SKIPPED,
    TIMEOUT,
)
from tests.checks.variants import S3, S4, Variant

QUICK = Limits(startup=5.0, request=1.0, stop=1.0)


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folder of every student process started (the processes are real)."""
    started: list[Path] = []
    original = process.StudentProcess.__init__

    def counting(self: process.StudentProcess, folder: Path, *args: object, **kwargs: object) -> None:
        started.append(folder)
        original(self, folder, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(process.StudentProcess, "__init__", counting)
    return started


@pytest.mark.parametrize(("number", "servers"), [(3, 1), (4, 1), (5, 3)])
def test_checks_that_can_share_a_server_do(
    course: Course, starts: list[Path], number: int, servers: int
) -> None:
    step = course.step(number)
    report = run_checks(step, step.solution_dir, QUICK)
    assert report.status == PASS
    assert len(starts) == servers


def test_check_copies_the_step_into_memory_where_the_machine_has_room(
    course: Course, starts: list[Path]
) -> None:
    """An app's SQLite never waits for a disk at its commits (no crash can tell the difference)."""
    place = in_memory()
    if place is None:
        pytest.skip("no memory filesystem with room here")
    step = course.step(6)
    report = run_checks(step, step.solution_dir, QUICK)
    assert report.status == PASS
    assert starts and all(folder.is_relative_to(place) for folder in starts), starts


def test_a_server_that_hung_is_not_reused(course: Course, tmp_path: Path, starts: list[Path]) -> None:
    """The second note hangs: the check after it gets a fresh server, and passes."""
    hangs = Variant("hangs-on-the-second-note", 3, S3, {"main.py": [
        ("    note_id = next_id\n",
         "    note_id = next_id\n    if note_id == 2:\n        import time\n        time.sleep(30)\n"),
    ]})
    report = run_checks(course.step(3), hangs.write(tmp_path / "step"), QUICK)
    first, count_up, rejects = report.tests
    assert (first.status, count_up.status, rejects.status) == (PASS, FAIL, PASS)
    assert "within 1 s" in (count_up.message or "")
    assert len(starts) == 2


def test_a_first_note_that_hangs_is_waited_on_once(course: Course, tmp_path: Path, starts: list[Path]) -> None:
    """The second check needs the first note's id: it fails at once, with the first one's reason."""
    hangs = Variant("hangs-on-the-first-note", 3, S3, {"main.py": [
        ("    note_id = next_id\n", "    note_id = next_id\n    import time\n    time.sleep(30)\n"),
    ]})
    report = run_checks(course.step(3), hangs.write(tmp_path / "step"), QUICK)
    first, count_up, _ = report.tests
    assert (first.status, count_up.status) == (FAIL, FAIL)
    assert "within 1 s" in (first.message or "")
    assert (count_up.message or "").startswith("Cannot check the ids of the notes after it yet: ")
    assert len(starts) == 2  # the first server, then a fresh one for the 422 check
    assert (first.outcome, count_up.outcome, report.outcome) == (TIMEOUT, TIMEOUT, TIMEOUT)
    assert report.timed_out and not report.settled


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

    def watching(self: process.StudentProcess, *args: object, **kwargs: object) -> None:
        overlaps.append(sum(Path(f"/proc/{p.pid}").exists() for p in started))
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        started.append(self)

    monkeypatch.setattr(process.StudentProcess, "__init__", watching)
    step = course.step(number)
    assert run_checks(step, step.solution_dir, QUICK).status == PASS
    assert len(overlaps) > 1 and set(overlaps) == {0}


def test_a_failure_raised_over_another_keeps_its_outcome() -> None:
    """"Cannot check X yet: ..." after a timeout is a timeout; an outcome of its own wins."""
    def wrapped(outcome: str | None = None) -> CheckFailure:
        try:
            raise no_answer("POST /add_note", 2, None)
        except CheckFailure as failure:
            try:
                raise CheckFailure(f"Cannot check this yet: {failure.message}", outcome=outcome) from None
            except CheckFailure as again:
                return again

    assert wrapped().outcome == TIMEOUT and wrapped(FAILED).outcome == FAILED
    assert CheckFailure("wrong answer").outcome == FAILED
    assert no_answer("GET /notes", 2, -11).outcome == CRASHED and "SIGSEGV" in no_answer("GET /notes", 2, -11).message
    assert no_answer("GET /notes", 2, 0).outcome == CRASHED


def test_checks_left_when_the_time_is_up_hit_a_time_limit(course: Course) -> None:
    step = course.step(3)
    report = run_steps([(step, step.solution_dir)], QUICK, budget=0)[3]
    assert report.status == FAIL and report.score == 0
    assert {(t.status, t.outcome) for t in report.tests} == {(FAIL, TIMEOUT)}
    assert all("used up its 0 s time limit" in t.message for t in report.tests)


def test_a_sandbox_that_cannot_be_set_up_is_an_error_not_the_students_failure(course: Course) -> None:
    step = course.step(3)
    jail = Sandbox(uid=FIRST_UID, keep="/nonexistent-persistlab-keep", namespaces=False)
    report = run_checks(step, step.solution_dir, replace(QUICK, sandbox=jail))
    assert (report.status, report.outcome, report.score) == (ERROR, SANDBOX_ERROR, 0)
    assert {(t.status, t.outcome) for t in report.tests} == {(ERROR, SANDBOX_ERROR)}
    assert "not of your code" in report.tests[0].hint


def test_no_postgresql_server_is_skipped(course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERSISTLAB_POSTGRES_URL", "postgresql://postgres@127.0.0.1:1/test")
    step = course.step(10)
    report = run_checks(step, step.solution_dir, QUICK)
    assert report.status == FAIL and report.outcome == SKIPPED
    assert {t.outcome for t in report.tests} == {SKIPPED} and not report.timed_out


def test_a_passing_step_has_every_outcome_passed(course: Course) -> None:
    step = course.step(1)
    report = run_checks(step, step.solution_dir, QUICK)
    assert report.outcome == PASSED and {t.outcome for t in report.tests} == {PASSED}
    assert report.to_json()["outcome"] == PASSED
    assert {t["outcome"] for t in report.to_json()["tests"]} == {PASSED}


def test_an_app_started_with_its_own_command_that_segfaults_is_told_the_signal(
    course: Course, tmp_path: Path
) -> None:
    step = course.step(10)
    folder = tmp_path / step.folder
    shutil.copytree(step.solution_dir, folder)
    main = folder / "main.py"
    main.write_text("import ctypes\nctypes.string_at(0)\n" + main.read_text(encoding="utf-8"), encoding="utf-8")
    first = run_checks(step, folder, QUICK).first_failure
    assert first is not None and first.outcome == CRASHED
    assert "killed by SIGSEGV" in first.message and "sys.exit" not in first.message + first.hint


REPLAYED_CODE = """
from types import SimpleNamespace
from grader import plugin
from grader.checks import step07_crud_rest as step7, step08_schema_change as step8
from grader.checks import step09_relations_and_transactions as step9

code = plugin._source(SimpleNamespace(function=step8.test_update))
assert code == plugin._code_of(step7.test_update) and "def test_update(" in code, code
several = step9.test_notes_still_updated_and_deleted
code = plugin._source(SimpleNamespace(function=several))
assert "def replay" not in code and code == "\\n\\n".join(map(plugin._code_of, several.replays)), code
plain = plugin._source(SimpleNamespace(function=step7.test_update))
assert "def test_update(" in plain and '\"\"\"' not in plain, plain
"""


def test_a_replayed_check_shows_the_code_of_the_checks_it_replays() -> None:
    """Exercism's test_code for a replay is the earlier checks' code, not the wrapper that runs
    them (a module of checks is imported outside pytest: its marks need no registration there)."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", REPLAYED_CODE], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
