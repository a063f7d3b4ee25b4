"""The notes table in notes.db, a SQLite file in the folder the server runs in.

main.py calls these four functions and never touches SQL itself.
"""

import sqlite3

# TODO 1: A relative file name, so the file is made in the folder the server runs in.
DB_PATH = "notes.db"


def connect() -> sqlite3.Connection:
    """Open a connection to the database file at DB_PATH."""
    # TODO 1: sqlite3.connect() creates the file the first time it is opened.
    raise NotImplementedError("db.connect() is not written yet")


def create_table() -> None:
    """Create the notes table if it is not there yet; leave an existing one alone.

    Columns: id INTEGER PRIMARY KEY AUTOINCREMENT, and text TEXT NOT NULL.
    """
    # TODO 1: CREATE TABLE IF NOT EXISTS, so that running it at every start is safe.
    raise NotImplementedError("db.create_table() is not written yet")


def insert_note(text: str) -> int:
    """Store one note and return the id SQLite gave it."""
    # TODO 2: INSERT the text, then return cursor.lastrowid: SQLite picks the id.
    # TODO 3: Pass the text as a value, through a ? placeholder; never paste it into the SQL.
    # TODO 4: Commit before returning; an uncommitted INSERT is lost when the process dies.
    raise NotImplementedError("db.insert_note() is not written yet")


def all_notes() -> dict[int, str]:
    """Every note, as a dict of id -> text, in id order."""
    # TODO 2: SELECT id, text FROM notes, and turn the rows into a dict.
    raise NotImplementedError("db.all_notes() is not written yet")
