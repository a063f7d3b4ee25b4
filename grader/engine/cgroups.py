"""Memory and processes bounded per student: a control group for each student process.

An address-space limit counts every thread stack and malloc arena a process reserves, so it trips
a correct app that uses threads long before memory runs short, and it bounds one process, not a
student's many. A memory cgroup counts what is really resident, for all the student's processes
together, and a pids cgroup counts them. The grader makes one group per student process below a
group of its own, and the child joins it (by writing 0 to cgroup.procs) before anything of the
student's runs. Cgroup v1 (memory and pids hierarchies) and v2 (a unified tree whose memory and
pids controllers this process may delegate) are both used; without either, the rlimits remain.

Moving a process into a group costs the kernel an RCU grace period (10-20 ms) unless another move
came just before, while a fork inherits its parent's group for nothing. So a grading worker keeps
one group (`worker_group`) for its students, who run one at a time, and its zygotes join it once,
after their imports (charged outside it): every student process is forked straight into it.
The zygotes are protected: a kill of the group spares them, and the OOM killer takes a student's
process first (those have the highest oom_score_adj).
"""

from __future__ import annotations

import atexit
import functools
import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
_serial = itertools.count()


class CgroupError(RuntimeError):
    """A control group could not be made or joined."""


@dataclass(frozen=True)
class Hierarchy:
    """Where this process's groups go in one hierarchy: v1 (one per controller) or v2."""

    base: Path  # this grader's own group, holding every student's
    version: int


def _own_paths() -> dict[str, str]:
    """controller (or "" for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def _v1(controller: str, own: dict[str, str]) -> Path | None:
    mount = ROOT / controller
    if controller in own and (mount / "cgroup.procs").exists():
        return mount / own[controller].lstrip("/")
    return None


def _v2(own: dict[str, str]) -> Path | None:
    root = ROOT if (ROOT / "cgroup.controllers").exists() else None
    if root is None or "" not in own:
        return None
    enabled = set((root / "cgroup.controllers").read_text().split())
    return root / own[""].lstrip("/") if {"memory", "pids"} <= enabled else None


@functools.cache
def _hierarchies(pid: int) -> tuple[Hierarchy, ...]:
    """This process's own parent groups, made on first use (`pid` keys the cache: a forked
    worker makes its own)."""
    if os.geteuid() != 0:
        raise CgroupError("control groups need root")
    own = _own_paths()
    memory, pids = _v1("memory", own), _v1("pids", own)
    name = _name(pid)
    if memory is not None and pids is not None:
        found = [Hierarchy(memory / name, 1), Hierarchy(pids / name, 1)]
    elif (unified := _v2(own)) is not None:
        found = [Hierarchy(unified.parent / name, 2)]
    else:
        raise CgroupError("this machine has no memory and pids cgroups to use")
    try:
        for hierarchy in found:
            _sweep(hierarchy.base.parent)
            hierarchy.base.mkdir(exist_ok=True)
            if hierarchy.version == 2:
                (hierarchy.base / "cgroup.subtree_control").write_text("+memory +pids")
    except OSError as exc:
        raise CgroupError(f"a control group could not be made: {exc.strerror}") from None
    return tuple(found)


def _started(pid: int) -> str:
    """When process `pid` started (clock ticks since boot), "" if it is gone: with the pid, a
    name no later process can have (pids are reused; a grader killed outright leaves its
    groups behind)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _name(pid: int) -> str:
    return f"persistlab-{pid}-{_started(pid)}"


def _sweep(parent: Path) -> None:
    """Remove the empty groups that graders gone since left in `parent`."""
    for stale in parent.glob("persistlab-*"):
        pid = stale.name.split("-")[1]
        if pid.isdigit() and stale.name != _name(int(pid)):
            for group in (*stale.glob("s*"), stale):
                try:
                    group.rmdir()
                except OSError:
                    pass  # still has processes in it, or another grader removed it first


