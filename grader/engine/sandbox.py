"""Linux containment for untrusted student code: namespaces, a jail, an unprivileged user.

The grading worker calls `isolate_worker` once: a private mount namespace with a size-capped
tmpfs that holds every scratch copy, so nothing a student writes reaches the real disk and the
mount vanishes with the worker. Each student process calls `enter` right after it is forked:
new mount, pid, IPC and UTS namespaces, and a network namespace that holds nothing but a
loopback that is down (one per zygote, made once: `share_network`); a root of its own built from an allow-list
(`grader.engine.jail`), with its step's /tmp; pid 2 of its own pid namespace under a small
init (everything it starts dies with it); then no capabilities, an unprivileged uid, rlimits and a system call
filter (`grader.engine.syscalls`). Memory and processes are bounded by `grader.engine.cgroups`.
"""
from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import functools
import os
import select
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.engine import jail, syscalls

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUSER = 0x20000000, 0x40000000, 0x10000000
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
FIRST_UID = 61000
UIDS = 1000  # a worker leases one of FIRST_UID + 1 .. FIRST_UID + 999 for its students
LEASES = ("/run/persistlab-uids", os.path.join(tempfile.gettempdir(), "persistlab-uids"))
_network = -1  # a network namespace of the zygote's making, entered by each student it forks
_NO_NETWORK = -2  # tried, and refused: each student makes its own
_private_tmp: bool | None = None  # whether this machine lets `check` give an app its own /tmp
_ahead: dict[str, Callable[[], Any]] = {}  # probes started ahead of their question (`probe_ahead`)


class SandboxError(RuntimeError):
    """The machine does not allow the sandbox (not Linux, not root, or no namespaces)."""


