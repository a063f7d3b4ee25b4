"""`persistlab quiz` through click's CliRunner, typed answers fed on standard input."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from grader.course import Course
from grader.quiz import terminal
from grader.quiz.bank import load_bank
from grader.quiz.commands import quiz
from grader.quiz.grading import QuizChoice
from grader.quiz.store import QuizStore
from grader.quiz.web import Settings, create_app
from tests.quiz.conftest import INSTRUCTOR_TOKEN, assert_in_order


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'terminal.db'}"


@pytest.fixture
def bank_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Options in bank order, so A is the right one and B, C, D the wrong ones."""
    monkeypatch.setattr(terminal, "shuffled_order", lambda question, rng: "abcd")


def _run(bank_dir: Path, *args: str, answers: str) -> Result:
    return CliRunner().invoke(
        quiz, list(args), input=answers, env={"PERSISTLAB_QUIZ_DIR": str(bank_dir)}
    )


def test_topic_quiz_gives_feedback_in_order_and_stores_the_attempt(
    bank_dir: Path, db_url: str, bank_order: None
) -> None:
    result = _run(bank_dir, "--topic", "persistence", "--db", db_url, answers="Ada\nA\nc\nA\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Persistence: 3 questions." in out
    assert "Question 1 of 3 · easy" in out and "    notes[1] = 'hi'" in out
    assert out.count("Right!") == 2 and out.count("Not quite.") == 1
    wrong = out[out.index("Not quite.") :]
    assert_in_order(
        wrong,
        "You chose C: Wrong two of sqlite-commit",
        "The answer is A: Right answer of sqlite-commit",
        "Misconception behind C: Misconception C of sqlite-commit.",
        "Hint: Hint for sqlite-commit.",
        "Worked solution:\n  1. First look at `sqlite-commit`.\n  2. Then pick the right one.",
        "Answer: Right answer of sqlite-commit",
        "Check yourself: Say why",
        "Linked step: step 1: Keep notes in a dict (folder 01-notes-dict)",
    )
    assert "Score: 2 / 3 (67%)" in out and "terminal.db" in out
    assert_in_order(
        out,
        "Score: 2 / 3 (67%)",
        "Steps to revisit, for the questions you missed:\n"
        "  step 1: Keep notes in a dict (folder 01-notes-dict), for question 2\n",
        "Answers are stored in",
    )
    store = QuizStore(db_url)
    attempt = store.attempt(1)
    store.close()
    assert attempt is not None and attempt.student.name == "Ada" and attempt.score == 2
    assert [(a.question_id, a.chosen) for a in attempt.answers] == [
        ("dict-restart", "a"), ("sqlite-commit", "c"), ("wal-crash", "a"),
    ]  # fmt: skip
    bank = load_bank(bank_dir)
    assert [a.version for a in attempt.answers] == [
        bank.get(a.question_id).version for a in attempt.answers
    ]


def test_bad_letters_are_asked_again(bank_dir: Path, db_url: str, bank_order: None) -> None:
    args = ("--topic", "persistence", "--level", "easy", "--db", db_url, "--name", "Ada")
    result = _run(bank_dir, *args, answers="E\n\nb\n")
    assert result.exit_code == 0, result.output
    assert "Persistence (easy): 1 question. Answer" in result.output
    assert "'E' is not an option: choose one of A, B, C, D." in result.output
    assert "Misconception behind B" in result.output and "Score: 0 / 1" in result.output
    assert "  step 1: Keep notes in a dict (folder 01-notes-dict), for question 1" in result.output


def test_a_perfect_score_has_no_step_to_revisit(
    bank_dir: Path, db_url: str, bank_order: None
) -> None:
    args = ("--topic", "persistence", "--level", "easy", "--db", db_url, "--name", "Ada")
    result = _run(bank_dir, *args, answers="a\n")
    assert result.exit_code == 0, result.output
    assert "Score: 1 / 1" in result.output and "Steps to revisit" not in result.output
    assert "You missed no question, so there is no step to revisit." in result.output


def test_stopping_keeps_the_answers_given(bank_dir: Path, db_url: str, bank_order: None) -> None:
    result = _run(bank_dir, "--db", db_url, "--name", "Ada", "--count", "4", answers="a\nq\n")
    assert result.exit_code == 0, result.output
    assert "Self-check: 4 questions." in result.output
    assert "Stopped after 1 answer; attempt 1 is kept." in result.output
    store = QuizStore(db_url)
    attempt = store.attempt(1)
    store.close()
    assert attempt is not None and not attempt.finished
    assert [a.chosen for a in attempt.answers] == ["a", None, None, None]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--topic", "nope"), "There is no quiz 'nope'"),
        (("--level", "tricky"), "'tricky' is not one of 'easy', 'medium', 'hard'"),
        (("--count", "0"), "0 is not in the range x>=1"),
    ],
)
def test_bad_options_say_what_is_wrong(
    bank_dir: Path, db_url: str, args: tuple[str, ...], message: str
) -> None:
    result = _run(bank_dir, *args, "--db", db_url, "--name", "Ada", answers="")
    assert result.exit_code != 0 and message in result.output


