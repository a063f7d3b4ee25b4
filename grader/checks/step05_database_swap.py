"""Step 5: the same API, with the notes in a SQLite file that outlives the server process."""

from __future__ import annotations

from grader.checks.notes_api import add_note, list_notes, random_text
from grader.checks.restart import (
    DB_FILE,
    RestartRun,
    graceful_restart_check,
    restart_fixture,
    stored_texts,
    table_never_reuses_ids,
)
from grader.checks.sql_source import INSERT, inserts_without_placeholders, sql_calls
from grader.feedback import CheckFailure
from grader.plugin import Target, check
from grader.server import StudentServer
from grader.source import read_source

PLACEHOLDER_HINT = (
    "In insert_note: `conn.execute(\"INSERT INTO notes (text) VALUES (?)\", (text,))`. The "
    "SQL is a fixed string with a `?` where the value goes; the value travels apart, as a tuple."
)


restart = restart_fixture(hand_over=True)


@check(points=3, task=2)
def test_add_and_list(restart: RestartRun) -> None:
    """a fresh folder starts with no notes, and added notes are listed"""
    restart.expect_added_and_listed()


@check(points=4, task=4)
def test_notes_survive_a_crash(restart: RestartRun) -> None:
    """notes are still there after the server is killed (SIGKILL) and started again"""
    restart.expect_kept_after_crash()


test_notes_survive_a_graceful_restart = graceful_restart_check(points=3, task=4)


@check(points=2, task=4)
def test_ids_are_not_reused(restart: RestartRun) -> None:
    """after a restart, new notes get new ids, and the notes table is made with AUTOINCREMENT"""
    restart.phase("after_crash")
    assert restart.third is not None
    note_id, _ = restart.third
    used = sorted(restart.first_notes)
    if note_id in used or note_id < max(used):
        raise CheckFailure(
            f"Before the restart the notes had ids {used}; after it, a new note got id "
            f"{note_id}. An id must never be given to two notes.",
            "Let SQLite choose the ids (`id INTEGER PRIMARY KEY AUTOINCREMENT`, then "
            "`cursor.lastrowid`). A counter in a Python variable starts from 1 again whenever "
            "the server restarts.",
        )
    kept = table_never_reuses_ids(restart.folder / DB_FILE, list(restart.first_notes.values()))
    if kept is None:
        raise CheckFailure(
            "No table in notes.db holds the notes the API accepted, so there is no notes table "
            "whose ids could be looked at.",
            "Keep the notes in the notes table of notes.db, and commit after each INSERT.",
        )
    if not kept:
        raise CheckFailure(
            "The notes table in notes.db was made without AUTOINCREMENT. New ids look right "
            "today, but without it SQLite gives a new note the highest id in use plus one: "
            "delete the newest note, and its id goes to the next note, so a client that kept "
            "the old id would read someone else's note.",
            "Declare the column `id INTEGER PRIMARY KEY AUTOINCREMENT`, then delete notes.db: "
            "`CREATE TABLE IF NOT EXISTS` leaves a table that already exists as it is.",
        )


@check(points=2, task=1)
def test_notes_db_holds_the_notes(restart: RestartRun, target: Target) -> None:
    """db.py uses sqlite3, and notes.db in the working directory holds the notes"""
    if "sqlite3" not in read_source(target.folder / "db.py"):
        raise CheckFailure(
            "There is no db.py beside main.py that uses sqlite3.",
            "Put the database code in db.py (`import sqlite3`, connect, create the table, "
            "insert, select) and import it from main.py.",
        )
    notes = restart.phase("first")
    texts = stored_texts(restart.folder / DB_FILE)
    if texts is None:
        raise CheckFailure(
            "The server ran, but no notes.db file appeared in its working directory.",
            "Connect with the relative name: `sqlite3.connect(\"notes.db\")`; that file is "
            "made in the folder the server runs in.",
        )
    missing = [text for text in notes.values() if text not in texts]
    if missing:
        raise CheckFailure(
            f"notes.db does not hold the note {missing[0]!r}, although the API accepted it.",
            "Commit after each INSERT: `conn.commit()`, or `with conn:` around the write.",
        )


@check(points=2, task=3)
def test_quotes_are_safe(running_server: StudentServer, target: Target) -> None:
    """a note with quotes in it is stored unchanged, and SQL gets values through ? placeholders"""
    text = random_text(quote=True)
    note_id = add_note(running_server, text)
    listing = list_notes(running_server)
    if listing.get(str(note_id)) != text:
        raise CheckFailure(
            f"The note {text!r} came back as {listing.get(str(note_id))!r}.",
            "Store the text exactly as it came, through a `?` placeholder.",
        )
    calls = sql_calls(target.folder)
    built = [call for call in calls if call.built_at]
    if built:
        raise CheckFailure(
            f"{built[0].where} runs SQL built out of values ({built[0].built_at} puts a value "
            "into the string).",
            "Even when it works, a value pasted into SQL can change the query (SQL injection), "
            "and escaping quotes by hand is one forgotten case away from it. Write `?` where "
            "each value goes and pass the values as a tuple: "
            "`execute(\"... WHERE id = ?\", (note_id,))`.",
        )
    unsafe = inserts_without_placeholders(calls)
    if unsafe or not any(call.sql and INSERT.search(call.sql) for call in calls):
        found = f"{unsafe[0].where} runs {unsafe[0].sql!r}" if unsafe else "No execute() call runs an INSERT"
        raise CheckFailure(
            f"{found}: the note's text does not go in through a `?` placeholder with a tuple of "
            "values.",
            PLACEHOLDER_HINT,
        )
