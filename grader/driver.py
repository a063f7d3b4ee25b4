"""The one pytest driver: `check`, `grade` and the Gradescope bundle all run checks through it.

A pytest session collects the step modules once (`open_session`) and runs submissions through
them (`Session.run`), each module's fixtures pointed at the submission's step folder; `check`
runs one step in a session of its own (`run_steps`), a grading worker keeps one session for a
whole class (collecting costs about 20 ms a submission otherwise). After a submission every
fixture is torn down, session-scoped ones included, so nothing a check kept reaches the next.
"""

from __future__ import annotations

import importlib.util
import io
import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from grader import plugin
from grader.course import Step
from grader.engine.limits import Limits
from grader.plugin import Target
from grader.results import REFUSED, StepReport, error_report, summarise
from grader.source import SourceError, decode_source

MAX_SOURCE_BYTES = 1 << 20
_UNUSED_PLUGINS = (
    "doctest", "junitxml", "pastebin", "legacypath", "unraisableexception",
    "threadexception", "faulthandler", "logging", "warnings", "setuponly", "setupplan",
    "stepwise", "debugging", "unittest", "subtests", "tmpdir", "monkeypatch", "recwarn",
)


class SubmissionError(Exception):
    """The folder cannot be checked at all: missing, empty or unreadable code."""


def preflight(folder: Path) -> None:
    """Refuse, with one clear sentence, a folder that cannot hold an answer."""
    if not folder.exists():
        raise SubmissionError(f"There is no folder {folder}.")
    if not folder.is_dir():
        raise SubmissionError(f"{folder} is a file, not a step folder.")
    main = folder / "main.py"
    if not main.exists():
        raise SubmissionError(f"There is no main.py in {folder}.")
    if not main.is_file():
        raise SubmissionError(f"{main} is a directory; main.py must be a file.")
    for path in sorted(folder.glob("*.py")):
        if not path.is_file():
            raise SubmissionError(f"{path} is not a regular file.")
        data = path.read_bytes()
        if len(data) > MAX_SOURCE_BYTES:
            raise SubmissionError(f"{path.name} is larger than 1 MiB; is it really source code?")
        try:
            text = decode_source(data, path.name)
        except SourceError as exc:
            raise SubmissionError(str(exc)) from None
        if path == main and not text.strip():
            raise SubmissionError(f"{main} is empty: write your code in it (or run `persistlab reset`).")


def check_module_path(step: Step) -> Path:
    spec = importlib.util.find_spec(step.checks)
    if spec is None or spec.origin is None:
        raise SubmissionError(f"The checks module {step.checks} for {step.label} is missing.")
    return Path(spec.origin)


class Deadline:
    """Checks that would start after the submission's time limit are not run (and score zero);
    with `until_failure`, nor those after a check that did not pass."""

    def __init__(self, collector: plugin.Collector) -> None:
        self.collector = collector
        self.seconds, self.ends = 0.0, 0.0
        self.until_failure = False

    def start(self, seconds: float, until_failure: bool = False) -> None:
        self.seconds, self.ends = seconds, time.monotonic() + seconds
        self.until_failure = until_failure

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if time.monotonic() > self.ends:
            raise plugin.OutOfTime(f"not run: the submission used up its {self.seconds:g} s time limit")
        if self.until_failure and self.collector.settled:  # a check before failed
            pytest.skip("not run: a check before it did not pass")


