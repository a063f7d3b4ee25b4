"""Attempts under the instructor's control: one open attempt per quiz, the attempts allowed,
and a student who stays one student when the display name's case changes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from grader.quiz.policy import PolicyError, load_policies
from grader.quiz.store import QuizStore
from grader.quiz.web import Settings, create_app
from tests.quiz.conftest import INSTRUCTOR_TOKEN, QuizClient


def _start(student: QuizClient, quiz: str = "persistence", name: str = "Ada", level: str = ""):  # type: ignore[no-untyped-def]
    form = {"csrf_token": student.csrf(), "name": name, "quiz": quiz, "level": level}
    return student.http.post("/attempts", data=form)


def test_a_second_start_resumes_the_open_attempt(student: QuizClient, store: QuizStore) -> None:
    first = student.start("persistence")
    assert student.answer(first, right=False).status_code == 303
    again = _start(student)
    assert again.status_code == 303 and again.headers["location"] == "/attempts/1"
    assert student.http.get("/attempts/1").headers["location"] == "/attempts/1/questions/2"
    attempt = store.attempt(1)
    assert attempt is not None and len(store.attempts_of(attempt.student_id)) == 1


def test_no_second_open_attempt_can_learn_the_keys(student: QuizClient, store: QuizStore) -> None:
    """The probe of the issue: a second attempt's feedback gave every key to the first."""
    first = student.start("persistence")
    for _ in range(3):
        assert _start(student).headers["location"] == "/attempts/1"
    page = student.http.get(first).text
    assert "Right answer of" in page and "Worked solution" not in page  # no feedback yet
    assert [a.id for a in store.all_attempts()] == [1]


def test_other_quizzes_and_levels_are_other_attempts(student: QuizClient) -> None:
    assert student.start("persistence") == "/attempts/1/questions/1"
    assert student.start("persistence", level="hard") == "/attempts/2/questions/1"
    assert student.start("fastapi-basics") == "/attempts/3/questions/1"
    assert _start(student, "persistence", level="hard").headers["location"] == "/attempts/2"


def test_a_finished_attempt_lets_a_new_one_start(student: QuizClient) -> None:
    student.take("persistence", [True, False, True])
    assert student.start("persistence") == "/attempts/2/questions/1"


@pytest.fixture
def limited(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    rules = tmp_path / "quiz-settings.toml"
    rules.write_text("[defaults]\nattempts = 0\n\n[quizzes.persistence]\nattempts = 2\n")
    app = create_app(replace(settings, quiz_settings=rules))
    with TestClient(app, follow_redirects=False) as client:
        yield client


def test_attempts_allowed_are_enforced(limited: TestClient) -> None:
    student = QuizClient(limited)
    student.take("persistence", [True, True, True])
    student.take("persistence", [False, True, True])
    refused = _start(student)
    assert refused.status_code == 409
    assert "You have used all 2 attempts allowed at persistence" in refused.text
    assert student.start("fastapi-basics") == "/attempts/3/questions/1"  # unlimited there
    assert _start(student, name="ADA").status_code == 409  # the same student


def test_the_instructor_sees_the_settings(limited: TestClient) -> None:
    student = QuizClient(limited)
    form = {"csrf_token": student.csrf(), "token": INSTRUCTOR_TOKEN}
    assert limited.post("/instructor/login", data=form).status_code == 303
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", limited.get("/instructor").text))
    assert "Quiz settings" in page and "quiz-settings.toml" in page
    assert "persistence 2" in page and "fastapi-basics unlimited" in page
    assert "self-check unlimited" in page


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[quizzes.nope]\nattempts = 1\n", "there is no quiz 'nope'"),
        (
            "[defaults]\nattempts = -1\n",
            "attempts must be a whole number of attempts (0: unlimited), 0 to 100",
        ),
        ("[defaults]\nattempts = 'two'\n", "attempts must be a whole number"),
        ("[defaults]\ntimelimit = 1.5\n", "timelimit must be a whole number of minutes (0: none)"),
        (
            "[defaults]\ntimelimit = 2000\n",
            "timelimit must be a whole number of minutes (0: none), 0 to 1440",
        ),
        (
            "[defaults]\ntime_limit = 3\n",
            "unknown setting(s) time_limit; known: attempts, timeopen",
        ),
        (
            "[defaults]\ntimeclose = 2026-12-11T17:00:00\n",
            "timeclose needs a time zone, such as 2026-12-11T17:00:00Z",
        ),
        ("[defaults]\ntimeopen = 2026-12-11\n", "timeopen needs a time of day too"),
        ("[defaults]\ntimeopen = 'monday'\n", "timeopen must be a date and time"),
        (
            "[defaults]\ntimeopen = 2026-12-11T17:00:00Z\ntimeclose = 2026-12-11T09:00:00Z\n",
            "[quizzes.self-check]: timeclose must come after timeopen",
        ),
        (
            "[defaults]\nfeedback = 'later'\n",
            "feedback must be one of 'immediate', 'deferred', 'after-close'",
        ),
        (
            "[quizzes.persistence]\nfeedback = 'after-close'\n",
            '[quizzes.persistence]: feedback = "after-close" needs a timeclose',
        ),
        ("[defaults]\nmultiple_open = 1\n", "multiple_open must be true or false"),
        ("[extra]\n", "unknown table(s) extra"),
        ("attempts = \n", "Cannot read the quiz settings"),
    ],
)
def test_bad_settings_files_are_refused_clearly(tmp_path: Path, text: str, message: str) -> None:
    rules = tmp_path / "quiz-settings.toml"
    rules.write_text(text)
    with pytest.raises(PolicyError, match=re.escape(message)):
        load_policies(rules, ["persistence"])


