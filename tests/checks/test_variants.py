"""Each broken submission gets the verdict and the message a student needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.check import run_checks
from grader.course import Course
from grader.engine.limits import Limits
from grader.engine.sandbox import unavailable_reason
from grader.grade.batch import Options, grade_class
from grader.grade.command import limits_for
from grader.grade.submissions import intake
from grader.results import FAIL, PASS
from tests.checks.variants import CORRECT, VARIANTS, Variant

QUICK = Limits(startup=2.0, request=1.5, stop=2.0)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_variant_gets_its_message(variant: Variant, course: Course, tmp_path: Path) -> None:
    folder = variant.write(tmp_path / "submission")
    # judged with check's own limits, but for an app that hangs, whose time limits are the point
    hangs = any("within" in words for words in variant.says)
    report = run_checks(course.step(variant.step), folder, QUICK if hangs else Limits(),
                        until_failure=not variant.alone)
    first = report.first_failure
    assert report.status == variant.status, (report.status, report.message)
    assert first is not None and report.score < report.max_score
    nodes = {t.name: t for t in report.tests}
    assert first is nodes[_check_name(variant)], (first.name, first.message)
    for words in variant.says:
        assert words in first.message, (words, first.message)
    for words in variant.hint_says:
        assert words in first.hint, (words, first.hint)
    if variant.alone:
        assert [t for t in report.tests if t.status != PASS] == [first], report.tests


@pytest.mark.parametrize("variant", CORRECT, ids=[v.name for v in CORRECT])
def test_other_correct_styles_get_full_marks(variant: Variant, course: Course, tmp_path: Path) -> None:
    report = run_checks(course.step(variant.step), variant.write(tmp_path / "submission"))
    assert report.status == PASS, report.first_failure or report.message
    assert report.score == report.max_score


def _check_name(variant: Variant) -> str:
    import importlib

    from grader.course import load_course

    module = importlib.import_module(load_course().step(variant.step).checks)
    return getattr(module, variant.first_failure).__doc__.strip().splitlines()[0]


def test_commit_missing_loses_notes_only_on_a_crash(course: Course, tmp_path: Path) -> None:
    variant = next(v for v in VARIANTS if v.name == "commit-only-at-shutdown")
    report = run_checks(course.step(5), variant.write(tmp_path / "s"), QUICK)
    verdicts = {t.name: t.status for t in report.tests}
    assert verdicts["notes are still there after the server is killed (SIGKILL) and started again"] == FAIL
    assert verdicts["the notes are still there after the server is stopped (SIGTERM) and started again"] == "pass"


def test_step5_starter_earns_no_placeholder_points(course: Course) -> None:
    step = course.step(5)
    report = run_checks(step, step.exercise_dir, QUICK)
    quotes = next(t for t in report.tests if t.name.startswith("a note with quotes"))
    assert quotes.status == FAIL and "No execute() call runs an INSERT" in (quotes.message or "")


@pytest.mark.skipif(unavailable_reason() is not None, reason=f"no sandbox here: {unavailable_reason()}")
def test_database_url_reaches_a_sandboxed_app(course: Course, tmp_path: Path) -> None:
    """grade hands DATABASE_URL to the forked, sandboxed app as check does: same verdicts."""
    names = ("url-from-getenv", "url-read-engine-hard-coded")
    by_name = {v.name: v for v in VARIANTS + CORRECT}
    for name in names:
        variant = by_name[name]
        variant.write(tmp_path / "class" / name / variant.folder)
    options = Options(steps=(6,), limits=limits_for(5))
    graded = {g.name: g for g in grade_class(intake([tmp_path / "class"], course), course, options, jobs=1)}
    for name in names:
        checked = run_checks(course.step(6), by_name[name].write(tmp_path / "check" / name))
        [report] = graded[name].reports
        assert [t.status for t in report.tests] == [t.status for t in checked.tests], (name, report.tests)
    assert graded["url-from-getenv"].score == course.step(6).points
    assert graded["url-read-engine-hard-coded"].score == course.step(6).points - 2
