"""A zygote: one Python that imports fastapi and uvicorn once, then forks student processes.

The grader starts it first thing, so its imports run on the other core while the grader loads
pytest. Requests arrive as packets on a Unix socket with the child's pipes attached (SCM_RIGHTS),
or ask a growing zygote to warm a kind of app ahead of its first fork; the zygote
forks, answers with the pid, reaps its children and writes each one's exit status on its
trusted pipe (grader.engine.status), which no student code holds, before closing it. The zygote is a child subreaper: a process that a student's code
detached (setsid, double fork) comes back to it when its parent dies, and is killed then.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from grader.engine.environment import die_with_parent, student_environment
from grader.engine.preload import GROWING

TYPE_CHECKING = False  # typing is not imported: the zygote starts before the grader loads more
if TYPE_CHECKING:
    from grader.engine.child import ChildSpec


class ZygoteError(RuntimeError):
    """The zygote could not be started or stopped answering."""


class Zygote:
    """The grader's handle on a running zygote process."""

    def __init__(self, kind: str = "orm", group: tuple[str, ...] = ()) -> None:
        """`group`: the cgroup.procs files of the group it joins once its imports are done, so
        that every child is forked into it."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock = ours
        self._lock = threading.Lock()
        self.kind, self.group = kind, group
        self.process = subprocess.Popen(  # isolated: no folder of a submission on its sys.path
            [sys.executable, "-I", "-m", "grader.engine.zygote", str(theirs.fileno()), kind, *group],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, cwd="/", env=student_environment(),
            start_new_session=True,  # out of reach of the terminal's Ctrl-C; it dies with us
        )
        theirs.close()

    def spawn(self, spec: ChildSpec) -> int:
        """Fork a child running `spec` and return its pid."""
        from dataclasses import asdict

        fds = [spec.status_fd, spec.output_fd, spec.trusted_fd] + ([spec.socket_fd] if spec.socket_fd >= 0 else [])
        data = json.dumps(asdict(spec)).encode()
        with self._lock:
            try:
                socket.send_fds(self._sock, [data], fds)
                reply = self._sock.recv(256)
            except OSError as exc:
                raise ZygoteError(f"the zygote is gone ({exc})") from None
        if not reply:
            raise ZygoteError(f"the zygote exited (status {self.process.poll()})")
        return int(json.loads(reply)["pid"])

    def warm(self, kind: str) -> None:
        """Ask a growing zygote to import what apps of `kind` need now, before its first fork of
        one (it does so at that fork anyway); no answer is awaited."""
        if self.kind != GROWING:
            return
        with self._lock:
            try:
                self._sock.send(json.dumps({"warm": kind}).encode())
            except OSError:
                pass  # spawn() says it, if the zygote is gone

    def close(self) -> None:
        self._sock.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_shared: dict[tuple[str, tuple[str, ...]], Zygote] = {}


def shared_zygote(kind: str = GROWING, group: tuple[str, ...] = ()) -> Zygote:
    """The process-wide zygote of `kind` (see grader.engine.preload), in `group` (cgroup.procs
    files) if given, started on first use and reused by every check after."""
    zygote = _shared.get((kind, group))
    if zygote is None or zygote.process.poll() is not None:
        zygote = _shared[(kind, group)] = Zygote(kind, group)
        atexit.register(zygote.close)
    return zygote


def forget_inherited() -> None:
    """In a process forked from the grader: its zygotes are not ours to use."""
    for zygote in _shared.values():
        zygote._sock.close()
    _shared.clear()


def become_subreaper() -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER


def children(parent: int) -> list[int]:
    """The live processes whose parent is `parent`, from /proc.

    Read from the parent's own task/*/children lists where the kernel has them, which costs the
    same however many processes the machine runs; else from a walk of all of /proc.
    """
    try:
        listed = {int(pid) for task in Path(f"/proc/{parent}/task").iterdir()
                  for pid in (task / "children").read_text().split()}
    except (OSError, ValueError):
        listed = None
    found = []
    candidates = (Path(f"/proc/{pid}") for pid in listed) if listed is not None else Path("/proc").iterdir()
    for entry in candidates:
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent and fields[0] != b"Z":
            found.append(int(entry.name))
    return found


def kill_orphans(leaders: set[int]) -> None:
    """SIGKILL every child of the zygote that is not a student process it forked itself."""
    for pid in children(os.getpid()):
        if pid not in leaders:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _reap(status_fds: dict[int, int], verdicts: dict[int, int]) -> None:
    """Reap ended children; tell the grader each student process's exit code: its own, or for
    one run under an init in its pid namespace, the app's, which that init wrote in `verdicts`."""
    ended: list[tuple[int, int]] = []  # (status fd, exit code) of student processes
    reaped = False
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        reaped = True
        fd = status_fds.pop(pid, None)
        code = os.waitstatus_to_exitcode(status)
        verdict = verdicts.pop(pid, None)
        if verdict is not None:
            said = os.read(verdict, 32)  # its writer is gone: what it wrote, or nothing
            os.close(verdict)
            if said.isdigit():
                code = os.waitstatus_to_exitcode(int(said))
        if fd is not None:
            ended.append((fd, code))
    if reaped:
        kill_orphans(set(status_fds))  # before the grader hears that a student process ended
    for fd, code in ended:
        message = {"stage": "exited", "code": code}
        try:
            os.write(fd, (json.dumps(message) + "\n").encode())
        except OSError:
            pass
        os.close(fd)


