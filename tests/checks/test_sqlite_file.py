"""A student's SQLite file is read within bounds, and only when it is a file of its own: code in
the file (generated columns) cannot take the grader's memory or time, and a link left where the
database was is never followed."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from grader.checks import sqlite_file
from grader.checks.restart import stored_texts
from grader.feedback import locked_database


def notes_db(path: Path, *extra: str) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        conn.execute("INSERT INTO notes (text) VALUES ('buy milk')")
        for statement in extra:
            conn.execute(statement)
    conn.close()
    return path


def test_an_honest_file_is_read(tmp_path: Path) -> None:
    assert stored_texts(notes_db(tmp_path / "notes.db")) == ["buy milk"]


@pytest.mark.parametrize("column", [
    "zeroblob(400000000 + id)",  # 400 MB in each row, read as the row is
    "length(replace(hex(zeroblob(100000 + id)), '0', 'ab'))",  # slow work in each row
])
def test_code_in_the_file_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, column: str) -> None:
    monkeypatch.setattr(sqlite_file, "CPU_SECONDS", 0.3)
    rows = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) " \
           "INSERT INTO junk (id) SELECT i FROM n"
    db = notes_db(tmp_path / "notes.db", "CREATE TABLE junk (id INTEGER PRIMARY KEY)", rows,
                  f"ALTER TABLE junk ADD COLUMN big AS ({column}) VIRTUAL")  # computed as it is read
    started = time.monotonic()
    assert stored_texts(db) == []  # a file SQLite cannot read within the bounds
    assert time.monotonic() - started < 3  # unbounded: 400 MB in each of 2000 rows, or 10 s


def test_over_the_bytes_of_a_read_it_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_file, "MAX_READ", 1 << 16)
    db = notes_db(tmp_path / "notes.db", "INSERT INTO notes (text) SELECT hex(zeroblob(40000)) FROM notes")
    assert sqlite_file.read_only(db, lambda conn: conn.execute("SELECT text FROM notes").fetchall()) is None
    monkeypatch.setattr(sqlite_file, "MAX_READ", 1 << 20)
    assert len(stored_texts(db) or []) == 2


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_a_link_to_a_file_of_the_host_is_never_opened(tmp_path: Path, relative: bool) -> None:
    """Where its database was, the app left a link to another SQLite file (the host's, out of
    the sandbox's sight), which another connection holds a write lock on: the grader reads none
    of its notes, and blames no lock on the app."""
    host = notes_db(tmp_path / "host.db")
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "notes.db").symlink_to("../host.db" if relative else host)
    with sqlite3.connect(host) as holder:
        holder.execute("BEGIN IMMEDIATE")
        assert stored_texts(folder / "notes.db") in (None, [])
        assert locked_database(folder) == ""
        holder.rollback()
    holder.close()
