"""Instructor sign-in: server-side sessions that signing out ends, no token in any cookie, a
limit on wrong guesses, and a token long enough not to be guessed."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from grader.quiz.web import Settings, create_app
from grader.quiz.web.settings import SettingsError
from grader.quiz.web.signin import GUESS_WINDOW, GUESSES_IN_TOTAL, GUESSES_PER_CLIENT, GuessLimit
from tests.quiz.conftest import INSTRUCTOR_TOKEN, QuizClient


def _sign_in(student: QuizClient, token: str = INSTRUCTOR_TOKEN) -> int:
    form = {"csrf_token": student.csrf(), "token": token}
    return student.http.post("/instructor/login", data=form).status_code


def test_signing_out_ends_every_copy_of_the_cookie(client: TestClient, student: QuizClient) -> None:
    assert _sign_in(student) == 303
    with TestClient(client.app, cookies=client.cookies) as copy:
        assert copy.get("/instructor").status_code == 200
        student.http.post("/instructor/logout", data={"csrf_token": student.csrf()})
        assert copy.get("/instructor").status_code == 401
    assert student.http.get("/instructor").status_code == 401


def test_the_cookie_holds_no_token_nor_a_digest_of_it(
    client: TestClient, student: QuizClient
) -> None:
    assert _sign_in(student) == 303
    cookie = client.cookies["persistlab_session"]
    payload = base64.b64decode(cookie.split(".")[0] + "==").decode()
    fixed_key_digest = hmac.new(
        b"persistlab-instructor", INSTRUCTOR_TOKEN.encode(), hashlib.sha256
    ).hexdigest()
    plain_digest = hashlib.sha256(INSTRUCTOR_TOKEN.encode()).hexdigest()
    for secret in (INSTRUCTOR_TOKEN, fixed_key_digest, plain_digest):
        assert secret not in payload
    assert '"instructor"' in payload  # a random session id, checked against the database


def test_a_new_token_signs_everyone_out(settings: Settings, client: TestClient) -> None:
    assert _sign_in(QuizClient(client)) == 303
    changed = replace(settings, instructor_token="another-long-instructor-token")
    with TestClient(create_app(changed), cookies=client.cookies) as restarted:
        assert restarted.get("/instructor").status_code == 401
    with TestClient(create_app(settings), cookies=client.cookies) as same:
        assert same.get("/instructor").status_code == 200  # a restart alone keeps it


def test_wrong_guesses_are_limited(student: QuizClient) -> None:
    for _ in range(GUESSES_PER_CLIENT):
        assert _sign_in(student, "not-the-instructor-token") == 403
    refused = student.http.post(
        "/instructor/login", data={"csrf_token": student.csrf(), "token": INSTRUCTOR_TOKEN}
    )
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "Too many wrong instructor tokens" in refused.text
    bearer = {"Authorization": f"Bearer {INSTRUCTOR_TOKEN}"}
    assert student.http.get("/instructor/questions.csv", headers=bearer).status_code == 429


def test_wrong_bearer_tokens_count_as_guesses(student: QuizClient) -> None:
    wrong = {"Authorization": "Bearer not-the-instructor-token"}
    for _ in range(GUESSES_PER_CLIENT):
        assert student.http.get("/instructor/students.csv", headers=wrong).status_code == 401
    assert _sign_in(student) == 429


def test_the_guess_limit_per_client_and_in_total() -> None:
    now = [1000.0]
    limit = GuessLimit(clock=lambda: now[0])
    for _ in range(GUESSES_PER_CLIENT):
        assert limit.wait("10.0.0.1") == 0
        limit.failed("10.0.0.1")
    assert limit.wait("10.0.0.1") == GUESS_WINDOW and limit.wait("10.0.0.2") == 0
    now[0] += GUESS_WINDOW
    assert limit.wait("10.0.0.1") == 0  # the window has passed
    for n in range(GUESSES_IN_TOTAL):
        limit.failed(f"10.0.1.{n}")
    assert limit.wait("10.0.0.99") > 0  # everyone together guessed too often


@pytest.mark.parametrize("token", ["short", "x" * 15])
def test_a_short_token_is_refused_with_the_reason(token: str) -> None:
    env = {"PERSISTLAB_INSTRUCTOR_TOKEN": token, "PERSISTLAB_DATABASE_URL": "sqlite://"}
    with pytest.raises(SettingsError, match="must have at least 16") as refused:
        Settings.from_env(env)
    assert "secrets.token_urlsafe" in str(refused.value)
    assert Settings.from_env({**env, "PERSISTLAB_INSTRUCTOR_TOKEN": "x" * 16}).instructor_token
