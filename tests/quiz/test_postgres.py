"""PostgreSQL-only checks. The store and web tests also run on PostgreSQL (the database_url
fixture); these cover what only a server database has: a real server process on it, and
several processes sharing it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from grader.quiz.store import Base, QuizStore
from tests.quiz.conftest import POSTGRES_ADMIN, QuizClient, ServerProcess


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """The throwaway database as a bare postgresql:// URL (as a user would type it), emptied
    after the test."""
    yield postgres_server
    store = QuizStore(postgres_server)
    Base.metadata.drop_all(store.engine)
    store.close()


def test_the_postgres_server_answers() -> None:
    try:
        with psycopg.connect(POSTGRES_ADMIN, connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN}: {exc}\n"
            "CI runs one; start it or set PERSISTLAB_TEST_POSTGRES to a reachable server.",
            pytrace=False,
        )
    assert version is not None and int(version[0].split(".")[0]) >= 12


def test_workers_starting_together_on_an_empty_database(postgres_url: str) -> None:
    """Like `uvicorn --workers 6` on a fresh database: all create tables, all share one secret."""
    secrets: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_store() -> None:
        try:
            barrier.wait(timeout=10)
            store = QuizStore(postgres_url)
            secrets.append(store.secret_key())
            store.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert len(secrets) == 6 and len(set(secrets)) == 1


def test_serve_on_postgres_survives_kill_9(
    postgres_url: str, server_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**server_env, "PERSISTLAB_DATABASE_URL": postgres_url}
    server = ServerProcess(env, tmp_path / "pg-server.log").start()
    try:
        assert "Quiz answers are stored in postgresql+psycopg://" in server.output()
        with httpx.Client(base_url=server.url, timeout=10) as http:
            student = QuizClient(http)
            first = student.start("fastapi-basics")
            assert student.answer(first, right=False).status_code == 303
            server.kill()
            server.start()
            assert http.get("/attempts/1").headers["location"] == "/attempts/1/questions/2"
            assert "Not quite." in http.get(first).text
    finally:
        server.stop()
    store = QuizStore(postgres_url)
    attempt = store.attempt(1)
    store.close()
    assert attempt is not None and attempt.answers[0].correct is False
