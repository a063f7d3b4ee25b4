"""PostgreSQL-only checks. The store and web tests also run on PostgreSQL (the database_url
fixture); these cover what only a server database has: a real server process on it, and
several processes sharing it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from grader.quiz.answers import Started, start_attempt_in
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


def test_racing_starts_on_two_servers_make_one_open_attempt(postgres_url: str) -> None:
    """Two servers start the same student's quiz at once. The second's read of open attempts
    comes before the first commits, so only the one-open-attempt index can stop a second open
    attempt: its insert waits for the first's commit, then fails, and it resumes that one."""
    first_store, second_store = QuizStore(postgres_url), QuizStore(postgres_url)
    try:
        ada = first_store.add_student("Ada")
        start = {"student_id": ada, "name": "Ada", "topic": "persistence", "level": None}
        questions = [("dict-restart", "abcd", None)]
        first_read = threading.Event()
        results: list[Started] = []
        errors: list[BaseException] = []

        def first() -> None:
            try:
                with first_store.write_transaction() as conn:
                    results.append(start_attempt_in(conn, questions=questions, **start))
                    first_read.set()
                    time.sleep(1.0)  # the second reads, finds nothing open, and inserts
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                first_read.set()

        thread = threading.Thread(target=first)
        thread.start()
        assert first_read.wait(10)
        with second_store.write_transaction() as conn:
            results.append(start_attempt_in(conn, questions=questions, **start))
        thread.join(10)
        assert not errors, errors
        assert [(r.attempt_id, r.resumed) for r in results] == [(1, False), (1, True)]
        assert [(a.id, a.open_quiz) for a in first_store.all_attempts()] == [(1, "persistence|")]
    finally:
        first_store.close()
        second_store.close()


def _post_start(
    url: str,
    cookies: dict[str, str],
    form: dict[str, str],
    barrier: threading.Barrier,
    places: list[str],
) -> None:
    """One start of the quiz, sent when every thread is ready; its status and target."""
    with httpx.Client(base_url=url, cookies=cookies, timeout=20) as client:
        barrier.wait(10)
        response = client.post("/attempts", data=form)
        places.append(f"{response.status_code} {response.headers.get('location')}")


def test_concurrent_starts_from_one_browser_on_two_servers(
    postgres_url: str, server_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**server_env, "PERSISTLAB_DATABASE_URL": postgres_url}
    servers = [ServerProcess(env, tmp_path / f"pg-{n}.log").start() for n in range(2)]
    try:
        with httpx.Client(base_url=servers[0].url, timeout=20) as http:
            student = QuizClient(http)
            student.take("fastapi-basics", [True, True, True])  # the browser knows its student
            form = {"csrf_token": student.csrf(), "name": "Ada", "quiz": "persistence"}
            cookies = dict(http.cookies)
        for round_ in range(5):
            barrier = threading.Barrier(8)
            places: list[str] = []
            threads = [
                threading.Thread(
                    target=_post_start,
                    args=(servers[n % 2].url, cookies, form, barrier, places),
                )
                for n in range(8)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            opened = {p for p in places if p.endswith("/questions/1")}
            assert len(places) == 8 and all(p.startswith("303 /attempts/") for p in places), places
            assert len(opened) == 1, places  # one new attempt, the others resume it
            attempt_id = int(opened.pop().split("/")[2])
            store = QuizStore(postgres_url)
            try:
                open_now = [a.id for a in store.all_attempts() if not a.finished]
                store.close_attempt(attempt_id, time.time())  # the next round starts anew
            finally:
                store.close()
            assert open_now == [attempt_id], (round_, places)
    finally:
        for server in servers:
            server.stop()
