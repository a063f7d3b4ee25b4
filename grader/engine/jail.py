"""The student's filesystem: a root of its own, built from an allow-list, as isolate and nsjail do.

`plan` says what the jail shows (one readable object); `confine`, in a fresh private mount
namespace, assembles it on a tmpfs from bind mounts and pivots into it, detaching the host's
root; `mount_proc`, in the student's own pid namespace, gives it a /proc that lists only its own
processes. Nothing else of the host is there: no class folder, zips, output folder or grader's
working directory, no /run (so no PostgreSQL socket), /sys, /home or host /proc.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.engine import syscalls

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC = 32, 4096, 8192, 16384
MNT_DETACH = 2
ST_NOEXEC = 8
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
CLOSED = ("/etc/postgresql", "/etc/postgresql-common", "/etc/ssh", "/etc/ssl/private")
DEVICES = ("null", "zero", "full", "random", "urandom")
PRIVATE = ("/tmp", "/var/tmp", "/dev/shm")  # empty, writable by all (sticky), like on any system
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2"}
ROOT_SIZE = "32m"  # the jail's own tmpfs: its folders, and what the student writes in /tmp
GRADER = str(Path(__file__).resolve().parents[1])  # the grader package, for imports after entry


@dataclass(frozen=True)
class Jail:
    """What a student process sees: every path at its place on the host, nothing else."""

    read_only: tuple[str, ...]  # bound read-only, without the mounts below them
    writable: tuple[str, ...]  # bound read-write, with the mounts below them (scratch tmpfs)
    links: tuple[tuple[str, str], ...]  # symbolic links at the top, such as /bin -> usr/bin
    closed: tuple[str, ...]  # inside a bound folder, yet shown empty (solutions, output, ...)
    tmp: str | None = None  # a folder shown as /tmp (else /tmp is empty)


def _outside(path: str, folders: list[str]) -> bool:
    return not any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def python_folders() -> list[str]:
    """Python's installation and packages, and the grader: every sys.path folder but the
    working directory (`python -m` puts it first)."""
    cwd = os.getcwd()
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, GRADER,
             *(p for p in sys.path if p and os.path.abspath(p) != cwd)]
    found = set()
    for path in paths:
        if os.path.isdir(path):
            found.update({os.path.abspath(path), os.path.realpath(path)})
    return sorted(found)


@functools.cache
def host() -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The folders every student sees read-only, and the top-level links (such as /bin ->
    usr/bin); cached, so a process that forks students (`prepare`) looks them up once."""
    links = tuple((p, os.readlink(p)) for p in SYSTEM if os.path.islink(p))
    folders: list[str] = []
    for path in sorted({*(p for p in SYSTEM if os.path.isdir(p) and not os.path.islink(p)),
                        *python_folders()}, key=len):
        if _outside(path, folders) and _outside(path, [p for p, _ in links]):
            folders.append(path)
    return tuple(sorted(folders)), links


def prepare() -> None:
    """Look up what every jail holds now, in a process that forks students."""
    host()


def plan(writable: tuple[str, ...], hide: tuple[str, ...] = (), tmp: str | None = None) -> Jail:
    """The jail for a student whose own folders are `writable`; `hide`: folders and files that
    must stay out of sight even where they lie inside a folder the jail shows; `tmp`: the
    folder shown as /tmp."""
    folders, links = host()
    bound = [*folders, *writable]
    closed = [p for p in (*CLOSED, *hide)
              if os.path.lexists(p) and not _outside(p, bound) and p not in bound]
    return Jail(folders, tuple(writable), links, tuple(sorted(closed)), tmp)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _call(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    result = _libc().mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                           ctypes.c_ulong(flags), data.encode() if data else None)
    _call(result, f"mount {target}")


def _bind(handle: int, target: str, read_only: bool) -> None:
    _mount(f"/proc/self/fd/{handle}", target, None, MS_BIND | (0 if read_only else MS_REC))
    if read_only:
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV
        if os.statvfs(target).f_flag & ST_NOEXEC:
            flags |= MS_NOEXEC
        _mount("none", target, None, flags)


def _make_dev(root: str) -> None:
    dev = root + "/dev"
    os.makedirs(dev, mode=0o755)
    for name in DEVICES:
        node = f"{dev}/{name}"
        os.close(os.open(node, os.O_WRONLY | os.O_CREAT, 0o666))
        _mount(f"/dev/{name}", node, None, MS_BIND)
    for name, target in DEV_LINKS.items():
        os.symlink(target, f"{dev}/{name}")


def _pivot(root: str) -> None:
    """Make `root` the root of this mount namespace and detach the host's."""
    os.chdir(root)
    arch = syscalls.this_arch()  # the C library has no pivot_root: called by its number
    if arch is not None:
        _call(_libc().syscall(arch.numbers["pivot_root"], b".", b"."), "pivot_root")
        _call(_libc().umount2(b".", MNT_DETACH), "detaching the host's root")
    else:  # number unknown: move the new root over / (the host's stays below, out of reach)
        _mount(root, "/", None, MS_MOVE)
        os.chroot(".")
    os.chdir("/")


def confine(jail: Jail, at: str = "/tmp") -> None:
    """Build `jail` on a tmpfs mounted over `at` and pivot into it. The caller is root in a new
    mount namespace whose mounts are private; /proc is left for `mount_proc`."""
    sources = [(p, True) for p in jail.read_only] + [(p, False) for p in jail.writable]
    handles = [(p, ro, os.open(p, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)) for p, ro in sources]
    tmp = os.open(jail.tmp, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) if jail.tmp else -1
    umask = os.umask(0o022)
    try:
        _mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_NODEV, f"size={ROOT_SIZE},mode=0755")
        if tmp >= 0:  # first: a folder bound below /tmp (a scratch copy) then stays in sight
            os.makedirs(at + "/tmp", mode=0o755)
            _bind(tmp, at + "/tmp", read_only=False)
        for path, read_only, handle in handles:
            os.makedirs(at + path, mode=0o755, exist_ok=True)
            _bind(handle, at + path, read_only)
        _furnish(jail, at)
    finally:
        if tmp >= 0:
            os.close(tmp)
        os.umask(umask)
        for _, _, handle in handles:
            os.close(handle)
    _pivot(at)


def _furnish(jail: Jail, at: str) -> None:
    """The rest of the root: top-level links, private /tmp folders, /proc's mount point, /dev,
    and empty stand-ins for what must stay hidden."""
    for path, target in jail.links:
        os.symlink(target, at + path)
    _make_dev(at)
    for path in PRIVATE:
        if path == "/tmp" and jail.tmp:
            continue
        os.makedirs(at + path, mode=0o755, exist_ok=True)
        os.chmod(at + path, 0o1777)
    os.mkdir(at + "/proc", mode=0o555)
    for path in jail.closed:
        if os.path.isdir(at + path):
            _mount("tmpfs", at + path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=0755")
        else:
            _mount(at + "/dev/null", at + path, None, MS_BIND)


def mount_proc() -> None:
    """A /proc of the caller's own pid namespace: call it as that namespace's first process."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


__all__ = ["Jail", "confine", "host", "mount_proc", "plan", "prepare", "python_folders"]
