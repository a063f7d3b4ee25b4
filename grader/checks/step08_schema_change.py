"""Step 8: a new column on a table that already holds rows, a filter and a count."""

from __future__ import annotations

from typing import Any

import httpx

from grader.checks import step06_sqlalchemy_orm as step6
from grader.checks import step07_crud_rest as step7
from grader.checks.notes_api import random_text
from grader.checks.notes_rest import SETUP_NOTES, expect_note, setup_note
from grader.checks.orm_app import ORM_COMMIT_HINT
from grader.checks.replay import replay
from grader.checks.restart import graceful_restart_check, restart_fixture
from grader.checks.upgrade import UpgradeRun, upgrade_fixture
from grader.feedback import CheckFailure
from grader.plugin import check
from grader.server import StudentServer

STEP7 = "07-crud-rest"
MIGRATION_HINT = (
    "create_all() never changes a table that exists: a migration does. Write the change as an "
    "Alembic revision, `op.add_column(\"notes\", sa.Column(\"priority\", sa.Integer(), "
    "nullable=False, server_default=\"0\"))`, and run `command.upgrade(Config(ALEMBIC_INI), "
    "\"head\")` in the lifespan. (Or, at startup, run `ALTER TABLE notes ADD COLUMN priority "
    "INTEGER NOT NULL DEFAULT 0` when `inspect(engine).get_columns(\"notes\")` has no priority.)"
)

upgrade = upgrade_fixture(STEP7, setup_note, MIGRATION_HINT)
restart = restart_fixture(ORM_COMMIT_HINT, api=SETUP_NOTES, hand_over=True)


@check(points=2, task=1)
def test_old_rows_survive_the_upgrade(upgrade: UpgradeRun) -> None:
    """on a notes.db made by step 7, every old note is still there, with priority 0"""
    listed = upgrade.phase("upgrade")
    upgrade.expect_old_notes(listed, ())
    for note_id in upgrade.old:
        now = listed[note_id]
        if "priority" not in now:
            raise CheckFailure(
                f"Every old note is still there, but GET /notes answers them without a priority: {now!r}.",
                "Add `priority: int = 0` to NoteBase, the column to the model, and the column to "
                "the table in notes.db. " + MIGRATION_HINT,
            )
        if now.get("priority") != 0:
            raise CheckFailure(
                f"Old note {note_id} came back with priority {now.get('priority')!r}; a note "
                "written before the column existed should have priority 0.",
                "Give the column a default in the database: `... ADD COLUMN priority INTEGER NOT "
                "NULL DEFAULT 0`, and `priority: int = 0` on NoteBase so it is answered.",
            )
    upgrade.expect_old_notes(listed, ("text", "pinned", "created_at"))


@check(points=1, task=1)
def test_upgrade_keeps_ids_unique(upgrade: UpgradeRun) -> None:
    """after the upgrade, a new note gets an id that no note, not even a deleted one, ever had"""
    upgrade.expect_new_ids()


@check(points=2, task=1)
def test_upgraded_database_restarts(upgrade: UpgradeRun) -> None:
    """the upgraded notes.db starts again, and a new note keeps its priority across a SIGKILL"""
    listed = upgrade.phase("restart")
    assert upgrade.added is not None
    now = listed.get(upgrade.added["id"])
    if now is None or now.get("priority") != 7:
        raise CheckFailure(
            f"A note added with priority 7 is {'missing' if now is None else repr(now)} after the "
            "server was killed and started again.",
            "Store priority in its column and commit, like every other field.",
        )


test_notes_survive_a_graceful_restart = graceful_restart_check(points=1, task=1)

# Steps 6 and 7 replayed, each on the server the check before left running; the one that
# restarts the server on a DATABASE_URL of its own runs last.
test_create_answers_201 = replay(step7.test_create_answers_201, points=1, task=5, step=7)
test_list_and_read_one = replay(step7.test_list_and_read_one, points=1, task=5, step=7)
test_update = replay(step7.test_update, points=1, task=5, step=7)
test_delete = replay(step7.test_delete, points=1, task=5, step=7)
test_bad_input_is_refused = replay(step7.test_bad_input_is_refused, points=1, task=5, step=7)
test_sessions_are_closed = replay(step6.test_sessions_are_closed, points=1, task=5, step=6)