class Session:
    """A pytest plugin: once the checks are collected, `serve(self)` runs submissions through them."""

    def __init__(self, serve: Callable[[Session], None]) -> None:
        self.serve = serve
        self.collector = plugin.Collector()
        self.deadline = Deadline(self.collector)
        self.sink = io.StringIO()
        self.broken = ""  # why the session can no longer be trusted, once it cannot
        self.started = False
        self._session: pytest.Session | None = None

    @property
    def plugins(self) -> pytest.PytestPluginManager:
        assert self._session is not None
        return self._session.config.pluginmanager

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        self._session, self.started = session, True
        self.serve(self)
        return True

    def run(self, steps: list[tuple[Step, Path]], limits: Limits, budget: float,
            until_failure: bool = False) -> dict[int, StepReport]:
        """Check each (step, folder) pair within `budget` seconds; a report for every step. With
        `until_failure`, the checks after the first that does not pass are skipped."""
        assert self._session is not None
        reports: dict[int, StepReport] = {}
        modules: dict[Path, Step] = {}
        for step, folder in steps:
            try:
                preflight(folder)
                module = check_module_path(step)
            except SubmissionError as exc:
                reports[step.number] = error_report(step.number, step.points, str(exc), REFUSED)
                continue
            modules[module] = step
            plugin.TARGETS[str(module)] = Target(folder=folder.resolve(), limits=limits)
        items = [item for item in self._session.items if item.path in modules]
        self._reset(budget, until_failure)
        try:
            for index, item in enumerate(items):
                following = items[index + 1] if index + 1 < len(items) else None  # None: tear all down
                item.ihook.pytest_runtest_protocol(item=item, nextitem=following)
        except Exception as exc:  # noqa: BLE001 - fail closed, and the worker starts afresh
            self.broken = f"The grader failed while checking ({type(exc).__name__}: {exc}); no marks given."
        finally:
            plugin.TARGETS.clear()
        failure = self.collector.internal_error or self.broken
        for module, step in modules.items():
            if failure:
                reports[step.number] = error_report(step.number, step.points, failure)
                continue
            tests = [self.collector.results[item.nodeid] for item in items if item.path == module]
            reports[step.number] = summarise(step.number, step.points, tests)
        return reports

    def _reset(self, budget: float, until_failure: bool) -> None:
        self.collector.reset()
        self.deadline.start(budget, until_failure)
        self.sink.seek(0)
        self.sink.truncate()
        reporter = self.plugins.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.stats.clear()  # a report per check phase would pile up over a class


@contextmanager
def _quiet(sink: io.StringIO) -> Iterator[None]:
    autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        with warnings.catch_warnings(), redirect_stdout(sink), redirect_stderr(sink):
            yield
    finally:
        if autoload is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload


def open_session(steps: list[Step], serve: Callable[[Session], None]) -> str:
    """Collect the checks of `steps` once and call `serve` with the session; returns "" once
    `serve` has run, else why the session could not start."""
    try:
        modules = sorted({check_module_path(step) for step in steps})
    except SubmissionError as exc:
        return str(exc)
    if not modules:
        return "No step to check."
    root = modules[0].parent
    args = [
        *map(str, modules), "-p", "no:cacheprovider", *(f"-pno:{name}" for name in _UNUSED_PLUGINS),
        "--import-mode=importlib", "--rootdir", str(root), "-c", str(root / "pytest.ini"), "-q",
        "--tb=no", "--capture=no",
    ]
    session = Session(serve)
    with _quiet(session.sink):
        code = pytest.main(args, plugins=[plugin, session.deadline, session.collector, session])
    if session.started:
        return ""
    tail = session.sink.getvalue().strip().splitlines()[-1:] or [str(code)]
    return f"The grader could not run its checks: {tail[0]}"


def run_steps(
    steps: list[tuple[Step, Path]], limits: Limits, budget: float, until_failure: bool = False
) -> dict[int, StepReport]:
    """Check each (step, folder) pair in a session of their own; a report for every step."""
    reports: dict[int, StepReport] = {}
    failure = open_session(
        [step for step, _ in steps],
        lambda session: reports.update(session.run(steps, limits, budget, until_failure)),
    )
    if failure:
        return {step.number: error_report(step.number, step.points, failure) for step, _ in steps}
    return reports


__all__ = ["Session", "SubmissionError", "check_module_path", "open_session", "preflight", "run_steps"]
