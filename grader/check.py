"""Run one step's checks against a folder of student code and return a StepReport."""

from __future__ import annotations

import importlib.util
import io
import os
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from grader import plugin
from grader.course import Step
from grader.results import StepReport, error_report, summarise
from grader.runner import Limits

MAX_SOURCE_BYTES = 1 << 20
_AUTOLOAD = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"
_UNUSED_PLUGINS = (
    "doctest", "junitxml", "pastebin", "legacypath", "unraisableexception",
    "threadexception", "faulthandler", "logging", "warnings", "setuponly", "setupplan",
    "stepwise", "debugging",
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
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SubmissionError(
                f"{path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8 in your editor."
            ) from None
    if not main.read_text(encoding="utf-8").strip():
        raise SubmissionError(f"{main} is empty: write your code in it (or run `persistlab reset`).")


def check_module_path(step: Step) -> Path:
    spec = importlib.util.find_spec(step.checks)
    if spec is None or spec.origin is None:
        raise SubmissionError(f"The checks module {step.checks} for {step.label} is missing.")
    return Path(spec.origin)


def runs_outside_sandbox(step: Step) -> bool:
    """Checks that start the app themselves (`python -m uvicorn`) bypass the sandbox."""
    return "real_server" in check_module_path(step).read_text(encoding="utf-8")


def run_checks(step: Step, folder: Path, limits: Limits | None = None) -> StepReport:
    """Check `folder` against `step`; never raises for anything the student's code does."""
    try:
        preflight(folder)
        module = check_module_path(step)
    except SubmissionError as exc:
        return error_report(step.number, step.points, str(exc))
    collector = plugin.Collector()
    target = plugin.Target(folder=folder.resolve(), limits=limits or Limits())

    class Configure:
        @staticmethod
        def pytest_configure(config: pytest.Config) -> None:
            config.stash[plugin.TARGET] = target

    args = [
        str(module),
        "-p", "no:cacheprovider",
        *(f"-pno:{name}" for name in _UNUSED_PLUGINS),
        "--import-mode=importlib",
        "--rootdir", str(module.parent),
        "-c", str(module.parent / "pytest.ini"),
        "-q", "--tb=no",  # verdicts come from the plugin: no tracebacks to format
    ]
    sink = io.StringIO()
    autoload = os.environ.get(_AUTOLOAD)
    os.environ[_AUTOLOAD] = "1"
    try:
        with warnings.catch_warnings(), redirect_stdout(sink), redirect_stderr(sink):
            code = pytest.main(args, plugins=[Configure(), plugin, collector])
    finally:
        if autoload is None:
            del os.environ[_AUTOLOAD]
        else:
            os.environ[_AUTOLOAD] = autoload
    if collector.internal_error:
        return error_report(step.number, step.points, collector.internal_error)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        tail = sink.getvalue().strip().splitlines()[-1:] or [str(code)]
        return error_report(step.number, step.points, f"The grader could not run its checks: {tail[0]}")
    return summarise(step.number, step.points, collector.tests())


__all__ = ["SubmissionError", "preflight", "run_checks", "runs_outside_sandbox"]
