"""Throwaway databases on a real PostgreSQL server, for the checks that run an app against one."""

from __future__ import annotations

import os
import secrets
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from grader.feedback import CheckFailure
from grader.results import SKIPPED

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
NO_SERVER = "skipped: no PostgreSQL server"
NO_SERVER_HINT = (
    "This step needs a PostgreSQL server to try your app on; it never counts as passed "
    "without one. Start one (for example `docker run -e POSTGRES_HOST_AUTH_METHOD=trust -p "
    "5432:5432 postgres`), or point PERSISTLAB_POSTGRES_URL at one, and check again."
)


def server_url() -> str:
    return os.environ.get("PERSISTLAB_POSTGRES_URL", DEFAULT_URL)


def with_database(url: str, name: str, driver: str = "") -> str:
    """`url` pointing at database `name`; with `driver`, as SQLAlchemy's postgresql+driver://."""
    parts = urlsplit(url)
    scheme = f"postgresql+{driver}" if driver else "postgresql"
    return urlunsplit((scheme, parts.netloc, f"/{name}", parts.query, ""))


def connect(url: str) -> Any:
    """A psycopg connection in autocommit mode; a "skipped" failure when no server answers."""
    try:
        import psycopg
    except ImportError:
        raise CheckFailure(f"{NO_SERVER} (psycopg is not installed)", NO_SERVER_HINT, SKIPPED) from None
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.Error:
        raise CheckFailure(NO_SERVER, NO_SERVER_HINT, SKIPPED) from None


class ThrowawayDatabases:
    """Databases named persistlab_<random>, each dropped by drop_all()."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or server_url()
        self.names: list[str] = []

    def create(self) -> str:
        """A new empty database; its plain postgresql:// URL."""
        name = f"persistlab_{secrets.token_hex(6)}"
        with connect(self.url) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return with_database(self.url, name)

    def drop_all(self) -> None:
        if not self.names:
            return
        with connect(self.url) as conn:
            for name in self.names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.names.clear()


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one read-only query on the database at `url`; [] when it cannot run."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            return list(conn.execute(sql).fetchall())
    except psycopg.Error:
        return []