@dataclass(frozen=True)
class Sandbox:
    """How a student process is contained; passed from the grader to every child it forks."""

    uid: int
    keep: str  # the worker's tmpfs, made visible again inside the student's private /tmp
    hide: tuple[str, ...] = ()  # folders the student must not read
    processes: int = 128  # threads count too: uvicorn's thread pool needs some
    open_files: int = 256
    namespaces: bool = True  # False: only the separate user and rlimits (a container without them)
    cpu: int = -1  # the one CPU this worker's students run on, so a fork bomb starves no one else
    cgroups: bool = False  # memory and processes bounded per student by control groups


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise SandboxError(f"{what} failed: {os.strerror(errno)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    libc = _libc()
    result = libc.mount(
        source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
        data.encode() if data else None,
    )
    _check(result, f"mount {target}")


def _unshare(flags: int) -> None:
    _check(_libc().unshare(flags), "unshare")


def share_network() -> None:
    """In a zygote: make, once, the empty network namespace its students enter (entering one
    costs microseconds, making one milliseconds, and tearing one down more). Students follow
    one another, each killed whole before the next starts, so none finds another's sockets;
    where the machine refuses, each student makes its own as before."""
    global _network
    if _network != -1:
        return
    _network = _NO_NETWORK
    said_r, said_w = os.pipe()
    hold_r, hold_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(said_r)
        os.close(hold_w)
        with contextlib.suppress(BaseException):
            _unshare(CLONE_NEWNET)
            os.write(said_w, b"1")
            os.read(hold_r, 1)  # the namespace lives until the zygote holds it too
        os._exit(0)
    os.close(said_w)
    os.close(hold_r)
    try:
        if os.read(said_r, 1) == b"1":
            _network = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        pass
    finally:
        os.close(said_r)
        os.close(hold_w)
        os.waitpid(pid, 0)


def private_tmp(folder: Path) -> bool:
    """Without the sandbox (`check`): show the step's /tmp folder (`step_tmp`) as /tmp to the
    app in `folder` and all it starts, as grade's jail does, so that what an app keeps in /tmp
    lives as long in check as in grade: across a restart, not from one run to the next. A mount
    namespace of its own (in a user namespace of its own too, with no capability left, when
    not root), with `folder` bound back at its place; False where the machine allows neither
    (the process is then as it was)."""
    if not tmp_can_be_private():
        return False
    try:
        _own_tmp(folder)
    except (SandboxError, OSError):
        return False
    return True


def tmp_can_be_private() -> bool:
    """Whether `private_tmp` works here: tried once per process, in a throwaway child (a
    half-made namespace cannot be undone); a zygote asks before its first fork."""
    global _private_tmp
    if _private_tmp is None:
        _private_tmp = _probe_private_tmp()
    return _private_tmp


def _own_tmp(folder: Path) -> None:
    uid, gid, parent = os.getuid(), os.getgid(), os.getppid()
    tmp = step_tmp(folder)
    tmp.mkdir(mode=0o700, exist_ok=True)
    if os.geteuid() == 0:
        _unshare(CLONE_NEWNS)
    else:
        _unshare(CLONE_NEWUSER | CLONE_NEWNS)
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                           ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w", encoding="ascii") as said:
                said.write(text)
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    place = folder.resolve()
    handle = os.open(place, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _mount(str(tmp), "/tmp", None, MS_BIND | MS_REC, None)
        if place.is_relative_to("/tmp"):  # the app's own folder, hidden by the new /tmp: back
            os.makedirs(place, exist_ok=True)
            _mount(f"/proc/self/fd/{handle}", str(place), None, MS_BIND | MS_REC, None)
    finally:
        os.close(handle)
    if os.geteuid() != 0:
        syscalls.clear_capabilities()
        _die_with_parent(lambda: os.getppid() == parent)  # new credentials cleared the signal


def probe_ahead() -> None:
    """Start now, each in a throwaway child, the probes `check` lists the protections from at
    its end (new namespaces, an own /tmp): they run while it waits for its zygote, and each
    answers when first asked (an answer never asked for is collected at exit)."""
    if not sys.platform.startswith("linux") or _ahead:
        return
    if os.geteuid() == 0:
        _ahead["namespaces"] = _namespaces_probe()
    if _private_tmp is None:
        _ahead["tmp"] = _private_tmp_probe()
    atexit.unregister(_collect_ahead)
    atexit.register(_collect_ahead)


def _collect_ahead() -> None:
    while _ahead:
        _ahead.popitem()[1]()


def _answer(name: str, start: Callable[[], Callable[[], Any]]) -> Any:
    """The answer of probe `name`: started ahead, or now."""
    answer = _ahead.pop(name, None) or start()
    return answer()


def _private_tmp_probe() -> Callable[[], bool]:
    probe = Path(tempfile.mkdtemp(prefix="persistlab-tmp-probe-"))
    try:
        (probe / "app").mkdir()
        pid = os.fork()
    except BaseException:
        shutil.rmtree(probe, ignore_errors=True)
        raise
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        with contextlib.suppress(BaseException):
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to answer
            tmp = step_tmp(probe / "app")
            tmp.mkdir()
            made = os.stat(tmp)
            _own_tmp(probe / "app")
            shown = os.stat("/tmp")
            code = 0 if (shown.st_dev, shown.st_ino) == (made.st_dev, made.st_ino) else 1
        os._exit(code)

    def answer() -> bool:
        try:
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status) == 0
        finally:
            shutil.rmtree(probe, ignore_errors=True)

    return answer


def _probe_private_tmp() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    return bool(_answer("tmp", _private_tmp_probe))


def _namespaces_probe() -> Callable[[], str | None]:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to answer
            _unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC)
            _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
            os._exit(0)
        except BaseException:  # noqa: BLE001 - any failure means no sandbox
            os._exit(1)

    def answer() -> str | None:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            return "this machine refuses new namespaces (a container without CAP_SYS_ADMIN?)"
        return None

    return answer


def namespaces_reason() -> str | None:
    """Why this machine gives no namespaces, or None: the quick question `check` asks to say
    whether `grade` could sandbox its code here."""
    if not sys.platform.startswith("linux"):
        return f"namespaces need Linux, and this is {sys.platform}"
    if os.geteuid() != 0:
        return "namespaces and a separate user need root"
    reason: str | None = _answer("namespaces", _namespaces_probe)
    return reason


def unavailable_reason() -> str | None:
    """Why the sandbox cannot run here, or None when it can: past the namespaces, a throwaway
    process is contained exactly as a student's is (jail, /proc, capabilities, uid, system call
    filter), so a part the machine refuses is named before any student runs, not once each."""
    reason = namespaces_reason()
    if reason is not None:
        return reason
    keep = tempfile.mkdtemp(prefix="persistlab-probe-")
    try:
        refused = _probe(Path(keep))
    finally:
        shutil.rmtree(keep, ignore_errors=True)
    return None if refused is None else f"this machine refuses part of the sandbox: {refused}"


