"""`persistlab quiz` through click's CliRunner, typed answers fed on standard input."""

from __future__ import annotations

import random
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from grader.course import Course
from grader.quiz import grading, terminal
from grader.quiz.bank import load_bank
from grader.quiz.commands import quiz, serve
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
    monkeypatch.setattr(grading, "shuffled_order", lambda question, rng: "abcd")


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
        (("--name", " \t "), "Give a display name of 1 to 60 characters."),
        (("--name", "x" * 61), "Give a display name of 1 to 60 characters."),
        (("--topic", "persistence", "--level", "easy", "--count", "1", "--name", "A\x00"),
         "Give a display name"),
    ],
)
def test_bad_options_say_what_is_wrong_and_create_nothing(
    bank_dir: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    """The database (and its folder) is only made once the quiz can start."""
    db_url = f"sqlite:///{tmp_path / 'new' / 'quiz.db'}"
    result = _run(bank_dir, "--name", "Ada", *args, "--db", db_url, answers="")
    assert result.exit_code != 0 and message in result.output
    assert not (tmp_path / "new").exists()


def test_a_closed_quiz_creates_no_database(bank_dir: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[defaults]\ntimeclose = 2020-01-01T00:00:00Z\n")
    result = CliRunner().invoke(
        quiz, ["--name", "Ada", "--db", f"sqlite:///{tmp_path / 'new' / 'quiz.db'}"],
        env={"PERSISTLAB_QUIZ_DIR": str(bank_dir), "PERSISTLAB_QUIZ_SETTINGS": str(rules)},
    )  # fmt: skip
    assert result.exit_code == 1 and "Self-check: This quiz closed at" in result.output
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("command", [["students"], ["regrade"], ["merge", "1", "2"]])
def test_the_instructors_commands_need_an_existing_database(
    bank_dir: Path, tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "typo" / "quiz.db"
    result = _run(bank_dir, *command, "--db", f"sqlite:///{missing}", answers="")
    assert result.exit_code == 1, result.output
    assert result.output == (
        f"Error: There is no quiz database at {missing} (nothing was created there). "
        "Give the one the quiz server uses with --db or $PERSISTLAB_DATABASE_URL.\n"
    )
    assert not missing.parent.exists()
    other_app = tmp_path / "notes.db"  # a database, but not the quiz's
    with sqlite3.connect(other_app) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    before = other_app.read_bytes()
    result = _run(bank_dir, *command, "--db", f"sqlite:///{other_app}", answers="")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {other_app} has no quiz tables, so no quiz was")
    assert other_app.read_bytes() == before and sorted(tmp_path.iterdir()) == [other_app, bank_dir]


def test_a_damaged_database_is_one_clear_line_and_stays_as_it_was(
    bank_dir: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / "quiz.db"
    damaged.write_bytes(b"not a database, just bytes " * 200)
    before = damaged.read_bytes()
    db = ["--db", f"sqlite:///{damaged}"]
    for command, args in [
        (quiz, ["--name", "Ada", *db]),
        (quiz, ["students", *db]),
        (quiz, ["regrade", *db]),
        (quiz, ["merge", "1", "2", *db]),
        (serve, db),
    ]:
        result = CliRunner().invoke(command, args, env={"PERSISTLAB_QUIZ_DIR": str(bank_dir)})
        assert result.exit_code == 1
        assert result.output == (
            f"Error: Cannot open the quiz database {damaged}: file is not a database\n"
        ), args
    assert damaged.read_bytes() == before and sorted(tmp_path.iterdir()) == [damaged, bank_dir]


def test_terminal_answers_show_in_the_web_statistics(
    bank_dir: Path, db_url: str, bank_order: None
) -> None:
    _run(bank_dir, "--topic", "persistence", "--db", db_url, "--name", "Ada", answers="a\nb\na\n")
    settings = Settings(database_url=db_url, quiz_dir=bank_dir, instructor_token=INSTRUCTOR_TOKEN)
    bearer = {"Authorization": f"Bearer {INSTRUCTOR_TOKEN}"}
    with TestClient(create_app(settings)) as client:
        lines = client.get("/instructor/students.csv", headers=bearer).text.splitlines()
    assert lines[1] == "1,Ada,1,1,0.667,0.667"


def test_the_terminal_holds_keys_and_score_a_web_attempt_still_asks(
    bank_dir: Path, db_url: str, bank_order: None
) -> None:
    settings = Settings(database_url=db_url, quiz_dir=bank_dir)
    with TestClient(create_app(settings)) as client:  # the self-check, left open on the web
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
        assert csrf is not None
        form = {"csrf_token": csrf.group(1), "name": "Ada", "quiz": "self-check", "level": ""}
        assert client.post("/attempts", data=form, follow_redirects=False).status_code == 303
    args = ("--topic", "persistence", "--db", db_url, "--name", "ada")
    result = _run(bank_dir, *args, answers="a\nb\na\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Its feedback waits until you finish your other open") == 3
    assert "Your score waits until you finish" in result.output
    for told in ("Right!", "Not quite.", "The answer is", "Score:", "Worked solution"):
        assert told not in result.output


@pytest.mark.parametrize("elsewhere", ["answer", "submit"])
def test_an_answer_given_elsewhere_first_stands_and_the_terminal_says_so(
    bank_dir: Path, db_url: str, bank_order: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], elsewhere: str,
) -> None:  # fmt: skip
    """The attempt is open in a browser too: what the browser stored first stands, and the
    terminal shows no feedback for an answer it did not store."""
    store = QuizStore(db_url)

    def meanwhile(text: str, value_proc: Any) -> str:
        if elsewhere == "answer":  # the browser answers question 1, wrong
            assert store.record_answer(attempt_id=1, position=1, chosen="b", correct=False)
        else:
            assert store.close_attempt(1, time.time())
        return value_proc("a")  # the right option

    monkeypatch.setattr("click.prompt", meanwhile)
    try:
        terminal.run_quiz(
            bank=load_bank(bank_dir), store=store, choice=QuizChoice(topic="persistence"),
            name="Ada", steps={},
        )  # fmt: skip
        attempt = store.attempt(1)
    finally:
        store.close()
    assert attempt is not None and attempt.answers[0].chosen == ("b" if elsewhere == "answer" else None)
    told = capsys.readouterr().out
    assert "This answer was not saved: question 1 of attempt 1 was answered elsewhere" in told
    assert "Right!" not in told and "Question 2" not in told


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
                name=f"Ada {seed}", steps={}, rng=random.Random(seed),
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


@pytest.mark.parametrize("fmt", ["gift", "moodle", "qti", "canvas"])
def test_an_export_that_cannot_be_written_is_one_line_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    folder = CliRunner().invoke(quiz, ["export", "--format", fmt, "--out", str(tmp_path)])
    assert folder.exit_code == 1
    assert folder.output == f"Error: Cannot write {tmp_path}: it is a folder: give a file name.\n"
    out = tmp_path / "bank.out"
    out.write_bytes(b"the last good export")

    def disk_full(text: str, *args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("zipfile.ZipFile.writestr", disk_full)  # qti, canvas
    monkeypatch.setattr(Path, "write_bytes", disk_full)  # moodle
    monkeypatch.setattr(Path, "write_text", disk_full)  # gift
    full = CliRunner().invoke(quiz, ["export", "--format", fmt, "--out", str(out)])
    assert full.exit_code == 1
    assert full.output == f"Error: Cannot write {out}: No space left on device.\n"
    assert out.read_bytes() == b"the last good export" and sorted(tmp_path.iterdir()) == [out]


def test_names_are_kept_as_the_web_keeps_them(
    bank_dir: Path, db_url: str, bank_order: None
) -> None:
    args = ("--topic", "persistence", "--level", "easy", "--db", db_url)
    assert _run(bank_dir, *args, "--name", "Ada  Lovelace", answers="a\n").exit_code == 0
    again = _run(bank_dir, *args, answers="  ada   LOVELACE \na\n")
    assert again.exit_code == 0, again.output
    store = QuizStore(db_url)
    try:
        names = {a.student.name for a in store.all_attempts()}
        ids = {a.student_id for a in store.all_attempts()}
    finally:
        store.close()
    assert names == {"ada LOVELACE"} and len(ids) == 1  # one student, the latest spelling
    for bad in ("x" * 61, "Ada\x07"):
        refused = _run(bank_dir, *args, "--name", bad, answers="")
        assert refused.exit_code != 0
        assert "Give a display name of 1 to 60 characters." in refused.output


def test_the_terminal_knows_a_name_typed_another_way(
    bank_dir: Path, db_url: str, bank_order: None
) -> None:
    args = ("--topic", "persistence", "--level", "easy", "--db", db_url)
    for name in ("Jose\u0301", "JOS\u00c9", "\uff2a\uff4f\uff53\u00e9"):
        result = _run(bank_dir, *args, "--name", name, answers="a\n")
        assert result.exit_code == 0, result.output
    store = QuizStore(db_url)
    try:
        students = {(a.student_id, a.student.name) for a in store.all_attempts()}
    finally:
        store.close()
    assert students == {(1, "\uff2a\uff4f\uff53\u00e9")}  # one student, the latest spelling


def test_a_stopped_attempt_goes_on_where_it_stopped(
    bank_dir: Path, db_url: str, bank_order: None
) -> None:
    args = ("--topic", "persistence", "--db", db_url, "--name", "Ada")
    assert "Stopped after 1 answer;" in _run(bank_dir, *args, answers="a\nq\n").output
    result = _run(bank_dir, *args, answers="b\na\n")
    assert result.exit_code == 0, result.output
    assert "you have attempt 1 open, at question 2 of 3" in result.output
    assert "Question 1 of 3" not in result.output and "Score: 2 / 3" in result.output
    store = QuizStore(db_url)
    try:
        assert [a.id for a in store.all_attempts()] == [1]
    finally:
        store.close()


def _with_settings(bank_dir: Path, tmp_path: Path, text: str, *args: str, answers: str) -> Result:
    rules = tmp_path / "quiz-settings.toml"
    rules.write_text(text)
    env = {"PERSISTLAB_QUIZ_DIR": str(bank_dir), "PERSISTLAB_QUIZ_SETTINGS": str(rules)}
    return CliRunner().invoke(quiz, list(args), input=answers, env=env)


def test_the_terminal_keeps_the_instructors_settings(
    bank_dir: Path, db_url: str, bank_order: None, tmp_path: Path
) -> None:
    args = ("--topic", "persistence", "--db", db_url, "--name", "Ada")
    deferred = "[quizzes.persistence]\nattempts = 1\nfeedback = 'deferred'\n"
    result = _with_settings(bank_dir, tmp_path, deferred, *args, answers="a\nb\na\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("Question 3 of 3") < out.index("Not quite.")  # feedback at the end
    assert out.index("Misconception behind B") < out.index("Score: 2 / 3")
    again = _with_settings(bank_dir, tmp_path, deferred, *args, answers="a\n")
    assert again.exit_code != 0
    assert "Persistence: You have used all 1 attempts allowed at this quiz." in again.output
    closed = "[defaults]\ntimeclose = 2020-01-01T00:00:00Z\n"
    late = _with_settings(bank_dir, tmp_path, closed, "--db", db_url, "--name", "Bo", answers="")
    assert (
        late.exit_code != 0
        and "Self-check: This quiz closed at 2020-01-01 00:00 UTC" in late.output
    )


def test_the_terminal_keeps_the_time_limit(
    bank_dir: Path, db_url: str, bank_order: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, offset = time.time, [0.0]
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])
    asked = terminal._ask

    def slow(order: str) -> str | None:
        offset[0] += 40  # each answer takes the student 40 s
        return asked(order)

    monkeypatch.setattr(terminal, "_ask", slow)
    args = ("--topic", "persistence", "--db", db_url, "--name", "Ada")
    result = _with_settings(
        bank_dir, tmp_path, "[defaults]\ntimelimit = 1\n", *args, answers="a\na\na\n"
    )
    assert result.exit_code == 0, result.output
    assert "This attempt takes answers until" in result.output
    assert "so this answer was not saved" in result.output and "Score: 1 / 3" in result.output
    store = QuizStore(db_url)
    try:
        attempt = store.attempt(1)
    finally:
        store.close()
    assert attempt is not None and attempt.finished
    assert [a.chosen for a in attempt.answers] == ["a", None, None]


def test_export_writes_the_asked_number_of_variants(tmp_path: Path) -> None:
    out = tmp_path / "bank.xml"
    args = ["export", "--format", "moodle", "--out", str(out), "--variants", "2"]
    result = CliRunner().invoke(quiz, args)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "<idnumber>delete-twice-v2</idnumber>" in text
    assert "<idnumber>delete-twice-v3</idnumber>" not in text
    refused = CliRunner().invoke(quiz, [*args[:-1], "0"])
    assert refused.exit_code == 2 and "0 is not in the range 1<=x<=50" in refused.output


def test_a_resumed_variant_question_shows_the_values_it_was_served(db_url: str) -> None:
    from grader.quiz.answers import DEFAULT_POLICY
    from grader.quiz.versions import Versions

    bank = load_bank()
    question = next(q for q in bank.questions if q.params and "{{" in q.stem)
    served = grading.serve(question, random.Random(7))
    store = QuizStore(db_url)
    try:
        started = store.begin_attempt(name="Ada", questions=[served], topic=None, level=None,
                                      policy=DEFAULT_POLICY)
        [(position, shown, order)] = terminal._served(store, Versions(bank, store), started.attempt_id)
    finally:
        store.close()
    assert (position, order) == (1, served[1])
    assert shown.stem == question.render_stored(served[3]).stem and "{{" not in shown.stem


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
