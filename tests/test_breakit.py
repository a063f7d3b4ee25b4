"""The break-it experiments, run for real on the step-6 reference app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.breakit import EXPERIMENTS, LEAK_REQUESTS, Lab
from grader.checks.orm_app import MAX_OPEN
from grader.cli import cli
from grader.course import Course


@pytest.fixture
def lab(course: Course, tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(course, tmp_path)
    yield lab
    lab.close()


def results(lab: Lab, action: str) -> list[str]:
    return [result for done, result in lab.log if done == action]


def test_deleting_the_file_refuses_writes_and_a_restart_starts_empty(lab: Lab) -> None:
    meaning = EXPERIMENTS["delete-db"].run(lab)
    added = results(lab, "POST /add_note 'call the dentist'")
    assert added and added[0].startswith("500") and "readonly database" in added[0]
    listings = results(lab, "GET /notes")
    assert listings == ['200 {"1":"buy oat milk"}', "200 {}"]
    assert lab.db.is_file() and "fresh, empty notes.db" in meaning


def test_a_column_added_without_migrating_breaks_writes_and_reads(lab: Lab) -> None:
    meaning = EXPERIMENTS["add-column"].run(lab)
    [added] = results(lab, "POST /add_note 'call the dentist'")
    [listed] = results(lab, "GET /notes")
    assert added.startswith("500") and "table notes has no column named pinned" in added
    assert listed.startswith("500") and "no such column: notes.pinned" in listed
    assert "create_all only creates tables" in meaning


def test_returning_the_session_leaks_connections_but_keeps_the_notes(lab: Lab) -> None:
    meaning = EXPERIMENTS["drop-yield"].run(lab)
    counted = results(lab, f"{LEAK_REQUESTS} requests; count connections to notes.db")
    reference, leaked = (int(result.split()[0]) for result in counted)
    assert reference <= MAX_OPEN < leaked
    assert results(lab, "GET /notes") == [f"{LEAK_REQUESTS} of the {LEAK_REQUESTS} notes added"]
    assert "Every note was stored" in meaning


@pytest.fixture
def lab8(course: Course, tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(course, tmp_path, 8)
    yield lab
    lab.close()


def test_skipping_the_migration_breaks_reads_and_the_upgrade_keeps_the_notes(lab8: Lab) -> None:
    meaning = EXPERIMENTS["skip-migration"].run(lab8)
    before, after = results(lab8, "GET /notes")
    assert before.startswith("500") and "no such column: notes.priority" in before
    assert after.startswith("200") and '"priority":0' in after and "buy oat milk" in after
    assert "nothing was lost" in meaning


def test_create_all_before_the_upgrade_stops_the_start(lab8: Lab) -> None:
    meaning = EXPERIMENTS["create-all-twice"].run(lab8)
    [failed] = results(lab8, "start the server on an empty folder")
    assert failed.startswith("it does not start") and "duplicate column name: priority" in failed
    assert results(lab8, "delete the half-made notes.db and start again")[0].startswith("it answers")
    assert results(lab8, "POST /notes 'buy oat milk'")[0].startswith("201")
    assert "revisions alone" in meaning


def test_an_edit_that_no_longer_matches_the_solution_is_a_grader_error(lab: Lab) -> None:
    with pytest.raises(RuntimeError, match="no longer matches"):
        lab.edit("main.py", r"def nothing_like_this\(\)", "", "edit")


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_each_experiment_is_a_demo_command(name: str) -> None:
    result = CliRunner().invoke(cli, ["demo", name], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "What it means." in result.output and "How to recover." in result.output
    assert "could not go on" not in result.output
