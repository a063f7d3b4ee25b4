"""The web quiz through its HTTP interface, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import gc
import html
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

from grader.progress import record_result
from grader.quiz.grading import LABELS
from grader.quiz.store import QuizStore
from grader.quiz.web import Settings, create_app
from grader.quiz.web.app import YOUNG_GENERATION
from grader.quiz.web.writer import GroupWriter
from tests.quiz.conftest import INSTRUCTOR_TOKEN, QuizClient, assert_in_order

FIRST = "/attempts/1/questions/1"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def _text(html: str) -> str:
    """The page's words, tags removed, for order and absence checks."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _error(page: str) -> str:
    found = re.search(r'class="error-message" role="alert">(.*?)</p>', page, re.DOTALL)
    assert found, "no error message on the page"
    return html.unescape(found.group(1))


def test_home_lists_course_map_quizzes_and_self_check(student: QuizClient) -> None:
    page = student.http.get("/")
    assert page.status_code == 200
    text = _text(page.text)
    assert "Self-check : 10 questions across easy, medium and hard" in text
    assert "Persistence : 3 questions (1 easy, 1 medium, 1 hard)" in text
    assert "Fastapi basics : 3 questions" in text
    assert 'id="step-notes-dict"' in page.text and "Step 1: Keep notes in a dict" in text
    assert "Run persistlab serve inside your workspace" in text


def test_home_shows_workspace_progress(settings: Settings, workspace: Path) -> None:
    record_result(workspace, 1, "pass", 4, 4)
    record_result(workspace, 2, "fail", 1, 4)
    with TestClient(create_app(replace(settings, workspace=workspace))) as client:
        text = _text(client.get("/").text)
    assert "passed (4 / 4)" in text and "failing (1 / 4)" in text and "not checked yet" in text


def test_a_whole_attempt_score_review_and_retake(student: QuizClient, store: QuizStore) -> None:
    attempt = student.take("persistence", [True, False, True])
    results = student.http.get(attempt + "/results")
    assert results.status_code == 200
    assert "2 / 3" in _text(results.text) and "67%" in results.text
    assert re.search(
        r'<h2 id="revisit-title">Steps to revisit</h2>.*'
        r'<a href="/#step-notes-dict">Step 1: Keep notes in a dict</a>.*for question 2</li>',
        results.text,
        re.DOTALL,
    )
    review = _text(student.http.get(attempt + "/review").text)
    assert review.count("Worked solution") == 3 and review.count("Not quite.") == 1
    stored = store.attempt(1)
    assert stored is not None and stored.finished and stored.score == 2
    assert student.http.get(attempt).headers["location"] == attempt + "/results"
    retake = {"csrf_token": student.csrf(), "name": "Ada", "quiz": "persistence", "level": ""}
    again = student.http.post("/attempts", data=retake)
    assert again.headers["location"] == "/attempts/2/questions/1"
    assert len(store.attempts_of(stored.student_id)) == 2


def test_a_perfect_score_has_no_step_to_revisit(student: QuizClient) -> None:
    results = student.http.get(student.take("persistence", [True, True, True]) + "/results")
    text = _text(results.text)
    assert "3 / 3" in text and "You missed no question, so there is no step to revisit." in text
    assert "/#step-" not in results.text


def test_self_check_spans_levels(student: QuizClient, store: QuizStore) -> None:
    student.start("self-check")
    attempt = store.attempt(1)
    assert attempt is not None and attempt.total == 6 and attempt.topic is None


def test_level_quiz_has_only_that_level(student: QuizClient, store: QuizStore) -> None:
    student.start("persistence", level="hard")
    attempt = store.attempt(1)
    assert attempt is not None and [a.question_id for a in attempt.answers] == ["wal-crash"]


def test_question_page_never_carries_the_key(student: QuizClient) -> None:
    page = student.http.get(student.start()).text
    assert "fieldset" in page and re.search(r"<legend[^>]*>Which is right about", page)
    labels = re.findall(r'<label for="choice-([A-D])">', page)
    values = re.findall(r'name="choice" id="choice-([A-D])" value="([A-D])"', page)
    assert labels == ["A", "B", "C", "D"] and [v for _, v in values] == labels
    for secret in ("Hint for", "Misconception", "First look at", "correct", "Say why"):
        assert secret not in page
    assert 'aria-live="polite"' in page


