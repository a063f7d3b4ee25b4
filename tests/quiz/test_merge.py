"""An instructor merges two names of one student: by command, or on the instructor page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from grader.quiz.commands import quiz
from grader.quiz.merge import MergeError
from grader.quiz.store import QuizStore
from grader.quiz.web import Settings, create_app
from tests.quiz.conftest import INSTRUCTOR_TOKEN, QuizClient


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _sign_in(student: QuizClient) -> None:
    form = {"csrf_token": student.csrf(), "token": INSTRUCTOR_TOKEN}
    assert student.http.post("/instructor/login", data=form).status_code == 303


def test_two_names_become_one_student_who_keeps_both_browsers(
    student: QuizClient, other_student: QuizClient, store: QuizStore, settings: Settings
) -> None:
    student.take("persistence", [True, True, True], name="Ada")
    other_student.take("persistence", [False, False, True], name="A. Lovelace")
    open_path = other_student.start("fastapi-basics", name="A. Lovelace")  # attempt 3
    label = other_student.label(open_path, right=True)
    form = {"csrf_token": other_student.csrf(open_path), "choice": label}
    done = store.merge_students(2, 1)
    assert (done.source, done.target, done.moved, done.submitted) == ("A. Lovelace", "Ada", 2, ())
    assert {a.student_id for a in store.all_attempts()} == {1}
    # The second browser goes on as Ada, with its open attempt and its old name: first the
    # answer on the page it had open when the instructor merged, sent to a server (restarted)
    # that keeps no sheet of the attempt.
    with TestClient(create_app(settings), cookies=other_student.http.cookies) as restarted:
        answered = restarted.post(open_path, data=form, follow_redirects=False)
        assert answered.status_code == 303, answered.text
        other_student.http.cookies = restarted.cookies  # the session now names Ada
    home = _text(other_student.http.get("/").text)
    assert 'value="Ada"' in other_student.http.get("/").text and "3 / 3" in home
    again = other_student.start("fastapi-basics", name="A. Lovelace")
    assert again == "/attempts/3"  # its open attempt, by its old name
    assert {a.student_id for a in store.all_attempts()} == {1}
    with pytest.raises(MergeError, match="was merged into student 1 already"):
        store.merge_students(2, 1)


def test_open_attempts_at_the_same_quiz_leave_one_open(
    student: QuizClient, other_student: QuizClient, store: QuizStore
) -> None:
    first = student.start("persistence", name="Ada")
    assert student.answer(first, right=True).status_code == 303
    other = other_student.start("persistence", name="Ada L")
    assert other_student.answer(other, right=True).status_code == 303
    second = other.replace("/questions/1", "/questions/2")
    form = {"csrf_token": other_student.csrf(second), "choice": "A"}  # the page left open
    done = store.merge_students(2, 1)
    assert done.submitted == (2,)
    two = store.attempt(2)
    assert two is not None and two.finished and two.score == 1 and two.open_quiz is None
    assert [a.id for a in store.all_attempts() if not a.finished] == [1]
    # The server kept attempt 2's sheet from its first answer: the merge made it stale.
    late = other_student.answer(second, form=form)
    assert late.status_code == 409 and "is finished" in late.text
    after = store.attempt(2)
    assert after is not None and [a.chosen is not None for a in after.answers] == [1, 0, 0]


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [(1, 1, "Choose two different students"), (1, 9, "There is no student 9 (the one kept)")],
)
def test_a_merge_that_cannot_be_says_why_and_changes_nothing(
    student: QuizClient, store: QuizStore, source: int, target: int, message: str
) -> None:
    student.take("persistence", [True, True, True], name="Ada")
    with pytest.raises(MergeError, match=re.escape(message)):
        store.merge_students(source, target)
    assert [(a.id, a.student_id) for a in store.all_attempts()] == [(1, 1)]


def test_the_instructor_merges_on_the_page(
    student: QuizClient, other_student: QuizClient, client: TestClient
) -> None:
    student.take("persistence", [True, True, False], name="Ada")
    other_student.take("persistence", [True, False, False], name="ada (phone)")
    _sign_in(student)
    page = student.http.get("/instructor").text
    assert "Merge two names of one student" in page
    token = student.csrf("/instructor")
    merged = student.http.post(
        "/instructor/merge", data={"csrf_token": token, "from": "2", "into": "1"}
    )
    assert merged.status_code == 200, merged.text
    assert "ada (phone) is now Ada: 1 attempt moved." in _text(merged.text)
    text = _text(student.http.get("/instructor").text)
    assert "Ada 1 2 2 67% 33%" in text and "ada (phone)" not in text
    for form, status in [
        ({"from": "1", "into": "1"}, 409),
        ({"from": "x", "into": "1"}, 400),
        ({"from": "99999999999", "into": "1"}, 400),
    ]:
        refused = student.http.post("/instructor/merge", data={"csrf_token": token, **form})
        assert refused.status_code == status, refused.text
    signed_out = other_student.http.post(
        "/instructor/merge",
        data={"csrf_token": other_student.csrf(), "from": "1", "into": "2"},
    )
    assert signed_out.status_code == 401


def test_the_commands_list_and_merge(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'quiz.db'}"
    store = QuizStore(url)
    try:
        ada, bob = store.add_student("Ada"), store.add_student("ada l")
        store.start_attempt(student_id=bob, questions=[("q1", "abcd")], topic="persistence")
    finally:
        store.close()
    runner = CliRunner()
    listed = runner.invoke(quiz, ["students", "--db", url])
    assert listed.exit_code == 0 and f"{bob:>6}  ada l  (1 attempt)" in listed.output
    merged = runner.invoke(quiz, ["merge", str(bob), str(ada), "--db", url])
    assert merged.exit_code == 0, merged.output
    assert "ada l (student 2) is now Ada (student 1): 1 attempt moved." in merged.output
    assert "ada l" not in runner.invoke(quiz, ["students", "--db", url]).output
    again = runner.invoke(quiz, ["merge", str(bob), str(ada), "--db", url])
    assert again.exit_code != 0 and "was merged into student 1 already" in again.output
    assert runner.invoke(quiz, ["merge", "0", "1", "--db", url]).exit_code == 2
