"""The notes table in notes.db, a SQLite file in the folder the server runs in."""

import sqlite3
from contextlib import closing

DB_PATH = "notes.db"


def connect() -> sqlite3.Connection:
    return sqlite3.connect(DB_PATH)


def create_table() -> None:
    with closing(connect()) as conn, conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS notes ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " text TEXT NOT NULL)"
        )


def insert_note(text: str) -> int:
    with closing(connect()) as conn, conn:
        cursor = conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))
        return cursor.lastrowid


def all_notes() -> dict[int, str]:
    with closing(connect()) as conn:
        return dict(conn.execute("SELECT id, text FROM notes ORDER BY id"))
