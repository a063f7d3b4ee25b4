"""Variant questions: parameters, their rendering and lint, and variants in the web and terminal
quizzes (drawn per attempt, stored with it, shown and reviewed the same, graded on the server)."""

from __future__ import annotations

import html
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from grader.course import load_course
from grader.quiz import variants
from grader.quiz.bank import Bank, BankError, Question, lint_bank, load_bank, parse_question
from grader.quiz.commands import quiz
from grader.quiz.models import Answer
from grader.quiz.store import QuizStore
from grader.quiz.variants import Param, VariantError, evaluate
from grader.quiz.web import Settings, create_app
from tests.quiz.conftest import INSTRUCTOR_TOKEN, QuizClient

VARIANT_TOPIC = """
[[questions]]
id = "delete-again"
topic = "variants"
difficulty = "easy"
stem = "Note {{note}} of {{count}} is deleted twice. What does the second DELETE /notes/{{note}} answer?"
solution = ["The first call removes note {{note}}.", "The second finds no row {{note}}: 404."]
final_answer = "404 for note {{note}}"
quick_check = "Is note {{note}} there after the first call?"
hint = "Count the rows: {{count}}, then {{count - 1}}."
steps = ["notes-dict"]

[questions.params]
count = { from = 3, to = 6 }
note = { from = 1, to = "count" }

[[questions.options]]
key = "a"
text = "Right answer of note {{note}}: 404"
correct = true

[[questions.options]]
key = "b"
text = "Wrong: 204 for note {{note}}"
correct = false
misconception = "Thinks note {{note}} is deleted again."

[[questions.options]]
key = "c"
text = "Wrong: 500 for note {{note}}"
correct = false
misconception = "Thinks a missing row {{note}} is an error."

[[questions.options]]
key = "d"
text = "Wrong: 200 with {{count - 1}} notes"
correct = false
misconception = "Thinks DELETE lists what is left."
"""
STEM = re.compile(r"Note (\d+) of (\d+) is deleted twice")


def _template(**changes: object) -> Question:
    question = parse_question(tomllib.loads(VARIANT_TOPIC)["questions"][0], "variants.toml")
    return replace(question, **changes)  # type: ignore[arg-type]


def test_expressions_allow_arithmetic_and_named_functions_only() -> None:
    values: variants.Values = {"n": 4, "text": "it's"}
    assert evaluate("n * 2 + 1", values) == 9
    assert evaluate("n // 3 - -1", values) == 2
    assert evaluate("sql(text)", values) == "'it''s'"
    assert evaluate("repr(text)", values) == '"it\'s"'
    assert evaluate("n > 2 and n != 5", values) is True
    for bad in ("__import__('os')", "text.upper()", "n ** 2", "[n]", "m + 1", "open('x')"):
        with pytest.raises(VariantError):
            evaluate(bad, values)


def test_ranges_may_depend_on_earlier_parameters_and_a_where_rule() -> None:
    params = (Param("a", low=1, high=3), Param("b", low="a", high=3))
    assert variants.all_values(params, None) == [
        {"a": 1, "b": 1}, {"a": 1, "b": 2}, {"a": 1, "b": 3},
        {"a": 2, "b": 2}, {"a": 2, "b": 3}, {"a": 3, "b": 3},
    ]  # fmt: skip
    assert variants.all_values(params, "a != b") == [
        {"a": 1, "b": 2}, {"a": 1, "b": 3}, {"a": 2, "b": 3}
    ]  # fmt: skip
    rng = random.Random(5)
    drawn = [variants.draw(params, "a < b", rng) for _ in range(50)]
    assert all(int(v["a"]) < int(v["b"]) for v in drawn)
    with pytest.raises(VariantError, match="more than 2 variants"):
        variants.all_values(params, None, limit=2)
    assert variants.sample(params, None, 4, "seed") == variants.sample(params, None, 4, "seed")
    assert len(variants.sample(params, None, 99, "seed")) == 6