def test_terminal_answers_show_in_the_web_statistics(
    bank_dir: Path, db_url: str, bank_order: None
) -> None:
    _run(bank_dir, "--topic", "persistence", "--db", db_url, "--name", "Ada", answers="a\nb\na\n")
    settings = Settings(database_url=db_url, quiz_dir=bank_dir, instructor_token=INSTRUCTOR_TOKEN)
    bearer = {"Authorization": f"Bearer {INSTRUCTOR_TOKEN}"}
    with TestClient(create_app(settings)) as client:
        lines = client.get("/instructor/students.csv", headers=bearer).text.splitlines()
    assert lines[1] == "1,Ada,1,1,0.667,0.667"


def test_run_quiz_shuffles_with_the_given_rng(
    bank_dir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.quiz.bank import load_bank

    monkeypatch.setattr("click.prompt", lambda text, value_proc: value_proc("q"))  # stop at once
    store = QuizStore(db_url)
    try:
        orders = set()
        for seed in range(8):
            attempt_id = terminal.run_quiz(
                bank=load_bank(bank_dir), store=store, choice=QuizChoice(topic="persistence"),
                name="Ada", steps={}, rng=random.Random(seed),
            )  # fmt: skip
            attempt = store.attempt(attempt_id)
            assert attempt is not None
            orders.add(attempt.answers[0].option_order)
    finally:
        store.close()
    assert len(orders) > 1 and all(sorted(order) == list("abcd") for order in orders)


def test_export_writes_the_bank(tmp_path: Path) -> None:
    out = tmp_path / "bank.gift"
    result = CliRunner().invoke(quiz, ["export", "--format", "gift", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}." in result.output and "$CATEGORY:" in out.read_text()


def test_a_step_quiz_asks_exactly_the_questions_linked_to_the_step(db_url: str, course: Course) -> None:
    step = course.step(2)
    result = CliRunner().invoke(quiz, ["--step", "02-fastapi-app/", "--db", db_url, "--name", "Ada"],
                                input="a\n" * len(step.quiz), env={"PERSISTLAB_QUIZ_DIR": ""})
    assert result.exit_code == 0, result.output
    assert f"Step 2, Create the FastAPI app: {len(step.quiz)} questions." in result.output
    store = QuizStore(db_url)
    attempt = store.attempt(1)
    store.close()
    assert attempt is not None and attempt.finished and attempt.topic == "step-2"
    assert sorted(a.question_id for a in attempt.answers) == sorted(step.quiz)
    mixed = CliRunner().invoke(quiz, ["--step", "2", "--level", "easy", "--db", db_url])
    assert mixed.exit_code == 2 and "--step asks exactly the step's questions" in mixed.output