def _kill_all(status_fds: dict[int, int], within: float = 5.0) -> None:
    """At exit: kill every student process and every orphan, until no child is left."""
    for pid in list(status_fds):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        kill_orphans(set())
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def _fork(spec: ChildSpec, alive_r: int, verdict_w: int) -> int:
    """Fork a child; a sandboxed one straight into a pid namespace of its own, where allowed,
    there to be the init of the student's app (which writes the app's end to `verdict_w`)."""
    from grader.engine.sandbox import (
        SandboxError,
        fork_into_pid_namespace,
        share_network,
        tmp_can_be_private,
    )

    if spec.sandbox is None:
        tmp_can_be_private()  # found out once here, not in every child
        return os.fork()
    if not spec.sandbox.get("namespaces", True):
        return os.fork()
    share_network()
    try:
        pid = fork_into_pid_namespace()
    except SandboxError:
        return os.fork()  # the child's sandbox makes the namespace itself, with a second fork
    if pid == 0:
        spec.alive_fd, spec.verdict_fd = alive_r, verdict_w
    return pid


def serve(sock: socket.socket, kind: str = "orm", group: tuple[str, ...] = ()) -> None:
    gc.disable()  # loading makes next to no garbage: no collection while it loads
    from grader.engine.child import ChildSpec, run_child
    from grader.engine.preload import warm_up

    die_with_parent()
    become_subreaper()
    warm_up("web" if kind == GROWING else kind)
    from grader.engine import jail, sandbox, syscalls  # noqa: F401 - loaded once here, not per child

    jail.prepare()
    syscalls.prepare()
    if group:  # its imports are charged where it started; what its children use, to the group
        from grader.engine.cgroups import join

        join(list(group))

    gc.freeze()  # the children's collections then leave the shared pages alone (no copies); the
    gc.enable()  # loading left a few hundred objects of garbage, not worth a collection of it all
    status_fds: dict[int, int] = {}
    verdicts: dict[int, int] = {}  # pid -> read end of its init's verdict pipe
    alive_r, alive_w = os.pipe()  # a sandboxed child sees EOF here once the zygote is gone
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    while True:
        ready, _, _ = select.select([sock.fileno(), wake_r], [], [], 1.0)
        if wake_r in ready:
            os.read(wake_r, 4096)
        _reap(status_fds, verdicts)
        if sock.fileno() not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 4)
        except ConnectionResetError:  # the grader went away with a packet unread (Ctrl-C)
            break
        if not data:
            break
        message = json.loads(data)
        if kind == GROWING and (wanted := message.pop("warm", "")) in ("web", "orm"):
            warm_up(wanted)
            gc.freeze()
        if "folder" not in message:
            continue
        spec = ChildSpec(**message)
        spec.status_fd, spec.output_fd, spec.trusted_fd = fds[0], fds[1], fds[2]
        spec.socket_fd = fds[3] if len(fds) > 3 else -1
        verdict_r, verdict_w = os.pipe()
        pid = _fork(spec, alive_r, verdict_w)
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                sock.close()
                if spec.alive_fd < 0:
                    os.close(alive_r)
                    os.close(verdict_w)
                for fd in (alive_w, wake_r, wake_w, verdict_r, *status_fds.values(), *verdicts.values()):
                    os.close(fd)
                code = run_child(spec)
            except BaseException as exc:  # noqa: BLE001 - said where the grader reads it, then exit 1
                os.write(spec.output_fd, f"persistlab could not start the app: {exc!r}\n".encode())
            finally:
                os._exit(code)
        status_fds[pid] = fds[2]  # where its end is said: a pipe its code never holds
        os.close(verdict_w)
        if spec.sandbox is not None and spec.sandbox.get("namespaces", True):
            verdicts[pid] = verdict_r
        else:
            os.close(verdict_r)
        for fd in (fds[0], fds[1], *fds[3:]):
            os.close(fd)
        try:
            sock.sendall(json.dumps({"pid": pid}).encode())
        except OSError:  # the grader went away while asking (Ctrl-C): kill everything, below
            break
    sock.close()
    _kill_all(status_fds)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])), sys.argv[2], tuple(sys.argv[3:]))
    os._exit(0)  # every child is gone; tearing down all it preloaded only keeps the grader waiting
