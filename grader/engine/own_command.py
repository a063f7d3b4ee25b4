"""A student's app started with its own command (by default `python -m uvicorn main:app`).

The zygote's forked children share the grader's environment; a step that must hand the app a
setting such as DATABASE_URL starts it this way instead: slower, but exactly what a user runs.
A step may give the command itself (step 11 runs the Dockerfile's CMD); it always listens on a
Unix socket the grader chose, given last as `--uds`. It gets the rlimits a forked child gets, and
dies with the grader.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from grader.engine.family import descendants, kill_family
from grader.engine.limits import Limits, die_with_parent, set_limits
from grader.engine.process import socket_path
from grader.engine.transport import deadline_client

STARTUP_FLOOR = 20.0  # a fresh interpreter imports fastapi, sqlalchemy and a driver itself
_serial = itertools.count()


def _contain(parent: int, limits: Limits) -> None:
    """In the new process, before the command runs: it dies with the grader, under rlimits."""
    die_with_parent()
    if os.getppid() != parent:  # the grader died before the line above
        os._exit(1)
    set_limits(limits.cpu_seconds, limits.memory_bytes, limits.file_bytes)


def default_command() -> list[str]:
    return [sys.executable, "-m", "uvicorn", "main:app"]


class UvicornProcess:
    """`command` (by default `python -m uvicorn main:app`) on a Unix socket, in its own process group."""

    def __init__(
        self, folder: Path, limits: Limits, workdir: Path, env: dict[str, str],
        command: list[str] | None = None,
    ) -> None:
        self.limits = limits
        self.socket_path = socket_path(workdir, f"real{os.getpid()}-{next(_serial)}.sock")
        fd, self.output_path = tempfile.mkstemp(prefix="out-", dir=workdir)
        try:  # a preexec_fn is safe here: checks start servers from the one thread they run in
            self.popen = subprocess.Popen(
                [*(command or default_command()), "--uds", self.socket_path],
                cwd=folder, env={**os.environ, **env}, stdout=fd, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=functools.partial(_contain, os.getpid(), limits),  # noqa: PLW1509
            )
        finally:
            os.close(fd)
        self.pid = self.popen.pid

    def wait_ready(self) -> bool:
        """Wait until uvicorn listens (it binds after the app's startup code ran) or exits."""
        deadline = time.monotonic() + max(self.limits.startup, STARTUP_FLOOR)
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                return False
            if os.path.exists(self.socket_path):
                return True
            time.sleep(0.05)
        return False

    def client(self) -> httpx.Client:
        return deadline_client(self.socket_path, self.limits.request)

    def returncode(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def _kill_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def stop(self, graceful: bool = True) -> int | None:
        """SIGTERM and a wait (graceful), then SIGKILL for the whole group and every descendant,
        found before the stop so that one which left the group (setsid) is not missed."""
        family = descendants(self.pid)
        if graceful and self.returncode() is None:
            self._kill_group(signal.SIGTERM)
            self.wait(self.limits.stop)
        self._kill_group(signal.SIGKILL)
        kill_family(self.pid)
        for pid in family:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.wait(self.limits.stop)
        return self.returncode()

    def output(self) -> str:
        try:
            data = Path(self.output_path).read_bytes()[-self.limits.output:]
        except OSError:
            return ""
        return data.decode("utf-8", "replace")

    def close(self) -> None:
        self.stop(graceful=False)
        for path in (self.output_path, self.socket_path):
            try:
                os.unlink(path)
            except OSError:
                pass


__all__ = ["STARTUP_FLOOR", "UvicornProcess", "default_command"]
