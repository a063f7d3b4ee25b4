"""A student's SQLite file, read read-only: never created, never changed, whatever it holds.

A file may hold code that runs as it is read (a generated column: `zeroblob(400000000)` in each
row, or a slow expression), so a read is bounded: each value at MAX_VALUE bytes, all values
together at MAX_READ, SQLite's work at CPU_SECONDS of this thread's time (not the wall clock, so
a busy machine never cuts an honest read short). A read over a bound is one SQLite cannot do.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from grader.student_files import plain_file

T = TypeVar("T")
MAX_VALUE = 1 << 20  # a note's text is a line, not a mebibyte
MAX_READ = 32 << 20
CPU_SECONDS = 5.0


def read_only(db: Path, work: Callable[[sqlite3.Connection], T]) -> T | None:
    """`work` on `db` opened read-only; None if there is no such file (or it is not one of its own:
    grader.student_files) or SQLite cannot read it."""
    if not plain_file(db):
        return None
    try:
        conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        _bound(conn)
        return work(conn)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _bound(conn: sqlite3.Connection) -> None:
    if hasattr(conn, "setlimit"):  # Python 3.11 on; before it, MAX_READ stops the read instead
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE)
    started = time.thread_time()
    conn.set_progress_handler(lambda: int(time.thread_time() - started > CPU_SECONDS), 100)
    read = 0

    def counted(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> tuple[Any, ...]:
        nonlocal read
        read += sum(len(value) for value in row if isinstance(value, (str, bytes)))
        if read > MAX_READ:
            raise sqlite3.DataError(f"more than {MAX_READ >> 20} MiB read")
        return row

    conn.row_factory = counted


def quoted(name: str) -> str:
    """A table or column name as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