@check(points=2, task=2)
def test_priority_field(server: StudentServer) -> None:
    """POST and PUT take a priority (a whole number, 0 by default) and answer it"""
    # notes made here may be answered 200 or 201: the status is step 7's create check's verdict
    plain = setup_note(server, random_text())
    if plain.get("priority") != 0:
        raise CheckFailure(
            f"A note sent without a priority was answered as {plain!r}: it needs \"priority\": 0.",
            "Add `priority: int = 0` to NoteBase, and `priority: Mapped[int] = "
            "mapped_column(default=0, server_default=\"0\")` to the model.",
        )
    high = setup_note(server, random_text(), priority=3)
    if high.get("priority") != 3:
        raise CheckFailure(
            f"A note sent with priority 3 came back with {high.get('priority')!r}.",
            "Pass every field of the body to the row: `Note(**body.model_dump())`.",
        )
    path = f"/notes/{high['id']}"
    updated = expect_note(server, server.request("PUT", path, json={"text": high["text"], "priority": 5}), (200,))
    if updated.get("priority") != 5:
        raise CheckFailure(f"PUT {path} with priority 5 answered {updated!r}.", "Set every field, then commit.")
    response = server.request("POST", "/notes", json={"text": random_text(), "priority": "high"})
    if response.status_code != 422:
        raise CheckFailure(
            f"POST /notes with \"priority\": \"high\" answered {response.status_code}; it should be 422.",
            "Type the field on the schema, `priority: int = 0`, and Pydantic refuses the rest.",
        )


@check(points=2, task=3)
def test_filter_by_pinned(server: StudentServer) -> None:
    """GET /notes?pinned=true lists only pinned notes, ?pinned=false only the others"""
    made = [setup_note(server, random_text(), pinned=flag) for flag in (True, False, True)]
    for flag in (True, False):
        query = "true" if flag else "false"
        listed = _listing(server, f"/notes?pinned={query}")
        expected = sorted(n["id"] for n in made if n["pinned"] is flag)
        got = sorted(_id(n) for n in listed)
        if got != expected:
            raise CheckFailure(
                f"GET /notes?pinned={query} answered the notes {got}; it should be {expected}.",
                "Take `pinned: bool | None = None` as a parameter of list_notes (a query "
                "parameter, since it is not in the path), and when it is not None, add "
                "`.where(Note.pinned == pinned)` to the query.",
            )
    everything = sorted(_id(n) for n in _listing(server, "/notes"))
    if everything != sorted(n["id"] for n in made):
        raise CheckFailure(
            f"GET /notes with no filter answered {everything}; it should list every note.",
            "Filter only when pinned is given: the default None means no filter.",
        )


@check(points=2, task=4)
def test_count(server: StudentServer) -> None:
    """GET /notes/count answers {"total", "pinned", "unpinned"}"""
    empty = _answer(server.request("GET", "/notes/count"))  # no count at all is judged below
    zeros = {"total": 0, "pinned": 0, "unpinned": 0}
    if isinstance(empty, dict) and {key: empty.get(key) for key in zeros} != zeros:
        raise CheckFailure(
            f"With no notes at all, GET /notes/count answered {empty!r}; it should be {zeros!r}.",
            "Count in the database, and when a count comes back as None use 0: `or 0`.",
        )
    flags = (True, False, False, True, False)
    for flag in flags:
        setup_note(server, random_text(), pinned=flag)
    response = server.request("GET", "/notes/count")
    if response.status_code == 422 and "note_id" in response.text:
        raise CheckFailure(
            "GET /notes/count answered 422: FastAPI matched it to GET /notes/{note_id} and "
            "could not read \"count\" as a note id.",
            "Routes are tried in the order they are declared. Put `@app.get(\"/notes/count\")` "
            "above `@app.get(\"/notes/{note_id}\")`.",
        )
    body = server.expect(response, (200,))
    expected = {"total": 5, "pinned": 2, "unpinned": 3}
    if not isinstance(body, dict) or {key: body.get(key) for key in expected} != expected:
        raise CheckFailure(
            f"With 2 pinned notes and 3 others, GET /notes/count answered {body!r}; it should "
            f"be {expected!r}.",
            "Count in the database: `db.scalar(select(func.count()).select_from(Note))`, and "
            "the same with `.where(Note.pinned)`; unpinned is the difference.",
        )


def _answer(response: httpx.Response) -> Any:
    try:
        return response.json() if response.status_code == 200 else None
    except ValueError:
        return None


def _listing(server: StudentServer, path: str) -> list[dict[str, Any]]:
    body = server.expect(server.request("GET", path), (200,))
    if not isinstance(body, list):
        raise CheckFailure(f"GET {path} answered {body!r}; it should be a list of notes.")
    return [n for n in body if isinstance(n, dict)]


def _id(note: dict[str, Any]) -> int:
    """A listed note's id as a number (a string of digits too), or 0 for any other answer."""
    try:
        return int(note.get("id") or 0)
    except (TypeError, ValueError, OverflowError):  # a list, "abc", or a float that is no number
        return 0


test_changes_survive_a_restart = replay(step7.test_changes_survive_a_restart, points=1, task=5, step=7)
