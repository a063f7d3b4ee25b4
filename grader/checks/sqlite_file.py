"""A student's SQLite file, read read-only: never created, never changed, whatever it holds."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def read_only(db: Path, work: Callable[[sqlite3.Connection], T]) -> T | None:
    """`work` on `db` opened read-only; None if there is no such file or SQLite cannot read it."""
    if not db.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return work(conn)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def quoted(name: str) -> str:
    """A table or column name as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