def test_a_variant_renders_every_text_and_keeps_the_key() -> None:
    question = _template()
    assert question.is_variant and question.param_names == "count, note"
    shown = question.render({"count": 5, "note": 2})
    assert shown.stem.startswith("Note 2 of 5 is deleted twice")
    assert shown.hint == "Count the rows: 5, then 4."
    assert shown.solution == ("The first call removes note 2.", "The second finds no row 2: 404.")
    assert [o.text for o in shown.options][3] == "Wrong: 200 with 4 notes"
    assert shown.option("b").misconception == "Thinks note 2 is deleted again."
    assert shown.answer.key == question.answer.key == "a" and not shown.is_variant
    assert shown.id == question.id
    with pytest.raises(VariantError, match="needs parameters for count, note"):
        question.render({"count": 5})


def test_the_version_covers_the_parameters_and_a_plain_question_keeps_its_old_one() -> None:
    question = _template()
    wider = replace(question, params=(Param("count", low=3, high=7), question.params[1]))
    assert wider.version != question.version
    assert Question.from_json(question.to_json()) == question
    plain = replace(question, params=())
    assert '"params"' not in plain.to_json() and Question.from_json(plain.to_json()) == plain


def test_bad_parameter_tables_are_refused_when_the_bank_loads() -> None:
    base = {
        "id": "q", "topic": "t", "difficulty": "easy", "stem": "s", "options": [],
        "solution": ["x"], "final_answer": "f", "quick_check": "c", "hint": "h", "steps": [],
    }  # fmt: skip
    for params, message in [
        ({"n": {"from": 1}}, "parameter 'n' must be a list"),
        ({"n": [True, False]}, "parameter 'n' must be a list"),
        ({"N": [1, 2]}, "must be a lowercase identifier"),
        ({"n": [1, 2], "where": 3}, "params.where must be an expression"),
        ({}, "one or more parameters"),
    ]:
        with pytest.raises(BankError, match=re.escape(message)):
            parse_question({**base, "params": params}, "quiz.toml")


def _lint(question: Question) -> list[str]:
    course = load_course()
    slug = course.steps[0].slug
    from grader.quiz.bank import _question_problems

    return _question_problems(replace(question, steps=(slug,)), {slug})


def test_lint_renders_every_variant_and_names_the_one_that_fails() -> None:
    assert _lint(_template()) == []
    clash = _template(options=tuple(
        replace(o, text="Wrong: 200 with 3 notes") if o.key == "b" else o
        for o in _template().options
    ))  # fmt: skip
    assert _lint(clash) == ['variant {"count": 4, "note": 1}: two options have the same text']
    unknown = _template(hint="Row {{row}}")
    assert _lint(unknown) == ['variant {"count": 3, "note": 1}: {{row}}: no parameter \'row\'']
    same = _template(stem="Always the same", code=None)
    assert "every variant shows the same stem and code" in _lint(same)[-1]
    assert _lint(replace(_template(), params=())) == ["has {{ }} placeholders but no params"]
    single = _template(params=(Param("count", choices=(3,)), Param("note", choices=(1,))))
    assert _lint(single) == ["params give 1 variant(s); a variant question needs two or more"]


def test_the_real_bank_has_fifteen_variant_questions_and_every_variant_lints_clean() -> None:
    bank = load_bank()
    varied = [q for q in bank.questions if q.is_variant]
    assert len(varied) >= 15
    for name in ("autoincrement-no-reuse", "plain-rowid-reuse", "delete-twice",
                 "injection-or-true"):  # fmt: skip
        assert bank.get(name).is_variant
    assert sum(len(q.all_values()) for q in varied) > 500
    assert lint_bank(bank, load_course()) == []


@pytest.fixture
def variant_settings(settings: Settings, bank_dir: Path) -> Settings:
    (bank_dir / "variants.toml").write_text(VARIANT_TOPIC, encoding="utf-8")
    return settings


@pytest.fixture
def variant_student(variant_settings: Settings) -> Iterator[QuizClient]:
    with TestClient(create_app(variant_settings), follow_redirects=False) as client:
        yield QuizClient(client)


def _stored_params(store: QuizStore) -> list[str | None]:
    with store.engine.connect() as conn:
        return list(conn.scalars(select(Answer.params).order_by(Answer.attempt_id)))