def test_question_code_is_the_description_of_its_fieldset(student: QuizClient) -> None:
    path = student.start()  # easiest first: dict-restart, the one question with code
    fieldset = re.search(
        r"<fieldset([^>]*)>(.*?)</fieldset>", student.http.get(path).text, re.DOTALL
    )
    assert fieldset and 'aria-describedby="question-code"' in fieldset.group(1)
    code = re.search(
        r'<pre class="code" tabindex="0" id="question-code"><code>(.*?)</code></pre>',
        fieldset.group(2),
        re.DOTALL,
    )
    assert code and html.unescape(code.group(1)) == "notes = {}\nnotes[1] = 'hi'"
    assert student.answer(path).status_code == 303
    answered = student.http.get(path).text
    assert re.search(
        r'<section class="question-card"[^>]*aria-describedby="question-code"', answered
    )
    assert answered.count('id="question-code"') == 1
    without_code = student.http.get(path.replace("/questions/1", "/questions/2")).text
    assert "<fieldset>" in without_code and "aria-describedby" not in without_code


def test_option_order_is_shuffled_once_and_kept(student: QuizClient, store: QuizStore) -> None:
    path = student.start()
    shown = student.options(path)
    assert student.options(path) == shown
    attempt = store.attempt(1)
    assert attempt is not None
    order = attempt.answers[0].option_order
    expected_first = {
        "a": "Right answer of",
        "b": "Wrong one",
        "c": "Wrong two",
        "d": "Wrong three",
    }
    assert shown["A"].startswith(expected_first[order[0]])


def test_feedback_comes_in_order_after_a_wrong_answer(student: QuizClient) -> None:
    path = student.start()
    wrong = student.label(path, right=False)
    response = student.answer(path, right=False)
    assert response.status_code == 303 and response.headers["location"] == path
    page = student.http.get(path).text
    text = _text(page)
    assert_in_order(
        text,
        "Not quite.",
        f"You chose {wrong}",
        f"The misconception behind {wrong}",
        "Hint: Hint for dict-restart.",
        "Worked solution",
        "Answer: Right answer of dict-restart",
        "Go to step 1: Keep notes in a dict",
    )
    assert 'id="feedback" class="feedback" aria-live="polite"' in page
    assert 'href="/#step-notes-dict"' in page


def test_a_right_answer_has_no_misconception(student: QuizClient) -> None:
    path = student.start()
    student.answer(path, right=True)
    text = _text(student.http.get(path).text)
    assert "Right!" in text and "misconception" not in text.lower()


def _answers(store: QuizStore) -> list[tuple[str | None, float | None]]:
    attempt = store.attempt(1)
    assert attempt is not None
    return [(a.chosen, a.answered_at) for a in attempt.answers]


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"choice": "E"}, 400, "'E' is not an option"),
        ({"choice": ""}, 400, "is not an option"),
        ({"csrf_token": ""}, 403, "no CSRF token"),
        ({"csrf_token": "forged"}, 403, "does not match"),
    ],
)
def test_bad_answers_are_refused_and_change_nothing(
    student: QuizClient, store: QuizStore, form: dict[str, str], status: int, message: str
) -> None:
    path = student.start()
    before = _answers(store)
    response = student.answer(path, form=form)
    assert response.status_code == status
    assert message in _error(response.text)
    assert _answers(store) == before


def test_a_field_sent_twice_is_refused_and_changes_nothing(
    student: QuizClient, store: QuizStore
) -> None:
    path = student.start()
    fields = {"choice": [student.label(path, right=False), student.label(path, right=True)],
              "csrf_token": ["forged", student.csrf(path)]}  # fmt: skip
    for twice, repeated in [
        (["choice"], "'choice'"),  # a wrong option and the right one, for a one-answer question
        (["csrf_token"], "'csrf_token'"),  # a forged token, then the right one
        (["choice", "csrf_token"], "'choice', 'csrf_token'"),
    ]:
        pairs = [(name, fields[name][0]) for name in twice]
        pairs += [(name, values[-1]) for name, values in fields.items()]
        response = student.http.post(path, content=urlencode(pairs), headers=FORM)
        assert response.status_code == 400
        assert f"The form sends {repeated} more than once" in _error(response.text)
    fresh = {"csrf_token": student.csrf(), "name": "Ada", "quiz": "persistence", "level": ""}
    for name, other in [("quiz", "fastapi-basics"), ("name", "Bob"), ("level", "easy")]:
        response = student.http.post(
            "/attempts", content=urlencode([*fresh.items(), (name, other)]), headers=FORM
        )
        assert response.status_code == 400
        assert f"sends '{name}' more than once" in _error(response.text)
    assert _answers(store) == [(None, None)] * 3 and len(store.all_attempts()) == 1