def _probe(keep: Path) -> str | None:
    """`enter` a process forked for the purpose, in a folder of `keep`; what failed, or None."""
    folder = keep / "probe" / "app"
    folder.mkdir(parents=True)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read)
        code = 1
        try:
            code = enter(Sandbox(uid=FIRST_UID, keep=str(keep)), folder, ()) or 0
        except BaseException as exc:  # noqa: BLE001 - said to the parent, which names it
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            os.write(write, why.encode()[:400])
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as said:
        message = said.read(400).decode(errors="replace").strip()
    code = os.waitstatus_to_exitcode(status)
    return None if code == 0 else message or f"a contained process exited with status {code}"


def user_only_reason() -> str | None:
    """Why not even a separate user is possible (not root, no setuid), or None."""
    if not hasattr(os, "setresuid"):
        return f"a separate user needs a Unix system, and this is {sys.platform}"
    return None if os.geteuid() == 0 else "a separate user needs root"


def lease_uid() -> tuple[int, int]:
    """A uid for this worker's students that no other grading worker on the machine holds, and
    the fd whose lock holds it until the worker exits, however it exits. Workers of two grade
    runs at once never share a uid, whose process limit one student's fork bomb would use up
    for the other's students too."""
    for folder in LEASES:
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            break
        except OSError:
            continue
    else:
        raise SandboxError(f"no folder for the uid leases could be made ({', '.join(LEASES)})")
    for uid in range(FIRST_UID + 1, FIRST_UID + UIDS):
        fd = os.open(os.path.join(folder, f"{uid}.lock"),
                     os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return uid, fd
    raise SandboxError(f"every one of the {UIDS - 1} uids for grading is in use")


def plain_scratch() -> Path:
    """Without namespaces: a scratch area on disk that the student's uid can pass through."""
    root = Path(tempfile.mkdtemp(prefix="persistlab-grade-"))
    os.chmod(root, 0o711)
    tempfile.tempdir = str(root)
    return root


def isolate_worker(size: str = "256m") -> Path:
    """Give this process a private mount namespace and a tmpfs for scratch copies; return it."""
    _unshare(CLONE_NEWNS)
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    root = Path(tempfile.mkdtemp(prefix="persistlab-grade-"))
    _mount("tmpfs", str(root), "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=0711")
    tempfile.tempdir = str(root)
    return root


def mount_tmpfs(target: Path, size: int) -> None:
    """A tmpfs of `size` bytes over `target` (in the worker's own mount namespace)."""
    _mount("tmpfs", str(target), "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=0700")


def unmount(target: Path) -> None:
    if os.path.ismount(target):
        _libc().umount2(str(target).encode(), 2)  # MNT_DETACH


def release_worker(root: Path) -> None:
    """Unmount and remove a worker's scratch area (at the worker's exit)."""
    unmount(root)
    shutil.rmtree(root, ignore_errors=True)


def _own(folder: Path, uid: int, keep: str) -> None:
    if not str(folder).startswith(keep.rstrip("/") + "/"):
        raise SandboxError(f"{folder} is not inside the grading scratch area {keep}")
    for path in (folder, *folder.rglob("*")):
        os.lchown(path, uid, uid)
    parent = folder.parent
    while str(parent).startswith(keep.rstrip("/") + "/"):
        os.chmod(parent, 0o711)
        parent = parent.parent


def step_tmp(folder: Path) -> Path:
    """The student's /tmp while one step is checked: a folder beside its scratch copies, so what
    the app keeps in /tmp is still there after a restart, as it is on a real machine."""
    return folder.parent / ".tmp"


def _drop_to(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def _close(fds: tuple[int, ...]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _init(app: int, verdict_fd: int) -> int:
    """pid 1 of a student's namespace, so that the app (pid 2) meets signals as on any machine:
    a signal it sends itself or gets with no handler of its own acts (a pid 1 would ignore it).
    Reaps whatever the app leaves behind; when the app ends, writes its wait status to
    `verdict_fd` for the zygote (an init cannot die of the app's signal) and returns."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)  # the grader signals the app's group, this one too
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        if pid == app:
            with contextlib.suppress(OSError):
                os.write(verdict_fd, str(status).encode())
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code


def _reap_until(pid: int) -> int:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        return os.waitstatus_to_exitcode(status)


def enter(
    sandbox: Sandbox, folder: Path, keep_fds: tuple[int, ...], alive_fd: int = -1, verdict_fd: int = -1
) -> int | None:
    """Contain the calling (freshly forked) process; return None in the contained process.

    With `alive_fd` (the read end of a pipe whose writer is the parent), the caller was forked
    into a pid namespace of its own (`fork_into_pid_namespace`) and is contained as it is; with
    `verdict_fd` too, it stays behind as the namespace's init and the student's app runs as pid 2
    (see `_init`). Otherwise the caller becomes a small supervisor that waits for the contained
    process and returns its exit code. Either way the caller must exit with a code returned;
    fds in `keep_fds` are closed in whatever is not the app.
    """
    _own(folder, sandbox.uid, sandbox.keep)
    tmp = step_tmp(folder)
    tmp.mkdir(mode=0o700, exist_ok=True)
    os.lchown(tmp, sandbox.uid, sandbox.uid)
    if not sandbox.namespaces:
        parent = os.getppid()
        _drop_and_limit(sandbox)
        _die_with_parent(lambda: os.getppid() == parent)
        return None
    pid_ns = 0 if alive_fd >= 0 else CLONE_NEWPID
    if _network >= 0:
        _check(_libc().setns(_network, CLONE_NEWNET), "entering the network namespace")
        os.close(_network)
    _unshare(CLONE_NEWNS | (0 if _network >= 0 else CLONE_NEWNET) | pid_ns | CLONE_NEWIPC | CLONE_NEWUTS)
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    jail.confine(jail.plan((str(folder),), sandbox.hide, tmp=str(tmp)))
    if alive_fd >= 0:
        jail.mount_proc()
        _drop_and_limit(sandbox)
        _die_with_parent(lambda: not select.select([alive_fd], [], [], 0)[0])
        os.close(alive_fd)
        if verdict_fd < 0:
            return None
        app = os.fork()
        if app:
            _close(keep_fds)
            return _init(app, verdict_fd)
        os.close(verdict_fd)
        return None
    alive_r, alive_w = os.pipe()  # pid 1 of a new namespace has no getppid(): EOF says "gone"
    pid = os.fork()
    if pid:
        os.close(alive_r)
        _close(keep_fds)
        return _reap_until(pid)
    os.close(alive_w)
    jail.mount_proc()
    _drop_and_limit(sandbox)
    _die_with_parent(lambda: not select.select([alive_r], [], [], 0)[0])
    os.close(alive_r)
    return None


def fork_into_pid_namespace() -> int:
    """os.fork(), the child being pid 1 of a new pid namespace (saves `enter` a second fork).

    Raises SandboxError where the machine refuses; the caller then forks as usual.
    """
    own = os.open("/proc/self/ns/pid", os.O_RDONLY)
    try:
        _unshare(CLONE_NEWPID)  # for the next child only: set back right after the fork
        pid = os.fork()
        if pid:
            _check(_libc().setns(own, CLONE_NEWPID), "setns")
        return pid
    finally:
        os.close(own)


def _die_with_parent(parent_alive: Callable[[], bool]) -> None:
    """Set after the uid change, which clears it; then make sure the parent did not die first."""
    from grader.engine.limits import die_with_parent

    die_with_parent()
    if not parent_alive():
        os._exit(1)


def _drop_and_limit(sandbox: Sandbox) -> None:
    import resource

    if sandbox.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sandbox.cpu})
    os.nice(5)  # the grader, waiting on a check, comes first
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as adj:
        adj.write("1000")  # the OOM killer takes the student's processes, never the zygote
    syscalls.drop_capabilities()
    _drop_to(sandbox.uid)
    for limit, value in (
        (resource.RLIMIT_NPROC, sandbox.processes),
        (resource.RLIMIT_NOFILE, sandbox.open_files),
    ):
        resource.setrlimit(limit, (value, value))
    syscalls.restrict()


__all__ = [
    "FIRST_UID",
    "Sandbox",
    "SandboxError",
    "enter",
    "fork_into_pid_namespace",
    "isolate_worker",
    "lease_uid",
    "mount_tmpfs",
    "namespaces_reason",
    "plain_scratch",
    "private_tmp",
    "probe_ahead",
    "release_worker",
    "share_network",
    "tmp_can_be_private",
    "unavailable_reason",
    "unmount",
    "user_only_reason",
]
