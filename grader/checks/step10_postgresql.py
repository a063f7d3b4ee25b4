"""Step 10: the step-9 checks again, with the app on a throwaway database on a PostgreSQL server.

The app is started as a real `python -m uvicorn main:app` with DATABASE_URL in its environment;
each fresh folder gets a database of its own, and every database is dropped at the end.
No reachable server: each check fails with "skipped: no PostgreSQL server".
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grader.checks.notes_api import random_text
from grader.checks.postgres import ThrowawayDatabases, query, with_database
from grader.checks.real_server import RealServer
from grader.checks.restart import DB_FILE
from grader.checks.step09_relations_and_transactions import (
    create_user,
    restart,
    test_deleting_a_user_with_notes,
    test_failed_import_after_a_restart,
    test_import_is_all_or_nothing,
    test_no_orphan_notes,
    test_notes_have_an_owner,
    test_notes_survive_a_graceful_restart,
    test_users,
)
from grader.engine.limits import Limits
from grader.engine.scratch import Scratch
from grader.feedback import CheckFailure
from grader.plugin import Target, check
from grader.server import StudentServer

ON_POSTGRES = (
    test_users, test_notes_have_an_owner, test_no_orphan_notes, test_deleting_a_user_with_notes,
    test_import_is_all_or_nothing, test_failed_import_after_a_restart,
    test_notes_survive_a_graceful_restart,
)


@pytest.fixture(scope="module")
def databases() -> Iterator[ThrowawayDatabases]:
    created = ThrowawayDatabases()
    yield created
    created.drop_all()


@pytest.fixture(scope="module")
def spawn(
    target: Target, scratch: Scratch, limits: Limits, workdir: Path, databases: ThrowawayDatabases
) -> Iterator[Callable[..., StudentServer]]:
    """Start the app for real on a folder (default: a fresh copy); a new folder gets a new database."""
    urls: dict[Path, str] = {}
    copies = itertools.count()
    servers: list[RealServer] = []

    def start(folder: Path | None = None) -> StudentServer:
        if folder is None:
            folder = scratch.fresh(target.folder, f"pg{next(copies)}")
        if folder not in urls:
            urls[folder] = databases.create()
        name = urls[folder].rsplit("/", 1)[1]
        env = {"DATABASE_URL": with_database(databases.url, name, driver="psycopg")}
        server = RealServer(folder, limits, workdir, env)
        server.database_url = urls[folder]  # type: ignore[attr-defined]
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.crash()


@pytest.fixture(scope="module")
def server(spawn: Callable[..., StudentServer]) -> StudentServer:
    """One server for the checks that make their own users: a real start costs seconds."""
    return spawn()


@check(points=2, task=1)
def test_tables_are_on_postgres(server: StudentServer) -> None:
    """with DATABASE_URL set, the tables and rows are on PostgreSQL, and no notes.db is made"""
    name = random_text()
    create_user(server, name)
    database_url = getattr(server, "database_url", "")
    rows = query(database_url, "SELECT name FROM users")
    if (server.folder / DB_FILE).exists() or name not in [row[0] for row in rows]:
        raise CheckFailure(
            "DATABASE_URL named a PostgreSQL database, but the app wrote its users to a notes.db "
            "file instead: it does not read DATABASE_URL.",
            "In database.py: `DATABASE_URL = os.environ.get(\"DATABASE_URL\", \"sqlite:///notes.db\")`, "
            "and `create_engine(DATABASE_URL, ...)`.",
        )


__all__ = [check.__name__ for check in ON_POSTGRES] + ["restart", "test_tables_are_on_postgres"]
