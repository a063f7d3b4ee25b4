"""The pytest plugin that runs step checks: fixtures for a student's code, and result collection."""

from __future__ import annotations

import inspect
import re
import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.engine.limits import Limits
from grader.engine.scratch import BoundedScratch, Scratch, in_memory
from grader.feedback import CheckFailure
from grader.results import (
    ERROR,
    FAILED,
    GRADER_ERROR,
    PASSED,
    SKIPPED,
    TIMEOUT,
    TestResult,
)
from grader.server import StudentServer


@dataclass(frozen=True)
class Target:
    folder: Path
    limits: Limits


TARGETS: dict[str, Target] = {}  # check module path -> the folder it checks; set by the driver


def check(points: int, task: int) -> pytest.MarkDecorator:
    """Mark a check with the points it is worth and the README task it tests."""
    return pytest.mark.persistlab(points=points, task=task)


@pytest.fixture(scope="module")
def target(request: pytest.FixtureRequest) -> Target:
    return TARGETS[str(request.path)]


@pytest.fixture(scope="module")
def limits(target: Target) -> Limits:
    return target.limits


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="persistlab-run-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def scratch(target: Target) -> Iterator[Scratch]:
    """Copies of the step folder; sandboxed, each on its own small tmpfs; for check, in memory
    where the machine has room."""
    sandbox = target.limits.sandbox
    if sandbox and sandbox.namespaces:
        copy: Scratch = BoundedScratch(target.folder)
    else:
        copy = Scratch(target.folder, in_memory() if sandbox is None else None)
    yield copy
    copy.cleanup()


