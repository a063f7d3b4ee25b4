"""Step 5: the same API, with the notes in a SQLite file that outlives the server process."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.checks.notes_api import add_note, expect_listing, list_notes, random_text
from grader.checks.restart import DB_FILE, RestartRun, stored_texts
from grader.feedback import CheckFailure
from grader.plugin import Target, check
from grader.runner import Scratch
from grader.server import StudentServer


@pytest.fixture(scope="module")
def restart(spawn: Callable[[Path], StudentServer], scratch: Scratch) -> RestartRun:
    return RestartRun(spawn, scratch.folder)


@check(points=3, task=2)
def test_add_and_list(restart: RestartRun) -> None:
    """a fresh folder starts with no notes, and added notes are listed"""
    restart.phase("first")


@check(points=4, task=4)
def test_notes_survive_a_crash(restart: RestartRun) -> None:
    """notes are still there after the server is killed (SIGKILL) and started again"""
    listing = restart.phase("after_crash")
    notes = restart.first_notes
    if all(listing.get(str(i)) != text for i, text in notes.items()):
        raise restart.lost(listing, notes, "killed")
    expect_listing(listing, notes, "After the server was killed and started again")


@check(points=3, task=4)
def test_notes_survive_a_graceful_restart(restart: RestartRun) -> None:
    """a note is still there after the server is stopped (SIGTERM) and started again"""
    listing = restart.phase("after_graceful")
    assert restart.third is not None
    note_id, text = restart.third
    if listing.get(str(note_id)) != text:
        raise restart.lost(listing, {note_id: text}, "stopped normally")


@check(points=2, task=4)
def test_ids_are_not_reused(restart: RestartRun) -> None:
    """after a restart, new notes get new ids"""
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


@check(points=2, task=1)
def test_notes_db_holds_the_notes(restart: RestartRun, target: Target) -> None:
    """db.py uses sqlite3, and notes.db in the working directory holds the notes"""
    db_py = target.folder / "db.py"
    if not db_py.is_file() or "sqlite3" not in db_py.read_text(encoding="utf-8", errors="replace"):
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
def test_quotes_are_safe(server: StudentServer, target: Target) -> None:
    """a note with quotes in it is stored unchanged, and SQL gets values through ? placeholders"""
    text = random_text(quote=True)
    note_id = add_note(server, text)
    listing = list_notes(server)
    if listing.get(str(note_id)) != text:
        raise CheckFailure(
            f"The note {text!r} came back as {listing.get(str(note_id))!r}.",
            "Store the text exactly as it came, through a `?` placeholder.",
        )
    built = sql_built_from_values(target.folder)
    if built:
        raise CheckFailure(
            f"{built[0]} builds an SQL string out of values before running it.",
            "Even when it works, a value pasted into SQL can change the query (SQL injection). "
            "Write `?` where each value goes and pass the values as a tuple: "
            "`execute(\"... WHERE id = ?\", (note_id,))`.",
        )


def sql_built_from_values(folder: Path) -> list[str]:
    """Places where execute() is given an f-string, a .format() or a string built with + or %."""
    found = []
    for path in sorted(folder.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("execute", "executemany")
                and node.args
                and _is_built(node.args[0])
            ):
                found.append(f"{path.name} line {node.lineno}")
    return found


def _is_built(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return not (_is_constant(node.left) and _is_constant(node.right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "format"
    return False


def _is_constant(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.BinOp) and _is_constant(node.left) and _is_constant(node.right)
