"""Question versions: an attempt keeps the questions as it was served them, so a key corrected
or a question removed in the bank never breaks or rescores a past attempt."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient

from grader.quiz.bank import load_bank
from grader.quiz.commands import quiz
from grader.quiz.store import QuizStore
from grader.quiz.web import Settings, create_app
from tests.quiz.conftest import INSTRUCTOR_TOKEN, TINY_BANK, QuizClient, _question


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def _change_bank(bank_dir: Path) -> None:
    """dict-restart's key moves from a to b; sqlite-commit leaves the bank."""
    kept = [q for q in TINY_BANK["persistence"] if q[0] != "sqlite-commit"]
    text = "".join(
        _question(qid, "persistence", level, right, code) for qid, level, right, code in kept
    )
    first, rest = text.split("[[questions]]", 2)[1:]
    first = first.replace("correct = true", 'correct = false\nmisconception = "Was the key."', 1)
    first = first.replace(
        'correct = false\nmisconception = "Misconception B of dict-restart."', "correct = true", 1
    )
    (bank_dir / "persistence.toml").write_text(f"[[questions]]{first}[[questions]]{rest}")
    bank = load_bank(bank_dir)
    assert bank.get("dict-restart").answer.key == "b"


def test_past_attempts_keep_the_questions_they_were_served(
    settings: Settings, client: TestClient, student: QuizClient, bank_dir: Path, store: QuizStore
) -> None:
    done = student.take("persistence", [True, False, True])
    open_path = student.start("persistence")  # open, one answer given
    assert student.answer(open_path, right=True).status_code == 303
    served = store.attempt(1)
    assert served is not None and all(a.version for a in served.answers)
    _change_bank(bank_dir)
    with TestClient(create_app(settings), cookies=client.cookies, follow_redirects=False) as http:
        later = QuizClient(http)
        assert http.get("/attempts/2").headers["location"] == "/attempts/2/questions/2"
        second = open_path.replace("/questions/1", "/questions/2")
        assert later.answer(second, right=True).status_code == 303  # sqlite-commit, as served
        assert "Right!" in http.get(second).text
        assert "Right!" in http.get(open_path).text
        third = open_path.replace("/questions/1", "/questions/3")
        assert later.answer(third, right=True).status_code == 303
        results = http.get(done + "/results")
        review = http.get(done + "/review")
        assert results.status_code == review.status_code == 200
        assert "2 / 3" in _text(results.text)
        shown = _text(review.text)
        assert shown.count("Right!") == 2 and shown.count("Not quite.") == 1  # as scored
        assert "Answer: Right answer of dict-restart" in shown
        assert "Right answer of sqlite-commit" in shown  # removed from the bank, still shown
        form = {"csrf_token": later.csrf(), "token": INSTRUCTOR_TOKEN}
        assert http.post("/instructor/login", data=form).status_code == 303
        stats = _text(http.get("/instructor").text)
        assert "dict-restart · persistence easy 2 2 100%" in stats  # answers on the old key
        assert "sqlite-commit · (retired) 2 2 50%" in stats
        assert "wal-crash · persistence hard 2 0 100%" in stats  # unchanged question
    attempt = store.attempt(1)
    assert attempt is not None and attempt.score == 2


def test_a_new_attempt_gets_the_changed_bank(
    settings: Settings, client: TestClient, bank_dir: Path, store: QuizStore
) -> None:
    _change_bank(bank_dir)
    with TestClient(create_app(settings), follow_redirects=False) as http:
        path = QuizClient(http).start("persistence")
        page = http.get(path).text
        right = next(
            label
            for label, text in re.findall(
                r'for="choice-([A-D])"><span class="letter">[A-D]\.</span> (.*?)</label>', page
            )
            if text.startswith("Wrong one of")
        )
        assert (
            http.post(
                path, data={"csrf_token": QuizClient(http).csrf(), "choice": right}
            ).status_code
            == 303
        )
        assert "Right!" in http.get(path).text
    attempt = store.attempt(1)
    assert attempt is not None and [a.question_id for a in attempt.answers] == [
        "dict-restart",
        "wal-crash",
    ]
    assert attempt.answers[0].version == load_bank(bank_dir).get("dict-restart").version


def test_a_database_made_before_versions_gains_the_column(
    database_url: str, settings: Settings
) -> None:
    store = QuizStore(database_url)
    attempt = store.start_attempt(
        student_id=store.add_student("Ada"), questions=[("wal-crash", "abcd")]
    )
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE quiz_answers DROP COLUMN version")
    store.close()
    reopened = QuizStore(database_url)
    try:
        old = reopened.attempt(attempt)
        assert old is not None and old.answers[0].version is None
    finally:
        reopened.close()
    with TestClient(create_app(settings)) as http:
        assert http.get("/").status_code == 200


def test_regrade_moves_answers_to_the_corrected_key(
    settings: Settings, client: TestClient, student: QuizClient, bank_dir: Path, store: QuizStore
) -> None:
    """dict-restart's key is corrected from a to b: an answer of a loses its mark, one of b
    gains it, whose scores changed is reported, and the review follows the score."""
    student.take("persistence", [True, True, True], name="Ada")
    with TestClient(client.app, follow_redirects=False) as second:
        QuizClient(second).take("persistence", [False, True, True], name="Bob")
    bob = store.attempt(2)
    assert bob is not None and bob.answers[0].question_id == "dict-restart"
    bob_chose_b = bob.answers[0].chosen == "b"
    _change_bank(bank_dir)
    with TestClient(create_app(settings), cookies=client.cookies, follow_redirects=False) as http:
        form = {"csrf_token": QuizClient(http).csrf(), "token": INSTRUCTOR_TOKEN}
        assert http.post("/instructor/login", data=form).status_code == 303
        done = http.post("/instructor/regrade", data={"csrf_token": form["csrf_token"]})
        assert done.status_code == 200
        text = _text(done.text)
        assert "regraded against the bank's version" in text and "Ada 1 3 / 3 2 / 3" in text
        assert ("Bob 2 2 / 3 3 / 3" in text) == bob_chose_b
        assert "Not regraded" in text and "sqlite-commit" in text  # it left the bank
        review = _text(http.get("/attempts/1/review").text)
        assert review.count("Right!") == 2 and review.count("Not quite.") == 1
        assert re.search(r"The answer is [A-D]: Wrong one of dict-restart", review)
    ada = store.attempt(1)
    assert ada is not None and ada.score == 2 and ada.answers[0].correct is False
    again = store.regrade(load_bank(bank_dir))
    assert again.moved == 0 and again.changes == ()


def test_the_regrade_command_says_whose_score_changed(
    database_url: str, bank_dir: Path, store: QuizStore
) -> None:
    old = load_bank(bank_dir).get("dict-restart")
    store.keep_versions([old])
    ada = store.start_attempt(
        student_id=store.add_student("Ada"), questions=[("dict-restart", "abcd", old.version)]
    )
    store.record_answer(attempt_id=ada, position=1, chosen="b", correct=False)
    _change_bank(bank_dir)
    env = {"PERSISTLAB_QUIZ_DIR": str(bank_dir)}
    result = CliRunner().invoke(quiz, ["regrade", "--db", database_url], env=env)
    assert result.exit_code == 0, result.output
    assert "Regraded 1 answers" in result.output and "Ada (attempt 1): 0 -> 1 of 1" in result.output
