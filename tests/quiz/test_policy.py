"""The instructor's quiz settings (grader/quiz/policy.py) as the web quiz enforces them: open
and close dates, a time limit the server keeps, feedback after each answer, after the attempt
or after the close date, and one or several open attempts."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from grader.quiz.policy import QuizPolicy, load_policies
from grader.quiz.store import QuizStore
from grader.quiz.web import Settings, create_app
from tests.quiz.conftest import INSTRUCTOR_TOKEN, QuizClient


def _iso(offset: float) -> str:
    """A TOML date-time `offset` seconds from now."""
    moment = datetime.fromtimestamp(time.time() + offset, timezone.utc).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def app_with(settings: Settings, tmp_path: Path) -> Iterator[Callable[[str], TestClient]]:
    """A quiz app with these settings; several may be made in turn on the same database, as
    an instructor edits the file and restarts the server."""
    opened: list[TestClient] = []

    def make(text: str) -> TestClient:
        rules = tmp_path / f"quiz-settings-{len(opened)}.toml"
        rules.write_text(text)
        client = TestClient(
            create_app(replace(settings, quiz_settings=rules)), follow_redirects=False
        )
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Moves the server's clock forward by some seconds."""
    real = time.time
    offset = [0.0]
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_moodles_defaults_and_a_quiz_that_inherits_them(tmp_path: Path) -> None:
    assert QuizPolicy() == QuizPolicy(
        attempts=0, timeopen=None, timeclose=None, timelimit=0, feedback="immediate",
        multiple_open=False,
    )  # fmt: skip
    rules = tmp_path / "rules.toml"
    rules.write_text(
        "[defaults]\ntimelimit = 20\nfeedback = 'deferred'\n\n"
        "[quizzes.persistence]\nattempts = 2\ntimeclose = 2026-12-11T17:00:00Z\n"
    )
    policies = load_policies(rules, ["persistence", "fastapi-basics"])
    persistence = policies.of("persistence")
    assert (persistence.attempts, persistence.timelimit, persistence.feedback) == (
        2,
        1200,
        "deferred",
    )
    close = datetime(2026, 12, 11, 17, tzinfo=timezone.utc).timestamp()
    assert persistence.deadline(close - 600) == close  # the close date comes first
    assert persistence.deadline(close - 3600) == close - 2400  # the time limit comes first
    assert policies.of(None) == policies.of("fastapi-basics") == policies.defaults
    assert policies.of(None).deadline(close) == close + 1200


def test_the_time_limit_is_kept_by_the_server(
    app_with: Callable[[str], TestClient], store: QuizStore, clock: Callable[[float], None]
) -> None:
    student = QuizClient(app_with("[quizzes.persistence]\ntimelimit = 1\n"))
    first = student.start("persistence")
    page = student.http.get(first).text
    assert "This attempt takes answers until" in page
    assert student.answer(first, right=True).status_code == 303
    second = "/attempts/1/questions/2"
    form = {"csrf_token": student.csrf(second), "choice": student.label(second, right=True)}
    clock(61)
    late = student.http.post(second, data=form)
    assert late.status_code == 409, late.text
    assert "The time for attempt 1 ended at" in late.text and "not saved" in late.text
    attempt = store.attempt(1)
    assert attempt is not None and attempt.finished and attempt.score == 1
    assert [a.chosen is not None for a in attempt.answers] == [True, False, False]
    assert student.http.get("/attempts/1").headers["location"] == "/attempts/1/results"
    assert student.http.get(second).headers["location"] == "/attempts/1/results"
    assert "1 / 3" in _text(student.http.get("/attempts/1/results").text)
    review = _text(student.http.get("/attempts/1/review").text)
    assert review.count("Not answered: the time ran out first.") == 2
    assert student.start("persistence") == "/attempts/2/questions/1"  # a new attempt


