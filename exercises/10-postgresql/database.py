"""Where the notes are kept: an engine for DATABASE_URL, and a factory of sessions."""

import os
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.orm import DeclarativeBase, sessionmaker

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///notes.db")

# TODO 1: check_same_thread is an option of Python's sqlite3 module only; psycopg refuses it.
#         Pass these connect_args only when DATABASE_URL starts with "sqlite", else {}.
engine = create_engine(DATABASE_URL, connect_args={"check_same_thread": False})
SessionLocal = sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)


# TODO 2: PRAGMA is SQLite's own statement, a syntax error on PostgreSQL (which always enforces
#         foreign keys). Register this listener only `if engine.dialect.name == "sqlite":`.
@event.listens_for(engine, "connect")
def enforce_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.execute("PRAGMA foreign_keys = ON")


class Base(DeclarativeBase):
    pass
