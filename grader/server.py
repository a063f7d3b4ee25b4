"""A student's app as a running server, seen from a check: start, ask over HTTP, crash, restart."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from grader.engine.child import Inline
from grader.engine.limits import Limits
from grader.engine.process import ChildReport, StudentProcess
from grader.engine.transport import UnsafeAnswer, waited
from grader.feedback import (
    CheckFailure,
    memory_exceeded,
    no_answer,
    startup_failure,
    status_failure,
)


class StudentServer:
    """`main:app` served from `folder` (with `env` added to its environment), or the app's own
    `command` (which the child runs itself where `inline` says how); every failure is raised as
    a CheckFailure."""

    def __init__(
        self, folder: Path, limits: Limits, workdir: Path,
        env: dict[str, str] | None = None, command: list[str] | None = None,
        inline: Inline | None = None,
    ) -> None:
        self.folder = folder
        self.limits = limits
        self.workdir = workdir
        self.env = env or {}
        self.command = command
        self.inline = inline
        self.waits_on: Callable[[], bool] | None = None  # a wait the grader sees (the database's)
        self.process: StudentProcess | None = None
        self._client: httpx.Client | None = None
        self.starts = 0
        self.stuck = False  # a request timed out or lost its connection
        self.startup_allowed = limits.startup  # the last start's limit, with its second wait
        self.memory_exceeded = False  # the last start failed for going over its memory

    def start(self) -> StudentServer:
        report, output = self.try_start()
        if self.memory_exceeded:
            raise memory_exceeded("Starting the app", self.limits.memory_bytes)
        if not report.ok:
            raise self.startup_failure(report, output)
        return self

    def try_start(self) -> tuple[ChildReport, str]:
        """Start the server and say how it went: running when the report is ok; else stopped,
        with its output."""
        if self.process is not None:
            raise RuntimeError("server already running")
        self.process = StudentProcess(
            self.folder, self.limits, self.workdir, env=self.env, command=self.command,
            inline=self.inline, waits_on=self.waits_on,
        )
        self.starts += 1
        report = self.process.wait_report("ready")
        self.startup_allowed = self.process.startup_allowed
        if not report.ok:
            output = self.process.output()
            self.memory_exceeded = self.process.memory_exceeded()
            self.close()
            return report, output
        self._client = self.process.client()
        return report, ""

    def startup_failure(self, report: ChildReport, output: str) -> CheckFailure:
        return startup_failure(report, output, self.startup_allowed)

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
        except httpx.TimeoutException as exc:
            self.stuck = True
            given = waited(exc, self.limits.request)
            raise no_answer(action, given, self.process.returncode(), self.output(),
                            self.folder) from None
        except UnsafeAnswer as exc:
            self.stuck = True
            raise CheckFailure(
                f"{action}: the grader refused the answer unread: {exc.reason}.",
                "Return plain JSON from the route (a dict or a Pydantic model) and let FastAPI "
                "write the answer; no compression, no custom headers or streaming needed.",
            ) from None
        except httpx.TransportError as exc:
            self.stuck = True
            exited = self.process.wait(self.limits.stop)
            if self.process.memory_exceeded():
                raise memory_exceeded(action, self.limits.memory_bytes) from None
            if exited is None and isinstance(exc, httpx.RemoteProtocolError):
                raise CheckFailure(
                    f"{action}: the answer was not valid HTTP ({exc}).",
                    "Let FastAPI and uvicorn write the answer: return a dict or a Response "
                    "object from the route, never bytes written to the socket yourself.",
                ) from None
            raise no_answer(action, self.limits.request, exited, self.output(),
                            self.folder) from None

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


__all__ = ["ChildReport", "StudentServer"]
