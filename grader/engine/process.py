"""Student processes seen from the grader: start, talk over HTTP on a Unix socket, stop, clean up.

A child is forked by the zygote (fastapi and uvicorn already imported, so it starts in a few
milliseconds) or, where fork is missing, spawned as `python -m grader.engine.child`. Each child
leads its own process group, which is killed whole when the grader is done with it.
"""

from __future__ import annotations

import array
import atexit
import fcntl
import functools
import itertools
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from grader.engine.cgroups import StudentCgroup, worker_group
from grader.engine.child import TOKEN_BYTES, ChildSpec, Inline, spec_arg
from grader.engine.limits import Limits
from grader.engine.own_socket import OwnSocket
from grader.engine.patience import kept_waiting, second_wait
from grader.engine.preload import GROWING, kind_for
from grader.engine.status import Lines, from_child
from grader.engine.transport import deadline_client
from grader.engine.zygote import shared_zygote

CAN_FORK = hasattr(os, "fork")
STARTUP_FLOOR = 20.0  # an own command's fresh interpreter imports fastapi, sqlalchemy and a driver
MAX_SOCKET_PATH = 100  # AF_UNIX paths end at 104 bytes (macOS) or 108 (Linux)
MAX_MESSAGES = 64  # messages kept from one child; the rest are dropped
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
    """/dev/shm where there is one: an app started with its own command binds its socket here,
    and under `check` its /tmp is its own (`sandbox.private_tmp`)."""
    place = next((p for p in ("/dev/shm", "/tmp") if os.access(p, os.W_OK | os.X_OK)), None)
    folder = Path(tempfile.mkdtemp(prefix="pl-", dir=place))
    atexit.register(shutil.rmtree, folder, True)
    return folder


