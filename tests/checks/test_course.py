"""The course grades its own reference code: every solution passes, on a machine kept busy by two
CPU hogs (a student's laptop with a browser and an IDE), and every starter fails."""

from __future__ import annotations

import pytest

from grader.check import run_checks
from grader.course import Course, load_course
from grader.results import PASS
from tests.engine.machine import cpu_hogs

STEPS = [step.number for step in load_course().steps]


@pytest.mark.parametrize("number", STEPS)
def test_solution_passes_with_full_points_beside_two_cpu_hogs(course: Course, number: int) -> None:
    step = course.step(number)
    with cpu_hogs():
        report = run_checks(step, step.solution_dir)
    assert report.status == PASS, report.first_failure or report.message
    assert report.score == report.max_score == step.points


@pytest.mark.parametrize("number", STEPS)
def test_starter_fails_with_a_message(course: Course, number: int) -> None:
    step = course.step(number)
    report = run_checks(step, step.exercise_dir)
    assert report.status == "fail"
    first = report.first_failure
    assert first is not None and first.message and first.hint
