"""Where the notes are kept: an engine for DATABASE_URL, and a factory of sessions."""

import os
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.orm import DeclarativeBase, sessionmaker

# TODO 2: Take the address from config.settings.database_url instead, so that every setting
#         is read in one place (config.py), and delete this line and `import os`.
DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///notes.db")

connect_args = {"check_same_thread": False} if DATABASE_URL.startswith("sqlite") else {}
engine = create_engine(DATABASE_URL, connect_args=connect_args)
SessionLocal = sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)

if engine.dialect.name == "sqlite":

    @event.listens_for(engine, "connect")
    def enforce_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys = ON")


class Base(DeclarativeBase):
    pass