class OutputDrain:
    """A student process's output, read from a pipe as it comes, so writing never fails or blocks
    however much it writes: the first and last `keep // 2` bytes are kept, and the count."""

    def __init__(self, fd: int, keep: int) -> None:
        self._fd, self._half = fd, max(keep // 2, 1)
        self.head, self.tail, self.total = bytearray(), bytearray(), 0
        self._busy = self._ended = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            if not select.select([self._fd], [], [], 0.1)[0]:
                continue
            with self._lock:
                self._busy = True
            try:
                data = os.read(self._fd, 65536)
            except OSError:
                data = b""
            with self._lock:
                self._busy = False
                if not data:
                    self._ended = True
                    return
                self.total += len(data)
                room = self._half - len(self.head)
                if room > 0:
                    self.head += data[:room]
                    data = data[room:]
                self.tail += data
                del self.tail[: -self._half]

    @property
    def cut(self) -> int:
        """Bytes written and not kept (from the middle)."""
        return self.total - len(self.head) - len(self.tail)

    def _settled(self) -> bool:
        """Whether what was written so far has been read (nothing waits in the pipe)."""
        with self._lock:
            if self._ended:
                return True
            if self._busy:
                return False
            waiting = array.array("i", [0])
            try:
                fcntl.ioctl(self._fd, termios.FIONREAD, waiting)
            except OSError:
                return True
            return waiting[0] == 0

    def text(self) -> str:
        """The output so far, once what is waiting in the pipe is read (0.5 s at most, for an
        app that never stops writing)."""
        deadline = time.monotonic() + 0.5
        while not self._settled() and time.monotonic() < deadline:
            time.sleep(0.002)
        with self._lock:
            head, tail, cut = bytes(self.head), bytes(self.tail), self.cut
        middle = f"\n[... {cut} bytes of output cut here ...]\n".encode() if cut else b""
        return (head + middle + tail).decode("utf-8", "replace")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        os.close(self._fd)


@dataclass
class ChildReport:
    """What a child said on its status pipe, and how it ended."""

    stage: str  # "ready", "import", "startup", "timeout", "exited"
    error: str | None = None
    message: str = ""
    file: str | None = None
    line: int | None = None
    traceback: str = ""
    code: int | None = None  # how an "exited" child ended: its exit status, or minus the signal

    @property
    def ok(self) -> bool:
        return self.error is None and self.stage == "ready"


class StudentProcess:
    """One student process, forked by the zygote: it imports main.py and serves `app` with `env`
    added to its environment, or, given a `command`, runs the app's own command, which must
    listen on the Unix socket given as `--uds` (run by the child itself, without a shell, where
    `inline` says how). Both are started, watched, asked and stopped the same way, in the sandbox
    when the limits have one."""

    def __init__(
        self, folder: Path, limits: Limits, workdir: Path,
        env: dict[str, str] | None = None, command: list[str] | None = None,
        inline: Inline | None = None, waits_on: Callable[[], bool] | None = None,
    ) -> None:
        self.folder = folder
        self._waits_on = waits_on  # a wait the grader sees from outside (a query at the database)
        self.mode = mode = "exec" if command else "serve"
        self.limits = limits
        self._popen: subprocess.Popen[bytes] | None = None
        self._status, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._status_r, status_w = self._status.fileno(), theirs.fileno()
        self._token = secrets.token_hex(TOKEN_BYTES // 2)
        self._status.sendall(f"{self._token}\n".encode())
        trusted_r, trusted_w = os.pipe()  # the zygote's and the sandbox's word: no student holds it
        self._trusted = Lines(trusted_r)
        drain, fd = os.pipe()
        self.drain = OutputDrain(drain, limits.output)
        self._own_folder: Path | None = None
        self._own_socket: OwnSocket | None = None
        self._address: str | None = None  # where the grader connects to the app's own socket
        if mode == "exec":  # the command makes its socket itself, as the student's user
            self._own_folder = Path(tempfile.mkdtemp(prefix=".listen-", dir=folder))
            self.socket_path = socket_path(self._own_folder, "app.sock")
            owner = limits.sandbox.uid if limits.sandbox is not None else os.geteuid()
            self._own_socket = OwnSocket(self.socket_path, owner)  # before the student owns it
            if limits.sandbox is not None:
                os.chown(self._own_folder, limits.sandbox.uid, limits.sandbox.uid)
            command = [*(command or []), "--uds", self.socket_path]
            if inline is not None:
                inline = replace(inline, uvicorn=(*inline.uvicorn, "--uds", self.socket_path))
        else:
            self.socket_path = socket_path(workdir, f"s{next(_serial)}.sock")
        self.cgroup: StudentCgroup | None = None
        if limits.sandbox is not None and limits.sandbox.cgroups:
            self.cgroup = worker_group(limits.memory_bytes, limits.sandbox.processes)
            self.cgroup.mark()
        self._oom_at_close = False
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
            trusted_fd=trusted_w,
            socket_fd=listener.fileno() if listener else -1,
            cpu_seconds=limits.cpu_seconds,
            memory_bytes=0 if self.cgroup else limits.memory_bytes,
            file_bytes=limits.file_bytes,
            sandbox=asdict(limits.sandbox) if limits.sandbox else None,
            env=env or {},
            command=command or [],
            inline=asdict(inline) if inline is not None and mode == "exec" else None,
        )
        try:
            if CAN_FORK:
                by_app = limits.preload in ("auto", GROWING)
                kind = kind_for(folder) if by_app else limits.preload
                group = tuple(self.cgroup.procs_files) if self.cgroup else ()
                zygote = shared_zygote(GROWING if limits.preload == GROWING else kind, group)
                zygote.warm(kind)
                if self.cgroup is not None:
                    self.cgroup.protected.add(zygote.process.pid)
                self.pid = zygote.spawn(spec)
            else:  # pragma: no cover - platforms without fork
                inherited = [status_w, fd] + ([spec.socket_fd] if listener else [])
                self._popen = subprocess.Popen(  # no zygote: its exit status is Popen's to say
                    [sys.executable, "-m", "grader.engine.child", spec_arg(replace(spec, trusted_fd=-1))],
                    pass_fds=inherited, start_new_session=True, cwd=folder,
                )
                self.pid = self._popen.pid
        finally:
            theirs.close()
            os.close(fd)
            os.close(trusted_w)
            if listener is not None:
                listener.close()  # the child holds its own copy
        self._said = Lines(self._status_r)  # the child's own reports, with the token
        self._messages: list[dict[str, Any]] = []
        self._code: int | None = None
        self._eof = False  # the trusted pipe ended: the zygote has said how the process ended
        self.report: ChildReport | None = None
        startup = max(limits.startup, STARTUP_FLOOR) if mode == "exec" else limits.startup
        self.startup_allowed = startup  # the start's limit, and its second wait if given

    def _pump(self, timeout: float) -> None:
        """Read what the status socket and the trusted pipe have (waiting up to `timeout`)."""
        if self._eof:
            return
        channels = [c for c in (self._said, self._trusted) if not c.ended]
        ready, _, _ = select.select([c.fd for c in channels], [], [], max(timeout, 0))
        for channel in channels:
            if channel.fd not in ready:
                continue
            for message in channel.read():
                if channel is self._trusted:
                    self._take_trusted(message)
                elif (said := from_child(message, self._token)) is not None:
                    self._keep(said)
        if (self._trusted if self._popen is None else self._said).ended:
            self._eof = True
            if self._code is None and self._popen is not None:
                self._code = self._popen.wait()

    def _take_trusted(self, message: dict[str, Any]) -> None:
        if message.get("stage") == "exited" and isinstance(message.get("code"), int):  # the zygote's
            self._code = message["code"]
        elif message.get("error"):  # the sandbox could not be set up
            self._keep(message)

    def _keep(self, message: dict[str, Any]) -> None:
        if len(self._messages) < MAX_MESSAGES:
            self._messages.append(message)

    def wait_report(self, until: str) -> ChildReport:
        """Read the status pipe until the child reports `until`, an error, exits or times out (a
        start that is only slow, on a busy machine, gets a second wait)."""
        deadline = time.monotonic() + self.startup_allowed  # an own command's floor included
        confirmed = looked = False
        while True:
            if self._own_socket is not None:
                self._address = self._own_socket.address()
                if self._address is not None:
                    self.report = ChildReport(stage="ready")
                    return self.report
            for message in self._messages:
                if message.get("stage") == until or message.get("error"):
                    fields = {k: v for k, v in message.items() if k in _FIELDS}
                    self.report = ChildReport(**fields)
                    return self.report
            if self._code is not None or self._eof:
                code = self._code if self._code is not None else self.wait(self.limits.stop)
                self.report = ChildReport(stage="exited", error="Exited", message=f"exit status {code}",
                                          code=code)
                return self.report
            left = deadline - time.monotonic()
            if left <= 0 and not confirmed:
                confirmed = True
                if self.kept_waiting():
                    more = second_wait(self.limits.startup)
                    self.startup_allowed, deadline = self.startup_allowed + more, deadline + more
                    continue
            if left <= 0 and not looked:  # once: a report that had arrived in time counts
                looked = True
                self._pump(0)
                continue
            if left <= 0:
                self.report = ChildReport(
                    stage="timeout", error="Timeout", message=f"{self.startup_allowed:g} s"
                )
                return self.report
            self._pump(min(left, 0.02) if self.mode == "exec" else left)

    def kept_waiting(self) -> bool:
        """Whether a limit that ran out found the app only slow: held back by the machine, or
        waiting on something of the grader's that is at work."""
        return (self._waits_on is not None and self._waits_on()) or kept_waiting(self.pid)

    def client(self) -> httpx.Client:
        return deadline_client(
            self._address or self.socket_path, self.limits.request, self.kept_waiting
        )

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
        return self.drain.text()

    def memory_exceeded(self) -> bool:
        """Whether the kernel killed the student's process for using more than its memory."""
        return self.cgroup.oom_killed() if self.cgroup is not None else self._oom_at_close

    def close(self) -> None:
        self.stop(graceful=False)
        if self.cgroup is not None:  # the worker's group: emptied for the next student process
            self._oom_at_close = self.cgroup.oom_killed()
            self.cgroup.kill()
            self.cgroup = None
        self._status.close()
        os.close(self._trusted.fd)
        self.drain.close()
        if self._own_socket is not None:
            self._own_socket.close()
        else:
            try:
                os.unlink(self.socket_path)
            except OSError:
                pass
        if self._own_folder is not None:
            shutil.rmtree(self._own_folder, ignore_errors=True)


_FIELDS = set(ChildReport.__dataclass_fields__) - {"code"}  # the code comes from the zygote only