def test_replayed_and_out_of_order_answers_get_409(student: QuizClient, store: QuizStore) -> None:
    path = student.start()
    wrong = student.label(path, right=False)
    form = {"csrf_token": student.csrf(path), "choice": student.label(path, right=True)}
    assert student.http.post(path, data=form).status_code == 303
    before = _answers(store)
    replay = student.http.post(path, data={**form, "choice": wrong})
    assert replay.status_code == 409 and "already answered" in _error(replay.text)
    skip = student.http.post("/attempts/1/questions/3", data=form)
    assert skip.status_code == 409 and "Answer question 2 first" in _error(skip.text)
    assert _answers(store) == before


def test_finished_attempt_takes_no_more_answers(student: QuizClient, store: QuizStore) -> None:
    attempt = student.take("persistence", [True, True, True])
    before = _answers(store)
    last = store.attempt(1)
    assert last is not None and last.answers[2].chosen is not None
    other = LABELS[(last.answers[2].option_order.index(last.answers[2].chosen) + 1) % 4]
    late = student.http.post(
        attempt + "/questions/3", data={"csrf_token": student.csrf(), "choice": other}
    )
    assert late.status_code == 409 and "is finished" in _error(late.text)
    assert _answers(store) == before


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/attempts/1/questions/9", 404, "There is no question 9 in attempt 1"),
        ("/attempts/7/questions/1", 404, "There is no attempt 7"),
        ("/attempts/x/questions/1", 400, "Bad request"),
    ],
)
def test_unknown_attempts_and_questions(
    student: QuizClient, path: str, status: int, message: str
) -> None:
    student.start()
    response = student.http.post(path, data={"csrf_token": student.csrf(), "choice": "A"})
    assert response.status_code == status and message in _error(response.text)
    assert student.http.get(path).status_code == status


def test_non_form_and_oversized_bodies(student: QuizClient, store: QuizStore) -> None:
    path = student.start()
    before = _answers(store)
    as_json = student.http.post(path, json={"choice": "A", "csrf_token": student.csrf(path)})
    assert as_json.status_code == 415 and "HTML form" in _error(as_json.text)
    huge = {"csrf_token": student.csrf(path), "choice": "A", "pad": "x" * 20_000}
    too_big = student.http.post(path, data=huge)
    assert too_big.status_code == 413 and "larger than the limit" in _error(too_big.text)
    chunks = (b"choice=A&pad=" + b"x" * 8192 for _ in range(4))
    streamed = student.http.post(
        path, content=chunks, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert streamed.status_code == 413
    assert _answers(store) == before


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"quiz": "no-such-topic"}, 404, "There is no quiz 'no-such-topic'"),
        ({"level": "impossible"}, 400, "There is no level 'impossible'"),
        ({"name": "   "}, 400, "display name"),
        ({"name": "x" * 61}, 400, "display name"),
    ],
)
def test_bad_starts_are_refused_and_change_nothing(
    student: QuizClient, store: QuizStore, form: dict[str, str], status: int, message: str
) -> None:
    fields = {"csrf_token": student.csrf(), "name": "Ada", "quiz": "persistence", **form}
    response = student.http.post("/attempts", data=fields)
    assert response.status_code == status and message in _error(response.text)
    assert store.all_attempts() == []


def test_attempts_belong_to_their_student(
    student: QuizClient, other_student: QuizClient, store: QuizStore
) -> None:
    path = student.start(name="Ada")
    response = other_student.answer(path, form={"csrf_token": other_student.csrf(), "choice": "A"})
    unknown = other_student.answer(
        "/attempts/7/questions/1", form={"csrf_token": other_student.csrf(), "choice": "A"}
    )
    assert response.status_code == unknown.status_code == 404  # nobody learns which ids exist
    assert _error(response.text) == _error(unknown.text).replace("attempt 7", "attempt 1")
    assert other_student.http.get(path).status_code == 404
    assert _answers(store)[0] == (None, None)


