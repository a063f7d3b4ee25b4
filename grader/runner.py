"""Student processes seen from the grader: start, talk over HTTP on a Unix socket, stop, clean up.

A child is forked from the grader (fastapi and uvicorn already imported, so it starts in a few
milliseconds) or, where fork is missing, spawned as `python -m grader.child`. Each child leads its
own process group, which is killed whole when the grader is done with it.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from grader.child import ChildSpec, run_child, spec_arg
from grader.workspace import IGNORED

CAN_FORK = hasattr(os, "fork")


@dataclass(frozen=True)
class Limits:
    startup: float = 10.0  # seconds for main.py to import and the server to answer
    request: float = 5.0  # seconds for one HTTP answer
    stop: float = 3.0  # seconds a graceful stop may take before SIGKILL
    output: int = 64 * 1024  # bytes of the student's output kept
    cpu_seconds: int = 60
    memory_bytes: int = 2 << 30


@dataclass
class ChildReport:
    """What a child said on its status pipe, and how it ended."""

    stage: str  # "facts", "ready", "import", "startup", "timeout", "exited"
    error: str | None = None
    message: str = ""
    file: str | None = None
    line: int | None = None
    traceback: str = ""
    names: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and self.stage in ("facts", "ready")


class Scratch:
    """A throwaway copy of a step folder, so grading never touches the student's files."""

    def __init__(self, source: Path) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="persistlab-"))
        self.folder = self.root / "app"
        shutil.copytree(source, self.folder, ignore=IGNORED, symlinks=True)

    def fresh(self, source: Path, name: str) -> Path:
        folder = self.root / name
        shutil.copytree(source, folder, ignore=IGNORED, symlinks=True)
        return folder

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class StudentProcess:
    """One child process importing a student's main.py."""

    def __init__(self, folder: Path, mode: str, limits: Limits, workdir: Path) -> None:
        self.folder = folder
        self.mode = mode
        self.limits = limits
        self.pid: int | None = None
        self._popen: subprocess.Popen[bytes] | None = None
        self._status_r, status_w = os.pipe()
        fd, self.output_path = tempfile.mkstemp(prefix="out-", dir=workdir)
        self.socket_path = str(workdir / f"s{id(self) % 100000}.sock")
        self.listener: socket.socket | None = None
        sock_fd = -1
        if mode == "serve":
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(self.socket_path)
            self.listener.listen(128)
            sock_fd = self.listener.fileno()
        spec = ChildSpec(
            folder=str(folder),
            mode=mode,
            status_fd=status_w,
            output_fd=fd,
            socket_fd=sock_fd,
            cpu_seconds=limits.cpu_seconds,
            memory_bytes=limits.memory_bytes,
        )
        inherited = [status_w, fd] + ([sock_fd] if sock_fd >= 0 else [])
        if CAN_FORK:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                code = 1
                try:
                    os.close(self._status_r)
                    code = run_child(spec)
                finally:
                    try:
                        sys.stdout.flush()
                        sys.stderr.flush()
                    finally:
                        os._exit(code)
            self.pid = pid
        else:  # pragma: no cover - platforms without fork
            self._popen = subprocess.Popen(
                [sys.executable, "-m", "grader.child", spec_arg(spec)],
                pass_fds=inherited,
                start_new_session=True,
                cwd=folder,
            )
            self.pid = self._popen.pid
        os.close(status_w)
        os.close(fd)
        if self.listener is not None:
            self.listener.close()  # the child holds its own copy
        self._buffer = b""
        self.report: ChildReport | None = None

    def wait_report(self, until: str) -> ChildReport:
        """Read the status pipe until the child reports `until`, an error, exits or times out."""
        deadline = time.monotonic() + self.limits.startup
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict) and (message.get("stage") == until or message.get("error")):
                    self.report = ChildReport(**{k: v for k, v in message.items() if k in _FIELDS})
                    return self.report
            left = deadline - time.monotonic()
            if left <= 0:
                self.report = ChildReport(stage="timeout", error="Timeout", message=f"{self.limits.startup:g} s")
                return self.report
            ready, _, _ = select.select([self._status_r], [], [], left)
            if ready:
                chunk = os.read(self._status_r, 65536)
                if not chunk:
                    code = self.wait(self.limits.stop)
                    self.report = ChildReport(stage="exited", error="Exited", message=f"exit status {code}")
                    return self.report
                self._buffer += chunk

    def client(self) -> httpx.Client:
        transport = httpx.HTTPTransport(uds=self.socket_path, verify=False)
        return httpx.Client(transport=transport, base_url="http://student", timeout=self.limits.request)

    def alive(self) -> bool:
        return self.returncode() is None

    def returncode(self) -> int | None:
        if self.pid is None:
            return None
        if self._popen is not None:
            return self._popen.poll()
        if getattr(self, "_code", None) is not None:
            return self._code
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            self._code = -1
            return self._code
        if pid == 0:
            return None
        self._code = os.waitstatus_to_exitcode(status)
        return self._code

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while True:
            code = self.returncode()
            if code is not None or time.monotonic() >= deadline:
                return code
            time.sleep(0.005)

    def signal_group(self, sig: int) -> None:
        if self.pid is None:
            return
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, graceful: bool = True) -> int | None:
        """SIGTERM and wait (graceful), or SIGKILL at once; the whole group is killed in the end."""
        code = self.returncode()
        if code is None and graceful:
            self.signal_group(signal.SIGTERM)
            code = self.wait(self.limits.stop)
        self.signal_group(signal.SIGKILL)
        if code is None:
            code = self.wait(self.limits.stop)
        return code

    def output(self) -> str:
        try:
            with open(self.output_path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - self.limits.output))
                data = handle.read()
        except OSError:
            return ""
        return data.decode("utf-8", "replace")

    def close(self) -> None:
        self.stop(graceful=False)
        os.close(self._status_r)
        for path in (self.output_path, self.socket_path):
            try:
                os.unlink(path)
            except OSError:
                pass


_FIELDS = set(ChildReport.__dataclass_fields__)


def probe(folder: Path, limits: Limits, workdir: Path) -> tuple[ChildReport, str]:
    """Import main.py in a child and return its module facts (or the error) and its output."""
    child = StudentProcess(folder, "probe", limits, workdir)
    try:
        report = child.wait_report("facts")
        child.wait(limits.stop)
        return report, child.output()
    finally:
        child.close()