@pytest.fixture(scope="module")
def spawn(
    target: Target, scratch: Scratch, limits: Limits, workdir: Path
) -> Iterator[Callable[..., StudentServer]]:
    """Start the student's server on a folder (default: a fresh copy), with `env` added to its
    environment, once every server started before is killed; all are killed after."""
    servers: list[StudentServer] = []
    copies = 0

    def start(folder: Path | None = None, env: dict[str, str] | None = None) -> StudentServer:
        nonlocal copies
        for running in servers:  # one student process at a time: two could keep notes between them
            running.crash()
        if folder is None:
            copies += 1
            folder = scratch.fresh(target.folder, f"fresh{len(servers)}-{copies}")
        server = StudentServer(folder, limits, workdir, env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.crash()


@pytest.fixture(scope="module")
def latest() -> dict[str, StudentServer]:
    """The module's most recent server, kept running for a check that may reuse it."""
    return {}


def fresh_server(spawn: Callable[..., StudentServer], latest: dict[str, StudentServer]) -> StudentServer:
    previous = latest.pop("server", None)
    if previous is not None:
        previous.crash()
    latest["server"] = spawn()
    return latest["server"]


def keep_running(latest: dict[str, StudentServer], server: StudentServer) -> None:
    """Leave `server` running as the module's latest (the one it replaces is killed)."""
    previous = latest.pop("server", None)
    if previous is not None and previous is not server:
        previous.crash()
    latest["server"] = server


def settle(latest: dict[str, StudentServer]) -> None:
    """After a check: a server that hung or went away is killed now, not kept for the next."""
    kept = latest.get("server")
    if kept is not None and not kept.sound():
        latest.pop("server").crash()


@pytest.fixture
def server(
    spawn: Callable[..., StudentServer], latest: dict[str, StudentServer]
) -> Iterator[StudentServer]:
    """The student's server, started on a fresh copy of the step folder."""
    yield fresh_server(spawn, latest)
    settle(latest)


@pytest.fixture
def running_server(
    spawn: Callable[..., StudentServer], latest: dict[str, StudentServer]
) -> Iterator[StudentServer]:
    """The previous check's server when it is still sound (for a check whose verdict does not
    depend on what was added before), else a fresh one: one start fewer per such check."""
    previous = latest.get("server")
    yield previous if previous is not None and previous.sound() else fresh_server(spawn, latest)
    settle(latest)


NOT_RUN = "The check did not run, so it gives no marks."


class OutOfTime(pytest.skip.Exception):  # type: ignore[misc,name-defined]
    """A check not started because the submission used up its time: a skip, whose outcome is a
    time limit."""
def _app_output(item: pytest.Item) -> str:
    """What the check's server printed so far (for `check --verbose`), while it still runs."""
    for value in getattr(item, "funcargs", {}).values():
        kept = value.get("server") if isinstance(value, dict) else value
        if isinstance(kept, StudentServer):
            return kept.output()
    return ""


def _source(item: pytest.Item) -> str:
    """The check's own code, its docstring left out (Exercism's `test_code`); for a replay, the
    code of the earlier checks it runs (`replays`)."""
    function = getattr(item, "function", None)
    if function is None:
        return ""
    return "\n\n".join(filter(None, map(_code_of, getattr(function, "replays", None) or (function,))))


def _code_of(function: Callable[..., object]) -> str:
    try:
        lines = inspect.getsource(function).splitlines()
    except (OSError, TypeError):
        return ""
    text = textwrap.dedent("\n".join(lines))
    if inspect.getdoc(function):
        text = re.sub(r'\n(\s*)("""|\'\'\')(?:.|\n)*?\2\n', "\n", text, count=1)
    return text.strip()


class Collector:
    """Records each check's verdict, in collection order: a check that never ran is an error."""

    def __init__(self) -> None:
        self.checks: dict[str, tuple[str, int, int, str, str]] = {}  # nodeid: name, points, task, source, function
        self.results: dict[str, TestResult] = {}
        self.order: list[str] = []
        self.settled: set[str] = set()  # checks whose first failure is recorded
        self.internal_error = ""

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "persistlab(points, task): points and task of a check")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            mark = item.get_closest_marker("persistlab")
            doc = getattr(item, "function", None).__doc__ if hasattr(item, "function") else None
            name = (doc or item.name).strip().splitlines()[0]
            if mark is None:
                self.internal_error = f"check {item.name} has no points: a grader bug."
                continue
            self.order.append(item.nodeid)
            function = getattr(item, "originalname", item.name)
            self.checks[item.nodeid] = (name, mark.kwargs["points"], mark.kwargs["task"], _source(item), function)
        self.reset()

    def reset(self) -> None:
        """Every check back to not run (before a run of the checks, or a run again)."""
        self.settled.clear()
        self.results = {
            nodeid: TestResult(name=name, status=ERROR, max_score=points, task_id=task, message=NOT_RUN,
                               outcome=GRADER_ERROR, test_code=code, check=function)
            for nodeid, (name, points, task, code, function) in self.checks.items()
        }

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
        yield
        result = self.results.get(item.nodeid)
        if result is None or item.nodeid in self.settled:
            return
        if call.excinfo is None:
            if call.when == "call":
                result.record(PASSED)
            return
        self.settled.add(item.nodeid)
        exc = call.excinfo.value
        if isinstance(exc, CheckFailure):
            result.record(exc.outcome, exc.message, exc.hint)
            result.log = exc.log or _app_output(item)
        elif isinstance(exc, OutOfTime):
            result.record(TIMEOUT, str(exc))
        elif call.excinfo.errisinstance(pytest.skip.Exception):
            result.record(SKIPPED, f"skipped: {exc}")
        elif isinstance(exc, AssertionError) and call.when == "call":
            result.record(FAILED, str(exc).split("\nassert ")[0])
        else:
            result.record(GRADER_ERROR,
                          f"The grader itself failed ({type(exc).__name__}: {exc}); no marks given.")

    def pytest_internalerror(self, excrepr: object) -> None:
        self.internal_error = f"The grader itself failed: {str(excrepr).splitlines()[-1]}"

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.internal_error = f"The grader could not load its checks: {report.longreprtext[-300:]}"

    def tests(self) -> list[TestResult]:
        return [self.results[nodeid] for nodeid in self.order]
