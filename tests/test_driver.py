"""One pytest session for all steps gives the verdicts of one session per step."""

from __future__ import annotations

from pathlib import Path

from grader.check import run_checks
from grader.course import Course
from grader.driver import Session, open_session, run_steps
from grader.engine.limits import Limits
from grader.engine.zygote import children, shared_zygote
from grader.results import StepReport
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


def test_one_session_grades_submissions_in_turn_as_sessions_of_their_own(
    tmp_path: Path, course: Course
) -> None:
    three, five = course.step(3), course.step(5)
    named = {v.name: v for v in VARIANTS}
    jobs = [
        [(three, three.solution_dir), (five, five.solution_dir)],
        [(three, named["no-increment"].write(tmp_path / "a")), (five, named["dict-in-memory"].write(tmp_path / "b"))],
        [(three, tmp_path / "missing")],
        [(five, five.solution_dir)],
    ]
    seen: list[dict[int, StepReport]] = []
    left_running: list[list[int]] = []

    def serve(session: Session) -> None:
        for job in jobs:
            seen.append(session.run(job, LIMITS, budget=60))
            left_running.append(children(shared_zygote("orm").process.pid))

    assert open_session([three, five], serve) == ""
    alone = [run_steps(job, LIMITS, budget=60) for job in jobs]
    assert [{n: (r.status, r.score, [t.status for t in r.tests]) for n, r in reports.items()}
            for reports in seen] == [
        {n: (r.status, r.score, [t.status for t in r.tests]) for n, r in reports.items()} for reports in alone]
    assert seen[0][5].status == "pass" and seen[1][5].status == "fail" and seen[3][5].score == 16
    assert left_running == [[], [], [], []]  # every server of a submission ended with it


def test_a_session_that_breaks_fails_closed(course: Course) -> None:
    step = course.step(1)

    class Breaks:
        def pytest_runtest_logstart(self) -> None:
            raise RuntimeError("a grader bug")

    results: list[dict[int, StepReport]] = []
    broken: list[str] = []

    def serve(session: Session) -> None:
        session.plugins.register(Breaks())
        results.append(session.run([(step, step.solution_dir)], LIMITS, budget=60))
        broken.append(session.broken)

    assert open_session([step], serve) == ""
    [report] = results[0].values()
    assert (report.status, report.score) == ("error", 0) and "a grader bug" in report.message
    assert "a grader bug" in broken[0]


def test_until_failure_stops_after_the_first_check_that_does_not_pass(course: Course) -> None:
    """The same first failure, and every check after it skipped, never passed."""
    step = course.step(3)
    whole = run_checks(step, step.exercise_dir)
    short = run_checks(step, step.exercise_dir, until_failure=True)
    assert whole.first_failure is not None and short.first_failure is not None
    assert (short.first_failure.name, short.first_failure.message) == (whole.first_failure.name, whole.first_failure.message)
    after = short.tests[short.tests.index(short.first_failure) + 1:]
    assert after and all(t.outcome == "skipped" and "a check before it did not pass" in (t.message or "") for t in after)
    assert short.status == whole.status and short.score == 0
    solved = run_checks(step, step.solution_dir, until_failure=True)
    assert solved.score == solved.max_score
