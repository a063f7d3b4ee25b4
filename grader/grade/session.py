"""All the steps of one submission checked in a single pytest session.

`grader.check.run_checks` starts a pytest session per step, which costs more than the checks of
a short step. A class pays that five times per student, so grading runs every step module in
one session, each module's fixtures pointed at its own step folder, and splits the results.
"""

from __future__ import annotations

import io
import os
import time
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from grader import plugin
from grader.check import _UNUSED_PLUGINS, SubmissionError, check_module_path, preflight
from grader.course import Step
from grader.grade import session_fixtures
from grader.plugin import Target
from grader.results import StepReport, error_report, summarise
from grader.runner import Limits


class Deadline:
    """Checks that would start after the submission's time limit are not run (and score zero)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if time.monotonic() > self.ends:
            pytest.skip(f"not run: the submission used up its {self.seconds:g} s time limit")


def run_steps(
    steps: list[tuple[Step, Path]], limits: Limits, budget: float
) -> dict[int, StepReport]:
    """Check each (step, folder) pair in one pytest session; a report for every step."""
    reports: dict[int, StepReport] = {}
    modules: dict[str, Step] = {}
    targets: dict[str, Target] = {}
    for step, folder in steps:
        try:
            preflight(folder)
            module = check_module_path(step)
        except SubmissionError as exc:
            reports[step.number] = error_report(step.number, step.points, str(exc))
            continue
        modules[module.name] = step
        targets[str(module)] = Target(folder=folder.resolve(), limits=limits)
    if not modules:
        return reports
    root = Path(next(iter(targets))).parent
    collector = plugin.Collector()
    args = [
        *targets, "-p", "no:cacheprovider", *(f"-pno:{name}" for name in _UNUSED_PLUGINS),
        "--import-mode=importlib", "--rootdir", str(root), "-c", str(root / "pytest.ini"), "-q", "--tb=no",
    ]
    session_fixtures.TARGETS = targets
    sink = io.StringIO()
    autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        with warnings.catch_warnings(), redirect_stdout(sink), redirect_stderr(sink):
            code = pytest.main(args, plugins=[plugin, session_fixtures, Deadline(budget), collector])
    finally:
        session_fixtures.TARGETS = {}
        if autoload is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload
    failure = collector.internal_error
    if not failure and code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        tail = sink.getvalue().strip().splitlines()[-1:] or [str(code)]
        failure = f"The grader could not run its checks: {tail[0]}"
    for name, step in modules.items():
        if failure:
            reports[step.number] = error_report(step.number, step.points, failure)
            continue
        tests = [collector.results[n] for n in collector.order if n.split("::")[0].endswith(name)]
        reports[step.number] = summarise(step.number, step.points, tests)
    return reports


__all__ = ["run_steps"]
