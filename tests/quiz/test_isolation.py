"""No student can hurt another's answers: ids out of range never reach the database, and a
write that fails inside a group commit fails alone. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection

from grader.quiz.grading import LABELS
from grader.quiz.store import QuizStore
from grader.quiz.web import Settings, create_app
from grader.quiz.web.writer import GroupWriter
from tests.quiz.conftest import QuizClient, ServerProcess

HONEST_CLIENTS = 16
BAD_REQUESTS_AT_LEAST = 64
TOO_BIG = ["0", "-1", str(2**31), str(2**63), "9" * 18, "1" + "0" * 30]


def _bad_paths(own: int) -> list[str]:
    """Answer paths out of range, each way round, and one of a question the attempt lacks."""
    paths = [f"/attempts/{big}/questions/1" for big in TOO_BIG]
    paths += [f"/attempts/{own}/questions/{big}" for big in TOO_BIG]
    return [*paths, f"/attempts/{own}/questions/99", "/attempts/1/questions/99"]


@pytest.mark.parametrize("big", TOO_BIG)
@pytest.mark.parametrize("where", ["attempt", "position"])
def test_ids_out_of_range_are_404_on_every_route(
    student: QuizClient, store: QuizStore, big: str, where: str
) -> None:
    own = student.start()
    attempt, position = (big, "1") if where == "attempt" else ("1", big)
    path = f"/attempts/{attempt}/questions/{position}"
    posted = student.http.post(path, data={"csrf_token": student.csrf(), "choice": "A"})
    assert posted.status_code == 404 and "There is no" in posted.text
    assert posted.headers["content-type"].startswith("text/html")
    assert student.http.get(path).status_code == 404
    if where == "attempt":
        for route in ("", "/results", "/review"):
            page = student.http.get(f"/attempts/{big}{route}")
            assert page.status_code == 404 and "There is no attempt" in page.text
    assert student.answer(own).status_code == 303  # the student's own attempt still works


def _gated(writer: GroupWriter, jobs: list) -> list[object]:  # type: ignore[type-arg]
    """Run `jobs` (writer coroutines, made inside) as one batch: a first write holds the
    writer thread until every job is queued behind it."""

    async def run() -> list[object]:
        gate = threading.Event()
        first = asyncio.ensure_future(writer.write(lambda _conn: gate.wait(10)))
        await asyncio.sleep(0)
        queued = [asyncio.ensure_future(job()) for job in jobs]
        await asyncio.sleep(0.05)  # every job is in the queue; the batch forms once gate opens
        gate.set()
        await first
        return await asyncio.gather(*queued, return_exceptions=True)

    try:
        return asyncio.run(run())
    finally:
        writer.close()


def test_a_write_that_breaks_the_transaction_fails_alone(store: QuizStore) -> None:
    """An integer the column cannot hold breaks the shared transaction on PostgreSQL; a table
    that does not exist breaks it anywhere. Only that write fails; the batch is committed."""
    student = store.add_student("Ada")
    attempts = [
        store.start_attempt(student_id=student, questions=[("q", "abcd")]) for _ in range(20)
    ]

    def decide(_slot: object) -> tuple[str, bool]:
        return "b", False

    def broken(conn: Connection) -> None:
        conn.exec_driver_sql("UPDATE no_such_table SET x = 1")

    writer = GroupWriter(store)
    jobs = [lambda a=a: writer.answer(a, 1, decide) for a in attempts[:10]]
    jobs.append(lambda: writer.write(broken))
    jobs += [lambda a=a: writer.answer(a, 1, decide) for a in attempts[10:]]
    results = _gated(writer, jobs)
    assert results[:10] + results[11:] == [True] * 20
    assert isinstance(results[10], Exception) and not isinstance(results[10], HTTPException)
    for attempt_id in attempts:
        attempt = store.attempt(attempt_id)
        assert attempt is not None and attempt.answers[0].chosen == "b" and attempt.finished


@pytest.fixture
def served(
    database_url: str, server_env: dict[str, str], tmp_path: Path
) -> Iterator[ServerProcess]:
    env = {**server_env, "PERSISTLAB_DATABASE_URL": database_url}
    process = ServerProcess(env, tmp_path / "isolation.log")
    yield process.start()
    process.stop()


def _attack(
    server: ServerProcess, honest_done: threading.Event, sent: list[int], over: threading.Event
) -> None:
    """Out-of-range ids, unknown questions and malformed forms, with this client's own CSRF
    token, until the honest clients are done; each must be refused with the app's page."""
    try:
        _send_bad_requests(server, honest_done, sent)
    finally:
        over.set()


