"""Item statistics on hand-made answer rows, checked against numbers worked out by hand."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import pytest

from grader.quiz.bank import Bank, Option, Question
from grader.quiz.stats import (
    correlation,
    question_stats,
    questions_csv,
    student_scores,
    students_csv,
)
from grader.quiz.store import AnswerRow
from grader.quiz.variants import Param


def _question(qid: str) -> Question:
    options = tuple(Option(k, f"{qid} {k}", k == "b", None if k == "b" else "m") for k in "abcd")
    return Question(qid, "topic", "easy", "stem", None, options, ("s",), "f", "q", "h", ("x",))


BANK = Bank(questions=(_question("q1"), _question("q2"), _question("never")))


def _rows(scores: dict[int, list[int]], finished: bool = True) -> list[AnswerRow]:
    """Attempt id -> [q1 right?, q2 right?]; right answers choose b, wrong ones choose c."""
    return [
        AnswerRow(attempt, attempt, qid, "b" if right else "c", bool(right), finished)
        for attempt, items in scores.items()
        for qid, right in zip(("q1", "q2"), items)
    ]


def test_correlation_matches_a_hand_computation() -> None:
    xs, ys = [1.0, 1.0, 0.0, 0.0], [0.9, 0.7, 0.4, 0.2]
    # means 0.5 and 0.55; sxy = 0.5 * (0.35 + 0.15 + 0.15 + 0.35) = 0.5; sxx = 1; syy = 0.29
    assert correlation(xs, ys) == pytest.approx(0.5 / math.sqrt(0.29))


@pytest.mark.parametrize(
    ("xs", "ys"),
    [([1.0, 0.0], [1.0, 0.0]), ([1.0, 1.0, 1.0], [0.1, 0.5, 0.9]), ([0.0, 1.0, 0.0], [0.5] * 3)],
)
def test_correlation_is_undefined_for_tiny_or_constant_data(
    xs: list[float], ys: list[float]
) -> None:
    assert correlation(xs, ys) is None


def test_facility_option_counts_and_discrimination() -> None:
    # q1 is right exactly for the attempts that also get q2 right: it discriminates perfectly.
    rows = _rows({1: [1, 1], 2: [1, 1], 3: [0, 0], 4: [0, 0]})
    stats = {s.question_id: s for s in question_stats(rows, BANK)}
    q1 = stats["q1"]
    assert (q1.answered, q1.facility, q1.answer_key) == (4, 0.5, "b")
    assert q1.option_counts == {"a": 0, "b": 2, "c": 2, "d": 0}
    assert q1.discrimination == pytest.approx(1.0)


def test_an_item_that_strong_students_miss_discriminates_negatively() -> None:
    rows = _rows({1: [0, 1], 2: [0, 1], 3: [1, 0], 4: [1, 0]})
    stats = {s.question_id: s for s in question_stats(rows, BANK)}
    assert stats["q1"].discrimination == pytest.approx(-1.0)


def test_questions_left_unanswered_count_in_the_rest_score() -> None:
    """Attempt 2 timed out after two of its four questions: its rest score for q1 is one
    right of the three other questions it was served, 1/3, not 1/1."""
    rows = _rows({1: [1, 1], 2: [1, 1], 3: [0, 1], 4: [0, 0]})
    rows = [replace(row, served=4 if row.attempt_id == 2 else 2) for row in rows]
    q1 = question_stats(rows, BANK)[0]
    # items 1, 1, 0, 0 (mean 1/2); rests 1, 1/3, 1, 0 (mean 7/12, deviations 5, -3, 5, -7
    # twelfths); sxy = (5 - 3 - 5 + 7) / 24 = 1/6, sxx = 1, syy = 108/144 = 3/4
    assert q1.discrimination == pytest.approx((1 / 6) / math.sqrt(3 / 4))
    assert (q1.answered, q1.facility) == (4, 0.5)  # the share of the answers given, as before
    # An attempt that answered q1 alone (right) of three served: its rest score is 0 of 2.
    with_one = question_stats([*rows, AnswerRow(9, 9, "q1", "b", True, True, served=3)], BANK)
    # items 1, 1, 0, 0, 1; rests 1, 1/3, 1, 0, 0: sxy = 4/3 - 5 * 3/5 * 7/15 = -1/15,
    # sxx = 3 - 9/5 = 6/5, syy = 19/9 - 49/45 = 46/45
    expected = (-1 / 15) / math.sqrt(6 / 5 * 46 / 45)
    assert with_one[0].discrimination == pytest.approx(expected)


def test_unfinished_attempts_count_for_no_figure() -> None:
    finished = _rows({1: [1, 1], 2: [1, 1], 3: [0, 0]})
    # Two attempts in progress, both right on q1 and wrong on q2: counted, they would lift q1's
    # facility to 0.8 and its "c" count to 3, and q2's discrimination would change too.
    unfinished = _rows({4: [1, 0], 5: [1, 0]}, finished=False)
    with_unfinished = {s.question_id: s for s in question_stats(finished + unfinished, BANK)}
    alone = {s.question_id: s for s in question_stats(finished, BANK)}
    assert with_unfinished == alone
    q1 = with_unfinished["q1"]
    assert (q1.answered, q1.option_counts) == (3, {"a": 0, "b": 2, "c": 1, "d": 0})
    assert q1.facility == pytest.approx(2 / 3) and q1.discrimination == pytest.approx(1.0)


def test_only_unfinished_attempts_give_no_figures() -> None:
    q1 = question_stats(_rows({1: [1, 1], 2: [0, 0], 3: [1, 0]}, finished=False), BANK)[0]
    assert (q1.answered, q1.facility, q1.discrimination) == (0, None, None)
    assert q1.option_counts == {"a": 0, "b": 0, "c": 0, "d": 0}


def test_unanswered_and_retired_questions_are_listed() -> None:
    rows = _rows({1: [1, 1]}) + [AnswerRow(9, 9, "gone", "a", True, True)]
    stats = question_stats(rows, BANK)
    assert [s.question_id for s in stats] == ["q1", "q2", "never", "gone"]
    never, gone = stats[2], stats[3]
    assert (never.answered, never.facility, never.discrimination) == (0, None, None)
    assert (gone.topic, gone.answer_key, gone.option_counts["a"]) == ("(retired)", None, 1)


def _attempt(student_id: int, name: str, score: int | None, total: int = 4) -> SimpleNamespace:
    return SimpleNamespace(
        student_id=student_id,
        student=SimpleNamespace(name=name),
        score=score,
        total=total,
        finished_at=None if score is None else 1.0,
    )


def test_student_scores_best_and_latest() -> None:
    attempts = [
        _attempt(1, "Ada", 3),
        _attempt(2, "Bob", None),
        _attempt(1, "Ada", 2),
        _attempt(1, "Ada", None),
    ]
    ada, bob = student_scores(attempts)  # type: ignore[arg-type]
    assert (ada.name, ada.attempts, ada.finished, ada.best, ada.last) == ("Ada", 3, 2, 0.75, 0.5)
    assert (bob.attempts, bob.finished, bob.best, bob.last) == (1, 0, None, None)


def test_csv_exports() -> None:
    rows = _rows({1: [1, 1], 2: [1, 0], 3: [0, 0]})
    lines = questions_csv(question_stats(rows, BANK)).splitlines()
    assert lines[0] == (
        "question,topic,difficulty,answer,answered,facility,discrimination,"
        "chose_a,chose_b,chose_c,chose_d,variants"
    )
    assert lines[1] == "q1,topic,easy,b,3,0.667,0.500,0,2,1,0,0"
    assert lines[3] == "never,topic,easy,b,0,,,0,0,0,0,0"
    scores = student_scores([_attempt(1, "=HYPERLINK(1)", 1), _attempt(2, "Bo, b", 4)])  # type: ignore[list-item]
    assert students_csv(scores).splitlines() == [
        "student_id,name,attempts,finished,best,last",
        "1,'=HYPERLINK(1),1,1,0.250,0.250",
        '2,"Bo, b",1,1,1.000,1.000',
    ]


def test_answers_to_different_variants_count_for_one_question() -> None:
    template = Question(
        "v", "topic", "easy", "Note {{n}} exists: what then?", None,
        tuple(Option(k, f"{k} {{{{n}}}}", k == "b", None if k == "b" else "m") for k in "abcd"),
        ("s",), "f", "q", "h", ("x",), params=(Param("n", low=1, high=9),),
    )  # fmt: skip
    rows = [
        AnswerRow(attempt, attempt, qid, chosen, chosen == "b", True, template.version, params)
        for attempt, (chosen, params) in enumerate(
            [("b", '{"n": 1}'), ("b", '{"n": 2}'), ("c", '{"n": 2}'), ("b", '{"n": 7}')], start=1
        )
        for qid in ("v",)
    ]
    [stats] = question_stats(rows, Bank(questions=(template,)))
    assert (stats.answered, stats.facility, stats.variants) == (4, 0.75, 3)
    assert stats.option_counts == {"a": 0, "b": 3, "c": 1, "d": 0}
    assert stats.earlier_version == 0
    assert stats.stem == "Note ⟨n⟩ exists: what then?"