def test_a_change_of_case_keeps_the_student_and_the_attempt(
    student: QuizClient, store: QuizStore
) -> None:
    first = student.start("persistence", name="Ada Lovelace")
    assert student.answer(first, right=True).status_code == 303
    again = _start(student, name="  ada   LOVELACE ")
    assert again.headers["location"] == "/attempts/1"
    assert student.http.get("/attempts/1/questions/1").status_code == 200
    attempt = store.attempt(1)
    assert attempt is not None and attempt.student.name == "ada LOVELACE"
    assert len({a.student_id for a in store.all_attempts()}) == 1


def test_names_typed_another_way_are_the_same_student(
    student: QuizClient, store: QuizStore
) -> None:
    pairs = [
        ("Jos\u00e9", "Jose\u0301"),  # é typed as one character, then as e and a combining mark
        ("Zo\u00eb", "ZOE\u0308"),
        ("Ada", "\uff21\uff44\uff41"),  # full-width letters, as an East Asian keyboard types
        ("\ud55c \uac00\uc778", "\u1112\u1161\u11ab \u1100\u1161\u110b\u1175\u11ab"),  # Hangul as jamo
    ]
    for number, (first, again) in enumerate(pairs, start=1):
        path = student.start("persistence", name=first)  # another name: another student
        assert path == f"/attempts/{number}/questions/1"
        assert student.answer(path, right=True).status_code == 303
        assert _start(student, name=again).headers["location"] == f"/attempts/{number}"
    assert len({a.student_id for a in store.all_attempts()}) == len(pairs)
    student.start("persistence", name="Jose\u0301 Mari\u0301a")
    attempt = store.attempt(len(pairs) + 1)
    assert attempt is not None and attempt.student.name == "Jos\u00e9 Mar\u00eda"  # composed


def test_another_name_in_the_same_browser_is_another_student(
    student: QuizClient, store: QuizStore
) -> None:
    student.start("persistence", name="Ada")
    assert student.start("persistence", name="Bob") == "/attempts/2/questions/1"
    assert len({a.student_id for a in store.all_attempts()}) == 2


def test_the_score_waits_too_while_another_open_attempt_asks_its_questions(
    student: QuizClient,
) -> None:
    """A score tells keys as well as feedback does: 3 / 3 says every answer was the key."""
    student.start("self-check")  # all six questions of the tiny bank, open
    done = student.take("persistence", [True, True, False])
    waits = "Your score waits until you finish your other open attempt"
    for page in (f"{done}/results", f"{done}/review", "/"):
        text = student.http.get(page).text
        assert "2 / 3" not in text and "You scored" not in text, page
        assert waits in text or "the score waits until you finish" in text, page
    for position in range(1, 7):
        assert student.answer(f"/attempts/1/questions/{position}").status_code == 303
    for page in (f"{done}/results", f"{done}/review", "/"):
        text = student.http.get(page).text
        assert "2 / 3" in text or "You scored 2 of 3" in text, page
        assert "waits" not in text, page


def test_feedback_waits_while_another_open_attempt_asks_the_question(
    student: QuizClient,
) -> None:
    """The self-check and a topic quiz share questions: the key of one, open in the other,
    waits until the other is finished."""
    student.start("self-check")  # all six questions of the tiny bank, open
    path = student.start("persistence")
    assert student.answer(path, right=False).status_code == 303
    page = student.http.get(path).text
    assert "Its feedback waits until you finish your other open attempt" in page
    assert "The answer is" not in page and "correct answer" not in page
    assert "Worked solution" not in page and "your answer" in page
    for position in range(1, 7):
        assert student.answer(f"/attempts/1/questions/{position}").status_code == 303
    page = student.http.get(path).text
    assert "Not quite." in page and "The answer is" in page and "waits" not in page
