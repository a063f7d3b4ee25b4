"""Throwaway databases and roles on a real PostgreSQL server, for the checks that run an app on one.

Each database made for a student's app comes with a role of its own: a random password, no
SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS, owner of that one database, which no
one else (PUBLIC) may connect to. The app gets a URL with that role, and the grader reads the
app's rows as that role too: never as the admin, whom a view or function the app made could
otherwise run as. Database and role are dropped together at the end.

A server that trusts local connections (`trust` in pg_hba.conf, as a development server often
does) checks no password at all: an app there could still log in as any role it names, the
admin included. The role is a boundary only on a server that asks for passwords, such as the
grader's own `PrivateCluster` below.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from grader.feedback import CheckFailure

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
NO_SERVER = "skipped: no PostgreSQL server"
NO_SERVER_HINT = (
    "This step needs a PostgreSQL server to try your app on; it never counts as passed "
    "without one. Start one (for example `docker run -e POSTGRES_PASSWORD=... -p "
    "5432:5432 postgres`), or point PERSISTLAB_POSTGRES_URL at one, and check again."
)
CONNECTION_LIMIT = 50  # 50 requests at once, each on a pooled connection, and the grader's own
ROLE_OPTIONS = (
    "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
    f"CONNECTION LIMIT {CONNECTION_LIMIT}"
)


def server_url() -> str:
    return os.environ.get("PERSISTLAB_POSTGRES_URL", DEFAULT_URL)


def with_database(url: str, name: str, driver: str = "") -> str:
    """`url` pointing at database `name`; with `driver`, as SQLAlchemy's postgresql+driver://."""
    parts = urlsplit(url)
    scheme = f"postgresql+{driver}" if driver else "postgresql"
    return urlunsplit((scheme, parts.netloc, f"/{name}", parts.query, ""))


def with_login(url: str, role: str, password: str) -> str:
    """`url` with its user and password replaced by `role` and `password` (host, port, query kept)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    login = f"{quote(role, safe='')}:{quote(password, safe='')}"
    return urlunsplit((parts.scheme, f"{login}@{host}", parts.path, parts.query, ""))


def connect(url: str) -> Any:
    """A psycopg connection in autocommit mode; a "skipped" failure when no server answers."""
    try:
        import psycopg
    except ImportError:
        raise CheckFailure(f"{NO_SERVER} (psycopg is not installed)", NO_SERVER_HINT) from None
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.Error:
        raise CheckFailure(NO_SERVER, NO_SERVER_HINT) from None


def reachable(url: str) -> bool:
    try:
        connect(url).close()
    except CheckFailure:
        return False
    return True


@dataclass(frozen=True)
class Throwaway:
    """One database and the role that owns it, both named `name`, and how the app reaches them."""

    name: str
    password: str
    url: str  # postgresql://name:password@host/name: what the grader reads the rows with

    def app_url(self, driver: str = "psycopg") -> str:
        """The URL handed to the app, as SQLAlchemy's postgresql+driver://."""
        return with_database(self.url, self.name, driver)


class ThrowawayDatabases:
    """Databases persistlab_<random>, each owned by a role of the same name; drop_all() drops all.

    Use it as a context manager (or call drop_all in a finally) so that a crash of the checks
    leaves nothing behind on the server.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or server_url()
        self.names: list[str] = []

    def __enter__(self) -> ThrowawayDatabases:  # noqa: PYI034  (never subclassed)
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop_all()

    def create(self) -> Throwaway:
        """A new empty database and its role: only that role may connect to it."""
        from psycopg import sql

        name = f"persistlab_{secrets.token_hex(6)}"
        password = secrets.token_hex(16)
        role = sql.Identifier(name)
        with connect(self.url) as conn:
            self.names.append(name)  # before anything exists: drop_all takes what was made
            conn.execute(sql.SQL(f"CREATE ROLE {{}} {ROLE_OPTIONS} PASSWORD {{}}").format(
                role, sql.Literal(password)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(role, role))
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(role))
        url = with_login(with_database(self.url, name), name, password)
        return Throwaway(name, password, url)

    def drop_all(self) -> None:
        """Drop every database made here (closing the app's connections), then its role."""
        if not self.names:
            return
        from psycopg import errors, sql

        with connect(self.url) as conn:
            for name in self.names:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                try:
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
                except errors.DependentObjectsStillReferenced:  # something in the admin's database
                    conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
        self.names.clear()


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one read-only query on the database at `url`; [] when it cannot run."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            return list(conn.execute(sql).fetchall())
    except psycopg.Error:
        return []


POSTGRES_HINTS = {
    "UndefinedFunction": (
        "SQLite treats true and false as the numbers 1 and 0, so `SUM(pinned)` works there; "
        "PostgreSQL has a real boolean type and no sum() for it. Count the rows instead, the same "
        "on both databases: `db.scalar(select(func.count()).select_from(Note).where(Note.pinned))`."
    ),
    "UndefinedColumn": (
        "The table in the database lacks a column the model has. On PostgreSQL as on SQLite, "
        "create_all() never changes a table that exists: migrations.upgrade() must add it, "
        "after reading the columns with `inspect(engine).get_columns(\"notes\")`."
    ),
    "SyntaxError": (
        "PostgreSQL did not understand a statement that SQLite accepts (PRAGMA, AUTOINCREMENT "
        "written by hand, `?` placeholders). Let SQLAlchemy write the SQL (select(), inspect()), "
        "and run SQLite's own statements only when `engine.dialect.name == \"sqlite\"`."
    ),
    "StringDataRightTruncation": (
        "PostgreSQL enforces the length of a String(500) column, which SQLite ignores. Check the "
        "length in the schema, `Field(max_length=500)`, so the API answers 422 first."
    ),
    "DatatypeMismatch": (
        "PostgreSQL checks types strictly where SQLite converts quietly (a 0 or 1 for a boolean, "
        "text for a number). Give each column the type the model declares."
    ),
}


def postgres_hint(output: str) -> str:
    """What to try for the first psycopg error class named in `output`; "" for none known."""
    for name, hint in POSTGRES_HINTS.items():
        if f"psycopg.errors.{name}" in output:
            return hint
    return ""
