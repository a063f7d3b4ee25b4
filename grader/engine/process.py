"""Student processes seen from the grader: start, talk over HTTP on a Unix socket, stop, clean up.

A child is forked by the zygote (fastapi and uvicorn already imported, so it starts in a few
milliseconds) or, where fork is missing, spawned as `python -m grader.engine.child`. Each child
leads its own process group, which is killed whole when the grader is done with it.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from grader.engine.child import TOKEN_BYTES, ChildSpec, spec_arg
from grader.engine.limits import Limits
from grader.engine.preload import kind_for
from grader.engine.transport import deadline_client
from grader.engine.zygote import shared_zygote

CAN_FORK = hasattr(os, "fork")
MAX_SOCKET_PATH = 100  # AF_UNIX paths end at 104 bytes (macOS) or 108 (Linux)
_serial = itertools.count()


def socket_path(workdir: Path, name: str) -> str:
    """Where a student server's socket goes: in `workdir`, unless that path is too long for a
    Unix socket (a long TMPDIR); then in a short private folder of this process's."""
    path = str(workdir / name)
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        return path
    return str(_short_socket_folder() / f"{os.getpid()}-{name}")


@functools.cache
def _short_socket_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="pl-", dir="/tmp" if os.path.isdir("/tmp") else None))
    atexit.register(shutil.rmtree, folder, True)
    return folder


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


class StudentProcess:
    """One child process importing a student's main.py, forked by the zygote."""

    def __init__(
        self, folder: Path, mode: str, limits: Limits, workdir: Path, env: dict[str, str] | None = None
    ) -> None:
        self.folder = folder
        self.mode = mode
        self.limits = limits
        self._popen: subprocess.Popen[bytes] | None = None
        self._status, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._status_r, status_w = self._status.fileno(), theirs.fileno()
        self._token = secrets.token_hex(TOKEN_BYTES // 2)
        self._status.sendall(f"{self._token}\n".encode())
        fd, self.output_path = tempfile.mkstemp(prefix="out-", dir=workdir)
        self.socket_path = socket_path(workdir, f"s{next(_serial)}.sock")
        listener: socket.socket | None = None
        if mode == "serve":
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(self.socket_path)
            listener.listen(128)
        spec = ChildSpec(
            folder=str(folder),
            mode=mode,
            status_fd=status_w,
            output_fd=fd,
            socket_fd=listener.fileno() if listener else -1,
            cpu_seconds=limits.cpu_seconds,
            memory_bytes=limits.memory_bytes,
            file_bytes=limits.file_bytes,
            sandbox=asdict(limits.sandbox) if limits.sandbox else None,
            env=dict(env or {}),
        )
        try:
            if CAN_FORK:
                kind = kind_for(folder) if limits.preload == "auto" else limits.preload
                self.pid = shared_zygote(kind).spawn(spec)
            else:  # pragma: no cover - platforms without fork
                inherited = [status_w, fd] + ([spec.socket_fd] if listener else [])
                self._popen = subprocess.Popen(
                    [sys.executable, "-m", "grader.engine.child", spec_arg(spec)],
                    pass_fds=inherited, start_new_session=True, cwd=folder,
                )
                self.pid = self._popen.pid
        finally:
            theirs.close()
            os.close(fd)
            if listener is not None:
                listener.close()  # the child holds its own copy
        self._buffer = b""
        self._messages: list[dict[str, Any]] = []
        self._code: int | None = None
        self._eof = False
        self.report: ChildReport | None = None

    def _pump(self, timeout: float) -> None:
        """Read what the status pipe has (waiting up to `timeout`) into messages."""
        if self._eof:
            return
        ready, _, _ = select.select([self._status_r], [], [], max(timeout, 0))
        if not ready:
            return
        try:
            chunk = os.read(self._status_r, 65536)
        except ConnectionResetError:  # the child ended before it read its token
            chunk = b""
        if not chunk:
            self._eof = True
            if self._code is None and self._popen is not None:
                self._code = self._popen.wait()
            return
        self._buffer += chunk
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if message.get("stage") == "exited" and "code" in message:  # from the zygote
                self._code = int(message["code"])
            elif message.pop("token", None) == self._token:
                self._messages.append(message)

    def wait_report(self, until: str) -> ChildReport:
        """Read the status pipe until the child reports `until`, an error, exits or times out."""
        deadline = time.monotonic() + self.limits.startup
        while True:
            for message in self._messages:
                if message.get("stage") == until or message.get("error"):
                    fields = {k: v for k, v in message.items() if k in _FIELDS}
                    self.report = ChildReport(**fields)
                    return self.report
            if self._code is not None or self._eof:
                code = self._code if self._code is not None else self.wait(self.limits.stop)
                self.report = ChildReport(stage="exited", error="Exited", message=f"exit status {code}")
                return self.report
            left = deadline - time.monotonic()
            if left <= 0:
                self.report = ChildReport(
                    stage="timeout", error="Timeout", message=f"{self.limits.startup:g} s"
                )
                return self.report
            self._pump(left)

    def client(self) -> httpx.Client:
        return deadline_client(self.socket_path, self.limits.request)

    def returncode(self) -> int | None:
        if self._popen is not None:
            return self._popen.poll()
        self._pump(0)
        return self._code

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while self.returncode() is None and not self._eof:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._pump(left)
        return self._code

    def signal_group(self, sig: int) -> None:
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
        self._status.close()
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
