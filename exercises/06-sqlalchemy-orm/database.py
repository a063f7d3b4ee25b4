"""Where the notes are kept: an engine for DATABASE_URL, and a factory of sessions."""

import os

from sqlalchemy import create_engine
from sqlalchemy.orm import DeclarativeBase, sessionmaker

# TODO 1: Read the address from the DATABASE_URL environment variable with os.environ.get(),
#         and fall back to "sqlite:///notes.db": a file notes.db in the folder the server runs in.
DATABASE_URL = ""

# TODO 1: engine = create_engine(DATABASE_URL, connect_args=...). SQLite needs
#         {"check_same_thread": False}, because FastAPI answers requests on several threads.
engine = None

# TODO 1: SessionLocal = sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)
SessionLocal = None


class Base(DeclarativeBase):
    """Every model inherits from Base; Base.metadata knows all their tables."""