def test_the_web_quiz_draws_stores_shows_and_grades_a_variant(
    variant_student: QuizClient, store: QuizStore
) -> None:
    seen = set()
    for attempt in (1, 2, 3, 4, 5, 6):
        path = variant_student.start("variants")
        assert path == f"/attempts/{attempt}/questions/1"
        page = variant_student.http.get(path).text
        note, count = STEM.search(page).groups()  # type: ignore[union-attr]
        stored = variants.loads(_stored_params(store)[-1])
        assert stored == {"count": int(count), "note": int(note)}
        seen.add((note, count))
        options = variant_student.options(path)
        assert f"Right answer of note {note}: 404" in options.values()
        right = variant_student.answer(path, right=attempt % 2 == 1)
        assert right.status_code == 303
        review = variant_student.http.get(f"/attempts/{attempt}/review").text
        assert f"Note {note} of {count} is deleted twice" in review
        assert f"The first call removes note {note}." in review
        assert "{{" not in review and "⟨" not in review
        if attempt % 2 == 0:
            wrong = (f"Thinks note {note} is deleted again.", f"missing row {note} is an error.",
                     "Thinks DELETE lists what is left.")  # fmt: skip
            assert any(misconception in review for misconception in wrong)
    assert len(seen) > 1  # 18 variants: six attempts drawing one alike is (1/18)^5
    attempts = [store.attempt(n) for n in range(1, 7)]
    assert [a.score for a in attempts if a] == [1, 0, 1, 0, 1, 0]
    form = {"csrf_token": variant_student.csrf(), "token": INSTRUCTOR_TOKEN}
    assert variant_student.http.post("/instructor/login", data=form).status_code == 303
    table = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", variant_student.http.get("/instructor").text)
    )
    assert f"delete-again · variants · over {len(seen)} variants" in table
    assert "Note ⟨note⟩ of ⟨count⟩ is deleted twice" in html.unescape(table)


def test_the_terminal_quiz_shows_the_variant_it_stores(
    variant_settings: Settings, bank_dir: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'terminal.db'}"
    result = CliRunner().invoke(
        quiz, ["--topic", "variants", "--db", url], input="Ada\nA\n",
        env={"PERSISTLAB_QUIZ_DIR": str(bank_dir)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    note, count = STEM.search(result.output).groups()  # type: ignore[union-attr]
    store = QuizStore(url)
    try:
        assert variants.loads(_stored_params(store)[0]) == {"count": int(count), "note": int(note)}
    finally:
        store.close()
    assert "{{" not in result.output and f"1. The first call removes note {note}." in result.output
    assert f"Check yourself: Is note {note} there after the first call?" in result.output


def test_regrade_moves_a_variant_answer_only_where_its_parameters_still_fit(
    store: QuizStore,
) -> None:
    """An answer drawn {count, note} moves to a corrected version with the same parameters,
    and stays on its version when the bank's question has other parameters."""
    served = _template()
    store.keep_versions([served])
    student = store.add_student("Ada")
    params = variants.dumps({"count": 4, "note": 2})
    attempt = store.start_attempt(
        student_id=student, questions=[(served.id, "abcd", served.version, params)]
    )
    assert store.record_answer(attempt_id=attempt, position=1, chosen="a", correct=True)
    keyed_b = tuple(replace(o, correct=o.key == "b", misconception=None if o.key == "b" else "m")
                    for o in served.options)  # fmt: skip
    renamed = _template(params=(Param("count", low=3, high=6), Param("row", low=1, high=3)))
    kept = store.regrade(Bank(questions=(replace(renamed, options=keyed_b),)))
    assert (kept.moved, kept.kept) == (0, ("delete-again",))
    corrected = replace(served, options=keyed_b)
    moved = store.regrade(Bank(questions=(corrected,)))
    assert moved.moved == 1
    shown = corrected.render_stored(_stored_params(store)[0])
    assert shown.stem.startswith("Note 2 of 4") and shown.answer.key == "b"


def test_an_empty_or_huge_range_is_a_problem_not_a_crash() -> None:
    empty = (Param("a", low=1, high=2), Param("b", low="a + 1", high=2))
    assert variants.all_values(empty, None) == [{"a": 1, "b": 2}]
    assert variants.draw(empty, None, random.Random(1)) == {"a": 1, "b": 2}
    never = (Param("a", low=3, high=2),)
    with pytest.raises(VariantError, match="no parameter set"):
        variants.draw(never, None, random.Random(1))
    huge = (Param("a", low=1, high=10**12),)
    with pytest.raises(VariantError, match="more than 5000 variants"):
        variants.all_values(huge, None)
    assert 1 <= int(variants.draw(huge, None, random.Random(1))["a"]) <= 10**12
