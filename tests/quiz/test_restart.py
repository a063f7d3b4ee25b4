"""A real `persistlab serve` process, killed with SIGKILL and started again on the same file:
every answer that got its response is still there, and the browser's session still works."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import httpx

from grader.quiz.grading import LABELS
from grader.quiz.store import QuizStore
from tests.quiz.conftest import QuizClient, ServerProcess


def test_serve_says_where_the_answers_go(server: ServerProcess, tmp_path: Path) -> None:
    assert f"Quiz answers are stored in {tmp_path / 'served.db'}" in server.output()
    assert f"Instructor pages: {server.url}/instructor" in server.output()


def test_answers_and_session_survive_kill_9(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        student = QuizClient(http)
        first = student.start("persistence")
        assert student.answer(first, right=True).status_code == 303
        second = first.replace("/questions/1", "/questions/2")
        assert student.answer(second, right=False).status_code == 303

        server.kill()
        assert server.process is not None and server.process.returncode == -9
        server.start()

        resume = http.get("/attempts/1")
        assert resume.headers["location"] == "/attempts/1/questions/3"
        assert "Right!" in http.get(first).text
        assert "Not quite." in http.get(second).text
        third = first.replace("/questions/1", "/questions/3")
        assert student.answer(third, right=True).status_code == 303
        assert "2 / 3" in http.get("/attempts/1/results").text


def test_every_acknowledged_answer_is_stored_after_kill_9_under_load(
    server: ServerProcess, tmp_path: Path
) -> None:
    acknowledged: list[tuple[int, int, str]] = []  # (attempt, position, label)
    stop = threading.Event()
    errors: list[BaseException] = []

    def keep_answering(index: int) -> None:
        with httpx.Client(base_url=server.url, timeout=5) as http:
            student = QuizClient(http)
            try:
                while not stop.is_set():
                    path = student.start("self-check", name=f"load-{index}")
                    found = re.match(r"/attempts/(\d+)/", path)
                    assert found
                    attempt = int(found.group(1))
                    token = student.csrf()
                    for position in range(1, 7):
                        label = LABELS[(index + position) % 4]
                        response = http.post(
                            f"/attempts/{attempt}/questions/{position}",
                            data={"csrf_token": token, "choice": label},
                        )
                        assert response.status_code == 303, response.text
                        acknowledged.append((attempt, position, label))
            except httpx.TransportError:
                return  # the server was killed mid-request: that answer was never acknowledged
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                errors.append(exc)

    threads = [threading.Thread(target=keep_answering, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 60 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(10)
    assert not errors, errors
    assert len(acknowledged) >= 60, "the load never got going"

    store = QuizStore(f"sqlite:///{tmp_path / 'served.db'}")
    try:
        attempts = {a: store.attempt(a) for a in {attempt for attempt, _, _ in acknowledged}}
        for attempt_id, position, label in acknowledged:
            attempt = attempts[attempt_id]
            assert attempt is not None
            answer = attempt.answers[position - 1]
            assert answer.chosen == answer.option_order[LABELS.index(label)], (
                f"acknowledged answer {label} to attempt {attempt_id} question {position} is lost"
            )
    finally:
        store.close()
