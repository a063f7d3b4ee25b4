"""Correct code in another style gets full marks; a single mistake costs its own check only."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.check import run_checks
from grader.course import Course
from grader.results import FAIL, PASS
from tests.checks.test_variants import QUICK, _check_name
from tests.checks.variants import ALONE, FULL_MARKS, VARIANTS, Variant

SINGLE = [v for v in VARIANTS if v.name in ALONE]


@pytest.mark.parametrize("variant", FULL_MARKS, ids=[v.name for v in FULL_MARKS])
def test_correct_style_gets_full_marks(variant: Variant, course: Course, tmp_path: Path) -> None:
    report = run_checks(course.step(variant.step), variant.write(tmp_path / "submission"), QUICK)
    assert report.status == PASS, report.first_failure
    assert report.score == report.max_score


@pytest.mark.parametrize("variant", SINGLE, ids=[v.name for v in SINGLE])
def test_one_mistake_costs_one_check(variant: Variant, course: Course, tmp_path: Path) -> None:
    report = run_checks(course.step(variant.step), variant.write(tmp_path / "submission"), QUICK)
    failed = [t.name for t in report.tests if t.status != PASS]
    assert failed == [_check_name(variant)], [(t.name, t.message) for t in report.tests if t.status != PASS]
    assert report.status == FAIL
