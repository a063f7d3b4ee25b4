"""A checked step's outcome as the student's commands treat it: pass, fail, error, or skipped.

"Skipped" means the checks could not try the app at all (no PostgreSQL server answered), and
nothing else failed: it scores zero, is not a pass, and never replaces a result saved before.
The skip is recognised here alone, from the message the checks fail with, until results carry
an outcome of their own.
"""

from __future__ import annotations

from grader.results import ERROR, FAIL, PASS, StepReport, TestResult

SKIPPED = "skipped"
NO_SERVER = "skipped: no PostgreSQL server"  # as grader.checks.postgres fails (not imported: slow)
EXIT = {PASS: 0, FAIL: 1, ERROR: 2, SKIPPED: 3}


def is_skip(test: TestResult) -> bool:
    """A check that did not run for want of a PostgreSQL server."""
    return test.status != PASS and test.message.startswith(NO_SERVER)


def outcome(report: StepReport) -> str:
    if report.status == PASS or not report.tests:
        return report.status
    missed = [test for test in report.tests if test.status != PASS]
    return SKIPPED if all(map(is_skip, missed)) else report.status
