"""The real question bank, and what the loader and lint_bank say about broken ones."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from grader.course import Course, Step, load_course
from grader.quiz.bank import (
    LEVELS,
    Bank,
    BankError,
    Question,
    gives_itself_away,
    lint_bank,
    load_bank,
)


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


def test_real_bank_is_large_and_lint_clean(bank: Bank) -> None:
    assert len(bank.questions) >= 45
    assert lint_bank(bank, load_course()) == []


def test_real_bank_mix(bank: Bank) -> None:
    levels = Counter(q.difficulty for q in bank.questions)
    assert all(levels[level] >= 12 for level in LEVELS), levels
    assert sum(q.code is not None for q in bank.questions) >= 10
    keys = Counter(q.answer.key for q in bank.questions)
    assert max(keys.values()) - min(keys.values()) <= len(bank.questions) // 8, keys
    assert all(2 <= len(q.solution) <= 4 for q in bank.questions)
    assert len(bank.topics()) >= 6


def test_the_bank_covers_what_outlives_a_process(bank: Bank) -> None:
    """Containers, crashes, backups, concurrency, pools, loading, migrations, retries, caches."""
    topics = Counter(q.topic for q in bank.questions)
    later = ("containers", "durability", "backups", "concurrency", "connections", "orm-loading",
             "migrations", "retries", "caching")  # fmt: skip
    assert {topic: topics[topic] for topic in later if topics[topic] < 2} == {}
    assert len(bank.questions) >= 100


def test_get_option_and_answer(bank: Bank) -> None:
    question = bank.get("autoincrement-no-reuse").render({"count": 3, "text": "buy milk"})
    assert question.answer.correct and question.answer.text.startswith("4")
    assert question.option(question.answer.key) is question.answer
    with pytest.raises(KeyError):
        question.option("e")
    with pytest.raises(KeyError):
        bank.get("no-such-question")


def test_select_filters_and_counts(bank: Bank) -> None:
    hard_sqlite = bank.select(topic="sqlite3", level="hard")
    assert hard_sqlite and all(q.topic == "sqlite3" and q.difficulty == "hard" for q in hard_sqlite)
    assert bank.select(count=3) == list(bank.questions[:3])
    assert bank.select(rng=random.Random(7)) == bank.select(rng=random.Random(7))
    assert bank.select(rng=random.Random(7)) != list(bank.questions)
    with pytest.raises(ValueError, match="level"):
        bank.select(level="impossible")
    with pytest.raises(ValueError, match="topic"):
        bank.select(topic="astrology")


def test_self_check_spreads_levels_easiest_first(bank: Bank) -> None:
    quiz = bank.self_check(10, rng=random.Random(1))
    levels = [q.difficulty for q in quiz]
    assert Counter(levels) == {"easy": 4, "medium": 3, "hard": 3}
    assert levels == sorted(levels, key=LEVELS.index)
    assert len({q.id for q in quiz}) == 10
    assert quiz != bank.self_check(10, rng=random.Random(2))


def test_self_check_fills_from_other_levels_when_one_runs_short(bank: Bank) -> None:
    easy = bank.select(level="easy")[:1]
    small = Bank(questions=tuple(easy + bank.select(level="medium")[:5]))
    quiz = small.self_check(6, rng=random.Random(0))
    assert Counter(q.difficulty for q in quiz) == {"easy": 1, "medium": 5}


# Broken banks, written as TOML to tmp_path.


def _question(qid: str = "q-one", **changes: Any) -> dict[str, Any]:
    texts = ("It is gone", "It is kept", "It is doubled", "It is renamed")
    question: dict[str, Any] = {
        "id": qid,
        "topic": "persistence",
        "difficulty": "easy",
        "stem": "What happens to the dict?",
        "solution": ["First step.", "Second step."],
        "final_answer": "It is gone.",
        "quick_check": "Check it.",
        "hint": "Think.",
        "steps": ["notes-dict"],
        "options": [
            {"key": key, "text": text, "correct": key == "a"}
            | ({} if key == "a" else {"misconception": f"Believes {key}."})
            for key, text in zip("abcd", texts)
        ],
    }
    question.update(changes)
    return question


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _write(
    folder: Path,
    *questions: dict[str, Any],
    name: str = "persistence.toml",
    title: Any = "Persistence",
) -> Path:
    lines = [] if title is None else [f"title = {_toml_value(title)}"]
    for question in questions:
        lines.append("[[questions]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in question.items() if k != "options"]
        for option in question.get("options", []):
            lines.append("[[questions.options]]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in option.items()]
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _course(
    slugs: tuple[str, ...] = ("notes-dict", "fastapi-app"), **quiz: tuple[str, ...]
) -> Course:
    steps = tuple(
        Step(n, slug, slug, f"0{n}-{slug}", 1, "checks", (), quiz.get(slug.replace("-", "_"), ()))
        for n, slug in enumerate(slugs, start=1)
    )
    return Course(title="mini", steps=steps)


def _lint(folder: Path, course: Course | None = None) -> list[str]:
    return lint_bank(load_bank(folder), course or _course(("notes-dict",), notes_dict=("q-one",)))


def _with_option(index: int, **changes: Any) -> dict[str, Any]:
    question = _question()
    option = question["options"][index] | changes
    question["options"][index] = {k: v for k, v in option.items() if v is not None}
    return question


def test_valid_mini_bank_has_no_problems(tmp_path: Path) -> None:
    assert _lint(_write(tmp_path, _question())) == []


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    _write(tmp_path, _question(), name="a.toml")
    _write(tmp_path, _question(), name="b.toml")
    assert _lint(tmp_path) == ["question 'q-one': id is used more than once"]


def _without_misconception() -> dict[str, Any]:
    question = _question()
    del question["options"][2]["misconception"]
    return question


BROKEN = [
    pytest.param(
        _with_option(1, correct=True, misconception=None),
        "question 'q-one': has 2 correct options, needs exactly 1",
        id="two-keys",
    ),
    pytest.param(
        _without_misconception(),
        "question 'q-one': wrong option c has no misconception",
        id="missing-misconception",
    ),
    pytest.param(
        _question(steps=["notes-dict", "warp-drive"]),
        "question 'q-one': links to step 'warp-drive', which the course does not have",
        id="unknown-step",
    ),
    pytest.param(
        _with_option(0, text="It is gone forever, since it only ever lived in RAM"),
        "question 'q-one': the correct option gives itself away by its length",
        id="give-away-key",
    ),
    pytest.param(
        _with_option(3, text="it is  GONE"),
        "question 'q-one': two options have the same text",
        id="same-text",
    ),
    pytest.param(
        _question(options=_question()["options"][:3]),
        "question 'q-one': has 3 options, needs 4",
        id="three-options",
    ),
    pytest.param(
        _question(solution=[]),
        "question 'q-one': solution needs one or more non-empty steps",
        id="empty-solution",
    ),
    pytest.param(
        _with_option(0, misconception="Knows it."),
        "question 'q-one': correct option a should have no misconception",
        id="key-with-misconception",
    ),
]


@pytest.mark.parametrize(("question", "problem"), BROKEN)
def test_lint_reports_broken_question(tmp_path: Path, question: dict, problem: str) -> None:
    assert _lint(_write(tmp_path, question)) == [problem]


@pytest.mark.parametrize("qid", ["Q_One", "2-phase", "trailing-", "two--dashes"])
def test_bad_id_is_reported(tmp_path: Path, qid: str) -> None:
    course = _course(("notes-dict",), notes_dict=(qid,))
    problems = lint_bank(load_bank(_write(tmp_path, _question(qid))), course)
    assert problems == [
        f"question {qid!r}: id is not kebab-case (lowercase words joined by '-', a letter first)"
    ]


def test_course_quiz_lists_must_match_links_both_ways(tmp_path: Path) -> None:
    _write(tmp_path, _question(), _question("q-two", stem="Second?", steps=["fastapi-app"]))
    course = _course(notes_dict=("q-one", "q-two", "q-ghost"))
    assert _lint(tmp_path, course) == [
        "course.toml step 1 (notes-dict): quiz lists 'q-ghost', which the bank lacks",
        (
            "course.toml step 1 (notes-dict): quiz lists 'q-two', but that question does not "
            "link to 'notes-dict'"
        ),
        (
            "question 'q-two': links to 'fastapi-app', but course.toml step 2 (fastapi-app) "
            "does not list it in quiz"
        ),
    ]


def test_a_step_without_a_linked_question_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, _question())
    assert _lint(tmp_path, _course(notes_dict=("q-one",))) == [
        (
            "course.toml step 2 (fastapi-app): no question links to 'fastapi-app'; every step "
            "needs at least one, to point a student who missed it back at the step"
        )
    ]


def test_every_real_step_has_questions(bank: Bank) -> None:
    for step in load_course().steps:
        linked = [q.id for q in bank.questions if step.slug in q.steps]
        assert len(linked) >= 3 and sorted(linked) == sorted(step.quiz), step.slug


def test_giveaway_rule_needs_key_longest_and_far_above_mean() -> None:
    question = load_bank().get("dict-after-restart")

    def with_texts(*texts: str) -> Question:
        options = tuple(replace(o, text=t) for o, t in zip(question.options, texts))
        return replace(question, options=options)

    assert question.answer.key == "a"
    assert gives_itself_away(with_texts("x" * 31, "y" * 20, "z" * 20, "w" * 20))
    assert not gives_itself_away(with_texts("x" * 29, "y" * 20, "z" * 20, "w" * 20))
    assert not gives_itself_away(with_texts("x" * 40, "y" * 41, "z" * 5, "w" * 5))


# Files the loader must refuse, with the file and question named in the message.

LOADER = [
    pytest.param(_question(difficulty=3), "'difficulty' must be a str, got int", id="int-level"),
    pytest.param(_question(difficulty="tricky"), "difficulty 'tricky'", id="unknown-level"),
    pytest.param(
        _with_option(1, correct="no"), "option b: 'correct' must be a bool", id="str-bool"
    ),
    pytest.param(_question(steps="notes-dict"), "'steps' must be a list", id="steps-str"),
    pytest.param(_question(solution=["ok", 2]), "'solution' must be a list of strings", id="list"),
    pytest.param(_question(colour="blue"), "unknown field(s) colour", id="unknown-field"),
    pytest.param(_with_option(2, key="e"), "option key 'e'", id="bad-key"),
]


@pytest.mark.parametrize(("question", "message"), LOADER)
def test_loader_rejects_wrong_types(tmp_path: Path, question: dict, message: str) -> None:
    _write(tmp_path, question)
    with pytest.raises(BankError) as error:
        load_bank(tmp_path)
    assert message in str(error.value)
    assert "persistence.toml" in str(error.value) and "'q-one'" in str(error.value)


def test_loader_rejects_missing_field(tmp_path: Path) -> None:
    question = _question()
    del question["hint"]
    with pytest.raises(BankError, match="question 'q-one': 'hint' must be a str, got nothing"):
        load_bank(_write(tmp_path, question))


def test_loader_rejects_non_utf8(tmp_path: Path) -> None:
    _write(tmp_path, _question())
    path = tmp_path / "persistence.toml"
    path.write_bytes(path.read_bytes().replace(b"What", "Wh\u00e4t".encode("latin-1")))
    with pytest.raises(BankError, match="Cannot read .*persistence.toml.*utf-8"):
        load_bank(tmp_path)


def test_loader_rejects_invalid_toml(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('[[questions]]\nid = "q-one\n', encoding="utf-8")
    with pytest.raises(BankError, match="Cannot read .*broken.toml"):
        load_bank(tmp_path)


def test_loader_rejects_file_without_questions_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(BankError, match="No quiz files"):
        load_bank(tmp_path)
    (tmp_path / "empty.toml").write_text("title = 'nothing here'\n", encoding="utf-8")
    with pytest.raises(BankError, match="empty.toml: expected one or more"):
        load_bank(tmp_path)


def test_topics_have_titles_written_properly(bank: Bank, tmp_path: Path) -> None:
    assert bank.title("crud-http") == "CRUD over HTTP"
    assert bank.title("sqlite3") == "Python's sqlite3 module"
    assert set(bank.titles) == set(bank.topics())
    untitled = load_bank(_write(tmp_path, _question(), title=None))
    assert untitled.title("persistence") == "Persistence"  # made from the name meanwhile
    problems = lint_bank(untitled, _course(("notes-dict",), notes_dict=("q-one",)))
    assert problems == ["topic 'persistence': no title (title = \"...\" in its quiz file)"]


@pytest.mark.parametrize("title", ["", "   ", 3, "x" * 61])
def test_a_bad_title_is_refused(tmp_path: Path, title: Any) -> None:
    with pytest.raises(BankError, match="title must be a text of 1 to 60 characters"):
        load_bank(_write(tmp_path, _question(), title=title))
