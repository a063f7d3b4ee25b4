"""A student's app as a running server, seen from a check: start, ask over HTTP, crash, restart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from grader.engine.limits import Limits
from grader.engine.process import ChildReport, StudentProcess, probe
from grader.feedback import CheckFailure, no_answer, startup_failure, status_failure

FASTAPI = "fastapi.applications.FastAPI"


class StudentServer:
    """`main:app` served from `folder`; every failure is raised as a CheckFailure."""

    command: list[str] | None = None  # the app's own start command, when it has one

    def __init__(self, folder: Path, limits: Limits, workdir: Path) -> None:
        self.folder = folder
        self.limits = limits
        self.workdir = workdir
        self.process: StudentProcess | None = None
        self._client: httpx.Client | None = None
        self.starts = 0
        self.stuck = False  # a request timed out or lost its connection

    def start(self) -> StudentServer:
        if self.process is not None:
            raise RuntimeError("server already running")
        self.process = StudentProcess(self.folder, "serve", self.limits, self.workdir)
        self.starts += 1
        report = self.process.wait_report("ready")
        if not report.ok:
            output = self.process.output()
            self.close()
            raise startup_failure(report, output, self.limits.startup)
        self._client = self.process.client()
        return self

    def output(self) -> str:
        return self.process.output() if self.process else ""

    def settled_output(self, wait: float = 0.5) -> str:
        """The output once a traceback has appeared: uvicorn logs it after sending the 500."""
        deadline = time.monotonic() + wait
        output = self.output()
        while "Traceback" not in output and time.monotonic() < deadline:
            time.sleep(0.01)
            output = self.output()
        return output

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self._client is None or self.process is None:
            raise RuntimeError("server not running")
        action = f"{method} {path}"
        try:
            return self._client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            self.stuck = True
            exited = self.process.returncode()
            raise no_answer(action, self.limits.request, exited, self.output(), self.folder, self.command) from None
        except httpx.TransportError:
            self.stuck = True
            exited = self.process.wait(self.limits.stop)
            raise no_answer(action, self.limits.request, exited, self.output(), self.folder, self.command) from None

    def expect(
        self, response: httpx.Response, codes: tuple[int, ...], sent_text: str = ""
    ) -> Any:
        """Fail unless the status is one of `codes`; return the JSON body."""
        action = f"{response.request.method} {response.request.url.path}"
        if response.status_code not in codes:
            expected = " or ".join(str(c) for c in codes)
            output = self.settled_output() if response.status_code >= 500 else self.output()
            raise status_failure(response, expected, action, output, sent_text)
        try:
            return response.json()
        except ValueError:
            raise CheckFailure(
                f"{action} answered {response.status_code}, but the body is not JSON: "
                f"{response.text[:200]!r}",
                "Return a dict (or a Pydantic model) from the function; FastAPI turns it into JSON.",
            ) from None

    def sound(self) -> bool:
        """Running, and every request so far got a whole answer in time."""
        return self.process is not None and not self.stuck and self.process.returncode() is None

    def crash(self) -> None:
        """SIGKILL the server at once: no shutdown code runs, like a power cut."""
        self._stop(graceful=False)

    def shutdown(self) -> None:
        """SIGTERM: uvicorn finishes, runs the app's shutdown code and exits."""
        self._stop(graceful=True)

    def _stop(self, graceful: bool) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.process is not None:
            self.process.stop(graceful=graceful)
            self.process.close()
            self.process = None

    close = crash


def module_facts(folder: Path, limits: Limits, workdir: Path) -> dict[str, dict[str, Any]]:
    """Import main.py in a child process and judge, here, what it reports about its names."""
    report, output = probe(folder, limits, workdir)
    if not report.ok:
        raise startup_failure(report, output, limits.startup)
    return {name: judge(facts) for name, facts in report.names.items() if isinstance(facts, dict)}


def judge(facts: dict[str, Any]) -> dict[str, Any]:
    """A name's raw facts, plus the verdicts the checks read (`is_fastapi`)."""
    genuine = facts.get("genuine")
    return {**facts, "is_fastapi": isinstance(genuine, list) and FASTAPI in genuine}


__all__ = ["ChildReport", "StudentServer", "module_facts"]
