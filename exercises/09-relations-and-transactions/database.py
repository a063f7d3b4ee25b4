"""Where the notes are kept: an engine for DATABASE_URL, and a factory of sessions."""

import os

from sqlalchemy import create_engine
from sqlalchemy.orm import DeclarativeBase, sessionmaker

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///notes.db")

connect_args = {"check_same_thread": False} if DATABASE_URL.startswith("sqlite") else {}
engine = create_engine(DATABASE_URL, connect_args=connect_args)
SessionLocal = sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)

# TODO 3: SQLite ignores foreign keys unless each connection asks for them. When the engine
#         is SQLite, register a listener that runs PRAGMA foreign_keys = ON on every new
#         connection: @event.listens_for(engine, "connect"), with `event` from sqlalchemy.


class Base(DeclarativeBase):
    pass