def test_an_attempt_left_open_is_submitted_when_its_time_is_up(
    app_with: Callable[[str], TestClient], store: QuizStore, clock: Callable[[float], None]
) -> None:
    """Nobody posts after the deadline: a start, a page or the instructor's page submits it."""
    client = app_with("[defaults]\ntimelimit = 5\n")
    student = QuizClient(client)
    path = student.start("persistence")
    assert student.answer(path, right=False).status_code == 303
    clock(301)
    form = {"csrf_token": student.csrf(), "token": INSTRUCTOR_TOKEN}
    assert client.post("/instructor/login", data=form).status_code == 303
    assert client.get("/instructor").status_code == 200
    attempt = store.attempt(1)
    assert attempt is not None and attempt.finished and attempt.score == 0
    assert attempt.finished_at == pytest.approx(attempt.started_at + 300)


def test_open_and_close_dates(app_with: Callable[[str], TestClient], store: QuizStore) -> None:
    early = QuizClient(app_with(f"[quizzes.persistence]\ntimeopen = {_iso(3600)}\n"))
    refused = early.http.post(
        "/attempts", data={"csrf_token": early.csrf(), "name": "Ada", "quiz": "persistence"}
    )
    assert refused.status_code == 409 and "Persistence: This quiz opens at" in refused.text
    assert "opens " in _text(early.http.get("/").text)  # said beside the quiz on the home page
    assert store.all_attempts() == []

    before = QuizClient(app_with(f"[defaults]\ntimeclose = {_iso(3600)}\n"))
    path = before.start("persistence")
    assert before.answer(path, right=True).status_code == 303
    second = "/attempts/1/questions/2"
    form = {"csrf_token": before.csrf(second), "choice": before.label(second, right=True)}
    # The instructor moves the close date to the past and restarts the server.
    after = app_with(f"[defaults]\ntimeclose = {_iso(-60)}\n")
    after.cookies = before.http.cookies
    student = QuizClient(after)
    late = after.post(second, data=form)
    assert late.status_code == 409 and "ended at" in late.text
    attempt = store.attempt(1)
    assert attempt is not None and attempt.finished and attempt.score == 1
    closed = student.http.post(
        "/attempts", data={"csrf_token": student.csrf(), "name": "Ada", "quiz": "self-check"}
    )
    assert closed.status_code == 409 and "Self-check: This quiz closed at" in closed.text


def test_feedback_after_the_attempt(app_with: Callable[[str], TestClient]) -> None:
    student = QuizClient(app_with("[defaults]\nfeedback = 'deferred'\n"))
    path = student.start("persistence")
    assert student.answer(path, right=False).headers["location"] == path
    assert student.http.get(path).headers["location"] == "/attempts/1"  # on to the next
    assert student.http.get("/attempts/1").headers["location"] == "/attempts/1/questions/2"
    resent = student.answer(path, form={"choice": "A", "csrf_token": student.csrf()})
    assert resent.status_code in (303, 409) and "Worked solution" not in resent.text
    for position in (2, 3):
        page = student.http.get(f"/attempts/1/questions/{position}").text
        assert "Worked solution" not in page and "Not quite" not in page
        assert student.answer(f"/attempts/1/questions/{position}", right=True).status_code == 303
    results = _text(student.http.get("/attempts/1/results").text)
    assert "2 / 3" in results
    review = _text(student.http.get("/attempts/1/review").text)
    assert "Not quite." in review and review.count("Worked solution") == 3
    assert "Not quite." in student.http.get(path).text  # finished: each question shows it


def test_feedback_after_the_close_date(
    app_with: Callable[[str], TestClient], store: QuizStore
) -> None:
    client = app_with(f"[defaults]\nfeedback = 'after-close'\ntimeclose = {_iso(3600)}\n")
    student = QuizClient(client)
    student.take("persistence", [True, False, True])
    results = _text(student.http.get("/attempts/1/results").text)
    assert "submitted and saved" in results and "2 / 3" not in results
    assert "Steps to revisit" not in results
    assert student.http.get("/attempts/1/questions/1").headers["location"] == "/attempts/1/results"
    review = student.http.get("/attempts/1/review")
    assert review.status_code == 403 and "opens when the quiz closes" in review.text
    home = _text(student.http.get("/").text)
    assert "submitted; the score comes when the quiz closes" in home and "2 / 3" not in home
    after = app_with(f"[defaults]\nfeedback = 'after-close'\ntimeclose = {_iso(-1)}\n")
    after.cookies = client.cookies
    assert "2 / 3" in _text(after.get("/attempts/1/results").text)
    assert "Not quite." in after.get("/attempts/1/review").text


