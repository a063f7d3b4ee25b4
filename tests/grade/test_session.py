"""One pytest session for all steps gives the verdicts of one session per step."""

from __future__ import annotations

from pathlib import Path

from grader.check import run_checks
from grader.course import Course
from grader.grade.session import run_steps
from grader.runner import Limits
from tests.checks.variants import VARIANTS

LIMITS = Limits(startup=3, request=3)


def test_a_session_of_all_steps_agrees_with_one_session_per_step(tmp_path: Path, course: Course) -> None:
    picked = {}
    for variant in VARIANTS:
        if variant.step <= 5 and variant.name not in ("handler-loops", "import-hangs"):
            picked.setdefault(variant.step, variant)
    pairs = [(course.step(n), v.write(tmp_path / v.name)) for n, v in sorted(picked.items())]
    pairs.append((course.step(2), tmp_path / "missing"))
    together = run_steps(pairs[:-1], LIMITS, budget=60)
    for step, folder in pairs[:-1]:
        alone = run_checks(step, folder, LIMITS)
        assert together[step.number].status == alone.status
        assert [t.status for t in together[step.number].tests] == [t.status for t in alone.tests]
        assert together[step.number].message.split(":")[0] == alone.message.split(":")[0]
    missing = run_steps([pairs[-1]], LIMITS, budget=60)
    assert "There is no folder" in missing[2].message and missing[2].score == 0


def test_checks_past_the_deadline_score_zero(course: Course) -> None:
    step = course.step(1)
    [report] = run_steps([(step, step.solution_dir)], LIMITS, budget=0).values()
    assert report.score == 0 and all("time limit" in t.message for t in report.tests)
