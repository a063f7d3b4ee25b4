"""Which course steps a student is sent back to, from the questions they missed."""

from __future__ import annotations

from dataclasses import replace

from grader.course import load_course
from grader.quiz.bank import load_bank
from grader.quiz.grading import steps_to_revisit

STEPS = {step.slug: step for step in load_course().steps}


def test_revisit_lists_each_linked_step_once_in_course_order() -> None:
    bank = load_bank()
    session, route, delete = (
        bank.get(q) for q in ("session-add-alone", "create-route", "delete-twice")
    )
    assert session.steps == ("sqlalchemy-orm",) and route.steps == ("add-note", "crud-rest")
    assert delete.steps == ("crud-rest",)
    retired = replace(delete, id="retired", steps=("no-such-step",))
    revisits = steps_to_revisit([(7, delete), (2, session), (5, route), (9, retired)], STEPS)
    assert [(r.step.number, r.positions, r.missed) for r in revisits] == [
        (3, (5,), "question 5"),
        (6, (2,), "question 2"),
        (7, (5, 7), "questions 5 and 7"),
    ]


def test_nothing_missed_means_nothing_to_revisit() -> None:
    assert steps_to_revisit([], STEPS) == []


def test_missed_names_three_or_more_questions() -> None:
    question = load_bank().get("delete-twice")
    [revisit] = steps_to_revisit([(4, question), (1, question), (9, question)], STEPS)
    assert revisit.missed == "questions 1, 4 and 9"
