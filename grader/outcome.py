"""A checked step's outcome as the student's commands treat it: pass, fail, error, or skipped.

"Skipped" means the checks could not try the app at all (no PostgreSQL server answered), and
nothing else failed: it scores zero, is not a pass, and never replaces a result saved before.
A check's skip is its outcome (grader.results.SKIPPED), set where the check gave up.
"""

from __future__ import annotations

from grader.results import ERROR, FAIL, PASS, SKIPPED, StepReport, TestResult

EXIT = {PASS: 0, FAIL: 1, ERROR: 2, SKIPPED: 3}


def is_skip(test: TestResult) -> bool:
    """A check that did not run for want of a PostgreSQL server."""
    return test.status != PASS and test.outcome == SKIPPED


def outcome(report: StepReport) -> str:
    if report.status == PASS or not report.tests:
        return report.status
    missed = [test for test in report.tests if test.status != PASS]
    return SKIPPED if all(map(is_skip, missed)) else report.status