def test_session_survives_an_app_restart_on_the_same_database(
    settings: Settings, client: TestClient, student: QuizClient
) -> None:
    path = student.start()
    student.answer(path)
    with TestClient(create_app(settings), cookies=client.cookies) as restarted:
        page = restarted.get(path)
    assert page.status_code == 200 and "Right!" in page.text


def test_two_servers_on_one_database_let_the_database_judge(
    settings: Settings, client: TestClient, student: QuizClient, store: QuizStore
) -> None:
    """Another server process on the same database answers for this browser: what the first
    one remembers of the attempt is out of date, and the database decides."""
    path = student.start()
    wrong = student.label(path, right=False)
    with TestClient(create_app(settings), cookies=client.cookies) as other_server:
        assert QuizClient(other_server).answer(path).status_code == 303
    form = {"csrf_token": student.csrf(), "choice": wrong}
    replay = student.http.post(path, data=form)
    assert replay.status_code == 409 and "already answered" in _error(replay.text)
    second = student.http.post(
        path.replace("/questions/1", "/questions/2"), data={**form, "choice": "A"}
    )
    assert second.status_code == 303
    assert [chosen is not None for chosen, _ in _answers(store)] == [True, True, False]


def _sign_in(student: QuizClient, token: str) -> int:
    form = {"csrf_token": student.csrf(), "token": token}
    return student.http.post("/instructor/login", data=form).status_code


def test_instructor_pages_need_the_token(student: QuizClient) -> None:
    assert student.http.get("/instructor").status_code == 401
    assert student.http.get("/instructor/questions.csv").status_code == 401
    assert _sign_in(student, "wrong") == 403
    assert _sign_in(student, INSTRUCTOR_TOKEN) == 303
    assert student.http.get("/instructor").status_code == 200
    student.http.post("/instructor/logout", data={"csrf_token": student.csrf()})
    assert student.http.get("/instructor").status_code == 401


def test_instructor_pages_are_off_without_a_token(settings: Settings) -> None:
    with TestClient(create_app(replace(settings, instructor_token=None))) as client:
        response = client.get("/instructor")
    assert response.status_code == 404
    assert "instructor pages are off" in _error(response.text)
    assert "PERSISTLAB_INSTRUCTOR_TOKEN" in response.text


def test_instructor_statistics_and_csv(student: QuizClient, other_student: QuizClient) -> None:
    student.take("persistence", [True, True, False], name="Ada")
    other_student.take("persistence", [False, True, True], name="Bob")
    unfinished = student.start("persistence", name="Ada")  # right on dict-restart, then left
    assert student.answer(unfinished, right=True).status_code == 303
    assert _sign_in(student, INSTRUCTOR_TOKEN) == 303
    text = _text(student.http.get("/instructor").text)
    assert "dict-restart · persistence easy 2 0 50%" in text  # the unfinished answer is left out
    assert "Ada 1 2 1 67% 67%" in text and "Bob 2 1 1 67% 67%" in text  # name, id, ...
    bearer = {"Authorization": f"Bearer {INSTRUCTOR_TOKEN}"}
    csv = other_student.http.get("/instructor/questions.csv", headers=bearer)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0].startswith("question,topic,difficulty,answer,answered,facility")
    row = next(line.split(",") for line in lines if line.startswith("dict-restart,"))
    assert row[:7] == ["dict-restart", "persistence", "easy", "a", "2", "0.500", ""]
    assert row[7] == "1" and sorted(row[8:11]) == ["0", "0", "1"] and row[11] == "0"
    # one right, one wrong, no variants
    assert "app-object,fastapi-basics,easy,a,0,,,0,0,0,0,0" in lines
    students = other_student.http.get("/instructor/students.csv", headers=bearer).text
    assert students.splitlines()[1:] == ["1,Ada,2,1,0.667,0.667", "2,Bob,1,1,0.667,0.667"]


@pytest.mark.parametrize(
    "body", [b"choice=%FF&csrf_token=x", b"&".join(b"f%d=1" % i for i in range(30))]
)
def test_unreadable_forms_get_400(student: QuizClient, store: QuizStore, body: bytes) -> None:
    path = student.start()
    before = _answers(store)
    form_type = {"content-type": "application/x-www-form-urlencoded"}
    response = student.http.post(path, content=body, headers=form_type)
    assert response.status_code == 400 and "could not be read" in _error(response.text)
    assert _answers(store) == before