def unavailable_reason() -> str | None:
    """Why per-student cgroups cannot be used here, or None."""
    try:
        _hierarchies(os.getpid())
    except (CgroupError, OSError) as exc:
        return str(exc)
    return None


class StudentCgroup:
    """The groups a student process and everything it starts live in (with the zygotes it
    forks from, in `protected`, where the group is a worker's)."""

    def __init__(self, memory_bytes: int, processes: int) -> None:
        self.memory_bytes = memory_bytes
        self.protected: set[int] = set()
        self._oom_seen = 0
        name = f"s{next(_serial)}"
        self.paths = [h.base / name for h in _hierarchies(os.getpid())]
        self.version = _hierarchies(os.getpid())[0].version
        try:
            for path in self.paths:
                path.mkdir()
            self._limit(memory_bytes, processes)
        except OSError as exc:
            self.remove()
            raise CgroupError(f"a student's control group could not be made: {exc.strerror}") from None

    def _limit(self, memory_bytes: int, processes: int) -> None:
        if self.version == 2:
            group = self.paths[0]
            (group / "memory.max").write_text(str(memory_bytes))
            if (group / "memory.swap.max").exists():
                (group / "memory.swap.max").write_text("0")
            (group / "pids.max").write_text(str(processes))
            return
        memory, pids = self.paths
        (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
        if (memory / "memory.memsw.limit_in_bytes").exists():  # no swapping past the limit either
            (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
        (pids / "pids.max").write_text(str(processes))

    @property
    def procs_files(self) -> list[str]:
        """The files a child writes 0 to, to join (see `join`)."""
        return [str(path / "cgroup.procs") for path in self.paths]

    def _oom_kills(self) -> int:
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.paths[0] / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def mark(self) -> None:
        """A student process starts: `oom_killed` counts from here."""
        self._oom_seen = self._oom_kills()

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the group for going over its memory (since
        `mark`)."""
        return self._oom_kills() > self._oom_seen

    def _pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.paths[-1] / "cgroup.procs").read_text().split()
                    if int(p) not in self.protected]
        except (OSError, ValueError):
            return []

    def kill(self) -> None:
        """SIGKILL every process in the group, however it detached, until none is left."""
        deadline = time.monotonic() + 5
        while (pids := self._pids()) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.002)

    def remove(self) -> None:
        self.protected.clear()
        self.kill()
        for path in reversed(self.paths):
            for _ in range(50):  # a killed process leaves its group a moment after it dies
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.002)


ZYGOTE_ROOM = 4  # pids of the group's zygotes, beside the student's own
_workers: dict[tuple[int, int, int], StudentCgroup] = {}


def worker_group(memory_bytes: int, processes: int) -> StudentCgroup:
    """This process's group for its students, who run one at a time (see the module's note);
    made on first use, removed by `release`."""
    key = (os.getpid(), memory_bytes, processes)
    if key not in _workers:
        if not any(made == key[0] for made, _, _ in _workers):  # this process's first
            atexit.register(release)
        _workers[key] = StudentCgroup(memory_bytes, processes + ZYGOTE_ROOM)
    return _workers[key]


def join(procs_files: list[str]) -> None:
    """In a freshly forked child, before any student code: move this process into its groups."""
    for path in procs_files:
        try:
            with open(path, "w") as handle:
                handle.write("0")
        except OSError as exc:
            raise CgroupError(f"could not join {path}: {exc.strerror}") from None


def release() -> None:
    """At the grader's exit: remove its worker groups, then its own parent groups."""
    for key in [k for k in _workers if k[0] == os.getpid()]:
        _workers.pop(key).remove()
    try:
        found = _hierarchies(os.getpid())
    except (CgroupError, OSError):
        return
    for hierarchy in found:
        for child in hierarchy.base.glob("s*"):
            try:
                child.rmdir()
            except OSError:
                pass
        try:
            hierarchy.base.rmdir()
        except OSError:
            pass


__all__ = ["CgroupError", "StudentCgroup", "join", "release", "unavailable_reason", "worker_group"]