def _send_bad_requests(
    server: ServerProcess, honest_done: threading.Event, sent: list[int]
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        attacker = QuizClient(http)
        own = int(re.findall(r"\d+", attacker.start("persistence", name="Mallory"))[0])
        token = attacker.csrf()
        requests: list[tuple[str, str, object]] = [
            ("POST", path, {"csrf_token": token, "choice": "A"}) for path in _bad_paths(own)
        ]
        requests += [("GET", path, None) for path in _bad_paths(own)]
        requests += [
            ("GET", f"/attempts/{big}{route}", None)
            for big in TOO_BIG for route in ("", "/results", "/review")
        ]  # fmt: skip
        requests += [
            ("POST", f"/attempts/{own}/questions/1", {"csrf_token": token, "choice": "Z"}),
            ("POST", f"/attempts/{own}/questions/1", b"choice=%FF&csrf_token=" + token.encode()),
            ("POST", f"/attempts/{own}/questions/1", {"choice": "A"}),
            ("POST", "/attempts", {"csrf_token": token, "name": "M" * 99, "quiz": "persistence"}),
            ("POST", "/attempts", {"csrf_token": token, "name": "M", "level": "x" * 999}),
        ]
        while not honest_done.is_set() or sent[0] < BAD_REQUESTS_AT_LEAST:
            method, path, body = requests[sent[0] % len(requests)]
            if isinstance(body, bytes):
                kind = {"content-type": "application/x-www-form-urlencoded"}
                response = http.post(path, content=body, headers=kind)
            else:
                response = http.request(method, path, data=body)  # type: ignore[arg-type]
            assert response.status_code in (400, 403, 404, 409), (method, path, response.text)
            assert response.headers["content-type"].startswith("text/html"), response.text
            sent[0] += 1


def _honest(
    server: ServerProcess,
    index: int,
    attacked: list[int],
    attack_over: threading.Event,
    acknowledged: list[tuple[int, int, str]],
) -> None:
    """Whole attempts, every answer acknowledged, until the attacker has had its go."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        student = QuizClient(http)
        rounds = 0
        while rounds < 2 or (attacked[0] < BAD_REQUESTS_AT_LEAST and not attack_over.is_set()):
            path = student.start("persistence", name=f"Honest {index}")
            assert path.endswith("/questions/1"), path
            attempt = int(re.findall(r"\d+", path)[0])
            token = student.csrf()
            for position in (1, 2, 3):
                label = LABELS[(index + position) % 4]
                answer = f"/attempts/{attempt}/questions/{position}"
                response = http.post(answer, data={"csrf_token": token, "choice": label})
                assert response.status_code == 303, response.text
                acknowledged.append((attempt, position, label))
            rounds += 1


def test_honest_students_lose_nothing_beside_an_attacker(
    served: ServerProcess, database_url: str
) -> None:
    acknowledged: list[tuple[int, int, str]] = []
    sent = [0]
    errors: list[BaseException] = []
    honest_done, attack_over = threading.Event(), threading.Event()

    def guarded(target, *args) -> None:  # type: ignore[no-untyped-def]
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    attacker = threading.Thread(
        target=guarded, args=(_attack, served, honest_done, sent, attack_over)
    )
    honest = [
        threading.Thread(target=guarded, args=(_honest, served, i, sent, attack_over, acknowledged))
        for i in range(HONEST_CLIENTS)
    ]
    attacker.start()
    for thread in honest:
        thread.start()
    for thread in honest:
        thread.join(300)
    honest_done.set()
    attacker.join(60)
    assert not errors, errors
    assert sent[0] >= BAD_REQUESTS_AT_LEAST
    assert len(acknowledged) >= HONEST_CLIENTS * 2 * 3
    store = QuizStore(database_url)
    try:
        stored = {
            (attempt.id, answer.position): answer.option_order.index(answer.chosen)
            for attempt in store.all_attempts()
            for answer in store.attempt(attempt.id).answers  # type: ignore[union-attr]
            if answer.chosen is not None and attempt.student.name != "Mallory"
        }
    finally:
        store.close()
    assert stored == {(a, p): LABELS.index(label) for a, p, label in acknowledged}
    assert len(acknowledged) == len({(a, p) for a, p, _ in acknowledged})


def test_a_database_failure_is_the_apps_own_page(settings: Settings, store: QuizStore) -> None:
    app = create_app(settings)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as http:
        student = QuizClient(http)
        path = student.start()
        form = {"csrf_token": student.csrf(path), "choice": student.label(path, right=True)}
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE quiz_answers")
        response = http.post(path, data=form)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert (
        "was not saved" in response.text and "<h1>500 Internal Server Error</h1>" in response.text
    )