def test_the_writer_stores_a_burst_and_refuses_per_submission(store: QuizStore) -> None:
    """Fifty submissions at once, five of them repeats: each gets its own answer, and only
    the first of each pair is stored (the group commit does not mix them up)."""
    student = store.add_student("Ada")
    attempts = [
        store.start_attempt(student_id=student, questions=[("q", "abcd"), ("r", "dcba")])
        for _ in range(45)
    ]

    def decide(slot: object) -> tuple[str, bool]:
        if getattr(slot, "chosen", None) is not None:
            raise HTTPException(409, "already answered")
        return "c", False

    async def burst() -> list[object]:
        writer = GroupWriter(store)
        jobs = [writer.answer(a, 1, decide) for a in attempts + attempts[:5]]
        try:
            return await asyncio.gather(*jobs, return_exceptions=True)
        finally:
            writer.close()

    results = asyncio.run(burst())
    assert results[:45] == [True] * 45
    assert all(isinstance(r, HTTPException) and r.status_code == 409 for r in results[45:])
    for attempt_id in attempts:
        attempt = store.attempt(attempt_id)
        assert attempt is not None and [a.chosen for a in attempt.answers] == ["c", None]


def test_the_real_bank_serves_a_ten_question_self_check(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'real.db'}")
    app = create_app(settings)
    with TestClient(app, follow_redirects=False) as client:
        student = QuizClient(client)
        assert "Persistence" in client.get("/").text
        first = student.start("self-check")
        assert student.options(first)  # four options, rendered from the real bank
        stored = app.state.store.attempt(1)
    assert stored is not None
    levels = [app.state.bank.get(a.question_id).difficulty for a in stored.answers]
    assert len(levels) == 10 and {"easy", "medium", "hard"} == set(levels)


def test_serving_sets_the_collector_and_gives_it_back(settings: Settings) -> None:
    before = gc.get_threshold()
    with TestClient(create_app(settings)):
        assert gc.get_threshold()[0] == YOUNG_GENERATION and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_an_answer_sent_again_shows_its_feedback(student: QuizClient, store: QuizStore) -> None:
    """A browser resends the form after a crash or a reload: the same choice is not an error,
    on an open attempt or on the answer that finished it."""
    attempt = student.take("persistence", [True, False])
    second, last = attempt + "/questions/2", attempt + "/questions/3"
    stored = store.attempt(1)
    assert stored is not None and stored.answers[1].chosen is not None
    again = LABELS[stored.answers[1].option_order.index(stored.answers[1].chosen)]
    token = student.csrf()
    right = student.label(last, right=True)
    for path, label in ((second, again), (last, right), (last, right)):
        response = student.http.post(path, data={"csrf_token": token, "choice": label})
        assert response.status_code == 303 and response.headers["location"] == path
    assert "Not quite." in student.http.get(second).text and "Right!" in student.http.get(last).text
    finished = store.attempt(1)
    assert finished is not None and finished.finished and finished.score == 2


def test_pages_carry_security_headers(student: QuizClient) -> None:
    path = student.start()
    for response in (student.http.get("/"), student.http.get(path), student.answer(path)):
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
    css = student.http.get("/static/style.css")
    assert "frame-ancestors" in css.headers["content-security-policy"]
    assert "cache-control" not in css.headers


def test_a_level_with_the_self_check_asks_that_level_from_every_topic(
    student: QuizClient, store: QuizStore
) -> None:
    assert "questions of that level from every topic" in student.http.get("/").text
    student.start("self-check", level="hard")
    attempt = store.attempt(1)
    assert attempt is not None and (attempt.topic, attempt.level) == (None, "hard")
    assert sorted(a.question_id for a in attempt.answers) == ["global-counter", "wal-crash"]
    assert "All topics (hard)" in student.http.get("/attempts/1/questions/1").text


def test_topic_titles_come_from_the_bank(settings: Settings, bank_dir: Path) -> None:
    quiz_file = bank_dir / "fastapi-basics.toml"
    quiz_file.write_text('title = "FastAPI basics"\n' + quiz_file.read_text())
    with TestClient(create_app(settings), follow_redirects=False) as client:
        student = QuizClient(client)
        assert "<strong>FastAPI basics</strong>" in client.get("/").text
        path = student.start("fastapi-basics", level="hard")
        assert "FastAPI basics (hard) · Question 1 of 1" in _text(client.get(path).text)
        assert "<strong>Persistence</strong>" in client.get("/").text  # made from the name
