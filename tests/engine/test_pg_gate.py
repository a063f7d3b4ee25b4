"""The gate to PostgreSQL lets one role into one database, and nothing else, on the real server."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from grader.engine.limits import Limits
from grader.engine.pg_gate import PostgresGate
from grader.engine.process import StudentProcess

psycopg = pytest.importorskip("psycopg")
SERVER = "postgresql://postgres@127.0.0.1:5432/test"


def _admin() -> object:
    try:
        return psycopg.connect(SERVER, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(f"no PostgreSQL server at {SERVER}: {exc}")


@pytest.fixture
def role() -> Iterator[tuple[str, str]]:
    """A throwaway unprivileged role owning a throwaway database."""
    name = f"pl_gate_{secrets.token_hex(4)}"
    with _admin() as conn:
        conn.execute(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
    yield name, name
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{name}"')


@pytest.fixture
def gate(tmp_path: Path, role: tuple[str, str]) -> Iterator[PostgresGate]:
    opened = PostgresGate(tmp_path / "pg", SERVER, *role)
    yield opened
    opened.close()


def test_the_students_role_reaches_its_database_through_the_gate(gate: PostgresGate) -> None:
    url = gate.url(driver="")
    assert "127.0.0.1" not in url and f"host={gate.folder}" in url
    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, text text)")
        conn.execute("INSERT INTO notes (text) VALUES ('kept')")
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (
            gate.user, gate.database)
        assert conn.execute("SELECT text FROM notes").fetchall() == [("kept",)]


@pytest.mark.parametrize(("user", "database"), [
    ("postgres", None),  # the superuser, into the student's database
    (None, "test"),  # the student's role, into another database
    ("postgres", "postgres"),
])
def test_any_other_role_or_database_is_refused(
    gate: PostgresGate, user: str | None, database: str | None
) -> None:
    user, database = user or gate.user, database or gate.database
    with pytest.raises(psycopg.OperationalError, match="gate refused"):
        psycopg.connect(host=str(gate.folder), user=user, dbname=database, connect_timeout=3)
    assert gate.refused and f"asked: {user} to {database}" in gate.refused[-1]


def test_a_tls_request_is_answered_no_and_the_role_is_still_checked(gate: PostgresGate) -> None:
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host=str(gate.folder), user="postgres", dbname=gate.database,
                        sslmode="require", connect_timeout=3)
    with psycopg.connect(host=str(gate.folder), user=gate.user, dbname=gate.database,
                         sslmode="prefer", connect_timeout=3) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_closed_gate_leaves_no_thread_behind(tmp_path: Path) -> None:
    """A grader opens a gate for every server start of step 10: its accept() must end with it."""
    import threading
    import time

    before = threading.active_count()
    for n in range(5):
        PostgresGate(tmp_path / f"pg{n}", SERVER, "nobody", "nothing").close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == before


@pytest.mark.parametrize("how", ["link", "relative link"])
def test_a_gate_whose_folder_the_app_replaced_removes_no_socket_of_the_host(tmp_path: Path, how: str) -> None:
    """The gate's folder lies in the app's own: the app can rename it and leave a link in its
    place, to a folder holding the host's PostgreSQL socket; closing the gate removes its own."""
    import socket

    host = tmp_path / "run-postgresql"
    host.mkdir()
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(host / ".s.PGSQL.5432"))
        gate = PostgresGate(tmp_path / "app" / ".pg-gate", SERVER, "nobody", "nothing")
        gate.folder.rename(tmp_path / "app" / ".pg-moved")
        gate.folder.symlink_to(host if how == "link" else Path("..") / host.name)
        gate.close()
        assert (host / ".s.PGSQL.5432").exists()
        assert not (tmp_path / "app" / ".pg-moved" / ".s.PGSQL.5432").exists()


WAITS_ON_THE_DATABASE = '''
import os

import psycopg
from fastapi import FastAPI

app = FastAPI()


@app.get("/slow")
def slow():
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("SELECT pg_sleep(2.5)")
    return {"done": True}
'''


@pytest.mark.parametrize("seen", [True, False])
def test_an_app_waiting_on_its_database_gets_a_second_wait(
    tmp_path: Path, role: tuple[str, str], seen: bool
) -> None:
    """Asleep while the server works on its query: slow, not hung, where the gate can tell."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text(WAITS_ON_THE_DATABASE)
    gate = PostgresGate(app / ".pg", SERVER, *role)  # in the app's folder, as step 10 opens it
    child = StudentProcess(app, Limits(startup=20.0, request=1.0), tmp_path,
                           env={"DATABASE_URL": gate.url(driver="")},
                           waits_on=gate.busy if seen else None)
    try:
        assert child.wait_report("ready").ok, child.output()
        with child.client() as client:
            if seen:
                assert client.get("/slow").json() == {"done": True}
                assert not gate.busy()
            else:
                with pytest.raises(httpx.ReadTimeout):
                    client.get("/slow")
    finally:
        child.close()
        gate.close()