def test_several_open_attempts_when_the_instructor_allows_them(
    app_with: Callable[[str], TestClient], store: QuizStore
) -> None:
    student = QuizClient(app_with("[quizzes.persistence]\nmultiple_open = true\n"))
    assert student.start("persistence") == "/attempts/1/questions/1"
    assert student.start("persistence") == "/attempts/2/questions/1"
    assert student.start("fastapi-basics") == "/attempts/3/questions/1"
    again = student.http.post(
        "/attempts",
        data={"csrf_token": student.csrf(), "name": "Ada", "quiz": "fastapi-basics"},
    )
    assert again.headers["location"] == "/attempts/3"  # the default there: one, resumed
    assert [a.open_quiz for a in store.all_attempts()] == [None, None, "fastapi-basics|"]


def test_the_instructor_page_shows_every_setting(app_with: Callable[[str], TestClient]) -> None:
    client = app_with(
        "[defaults]\ntimelimit = 20\n\n[quizzes.persistence]\nattempts = 2\n"
        "feedback = 'after-close'\ntimeopen = 2026-12-07T09:00:00Z\n"
        "timeclose = 2026-12-11T17:00:00Z\nmultiple_open = true\n"
    )
    student = QuizClient(client)
    form = {"csrf_token": student.csrf(), "token": INSTRUCTOR_TOKEN}
    assert client.post("/instructor/login", data=form).status_code == 303
    page = _text(client.get("/instructor").text)
    assert (
        "persistence 2 several after the close date 2026-12-07 09:00 UTC "
        "2026-12-11 17:00 UTC 20 minutes"
    ) in page
    assert (
        "self-check unlimited one (a new start resumes it) after each answer always never "
        "20 minutes" in page
    )


def test_the_time_limit_holds_after_a_merge(
    app_with: Callable[[str], TestClient], store: QuizStore, clock: Callable[[float], None]
) -> None:
    """The server remembers each attempt's owner and deadline; a merge changes the owner."""
    client = app_with("[defaults]\ntimelimit = 1\n")
    ada = QuizClient(client)
    first = ada.start("persistence", name="Ada")
    assert ada.answer(first, right=True).status_code == 303  # owner and deadline remembered
    with TestClient(client.app, follow_redirects=False) as phone:
        QuizClient(phone).start("fastapi-basics", name="Ada L")
    store.merge_students(1, 2)
    second = "/attempts/1/questions/2"
    form = {"csrf_token": ada.csrf(second), "choice": ada.label(second, right=True)}
    clock(61)
    late = client.post(second, data=form)
    assert late.status_code == 409 and "ended at" in late.text
    attempt = store.attempt(1)
    assert attempt is not None and attempt.student_id == 2 and attempt.score == 1


def test_a_database_made_before_open_quiz_gains_its_columns_and_index(
    database_url: str, settings: Settings
) -> None:
    store = QuizStore(database_url)
    ada = store.add_student("Ada")
    store.start_attempt(student_id=ada, questions=[("wal-crash", "abcd")], topic="persistence")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX quiz_attempts_one_open")
        conn.exec_driver_sql("ALTER TABLE quiz_attempts DROP COLUMN open_quiz")
        conn.exec_driver_sql("ALTER TABLE quiz_students DROP COLUMN merged_into")
    store.close()
    reopened = QuizStore(database_url)
    try:
        found = inspect(reopened.engine)
        assert "quiz_attempts_one_open" in {i["name"] for i in found.get_indexes("quiz_attempts")}
        assert "merged_into" in {c["name"] for c in found.get_columns("quiz_students")}
        started = reopened.begin_attempt(
            name="ada", questions=[("dict-restart", "abcd", None)], topic="persistence",
            level=None, policy=QuizPolicy(),
        )  # fmt: skip
        assert (started.attempt_id, started.resumed) == (1, True)  # its old open attempt
    finally:
        reopened.close()
