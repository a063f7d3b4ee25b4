"""What the tests do to the machine: measure the grader's peak memory, keep it busy, keep a
student process from the CPU."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.engine.family import descendants

HOG = "import os\nos.sched_setaffinity(0, {0})\nprint('on CPU 0', flush=True)\nwhile True:\n    pass\n"


def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def peak_growth(action: Callable[[], object]) -> int:
    """How far this process's resident memory rose above where it was while `action` ran."""
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to the current VmRSS
    before = _vm("VmRSS")
    action()
    return _vm("VmHWM") - before


def _pss_if_ours(pid: int) -> int:
    """The proportional set size of `pid` if it runs as this process's user (the grader's own
    processes, not the sandboxed students'), else 0."""
    try:
        if os.stat(f"/proc/{pid}").st_uid != os.getuid():
            return 0
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


@contextmanager
def grader_peak(found: list[int]) -> Iterator[None]:
    """Append to `found` the highest memory (PSS, summed) of this process and everything it
    started that runs as its user, sampled every 20 ms while the block runs."""
    done, peak = threading.Event(), [0]

    def sample() -> None:
        while not done.is_set():
            tree = [os.getpid(), *descendants(os.getpid())]
            peak[0] = max(peak[0], sum(_pss_if_ours(p) for p in tree))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield
    finally:
        done.set()
        sampler.join()
        found.append(peak[0])


@contextmanager
def cpu_hogs(count: int = 2) -> Iterator[None]:
    """`count` CPU-bound processes beside the block, as a student's browser and IDE would be: on
    this two-core machine, a load of two before the grader starts."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


@contextmanager
def hog_on_cpu_0() -> Iterator[None]:
    """A process that keeps CPU 0 busy, at the usual priority, while the block runs."""
    hog = subprocess.Popen([sys.executable, "-c", HOG], stdout=subprocess.PIPE)
    try:
        assert hog.stdout is not None and hog.stdout.readline() == b"on CPU 0\n"
        yield
    finally:
        hog.kill()
        hog.wait()


def _lowest_priority(pid: int, lowest: bool) -> None:
    """Every thread of `pid` on CPU 0 under SCHED_IDLE and, where the kernel groups each session's
    processes (autogroup: a student process leads its own session), its group at the lowest
    weight; or all of it back to normal."""
    policy = os.SCHED_IDLE if lowest else os.SCHED_OTHER
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setscheduler(int(task.name), policy, os.sched_param(0))
        os.sched_setaffinity(int(task.name), {0} if lowest else range(os.cpu_count() or 1))
    group = Path(f"/proc/{pid}/autogroup")
    if group.exists():
        group.write_text("19" if lowest else "0")


@contextmanager
def starved(pid: int, until: float) -> Iterator[None]:
    """`pid` kept from the CPU (beside hog_on_cpu_0) for `until` seconds of the block, then let run."""
    _lowest_priority(pid, True)
    timer = threading.Timer(until, _lowest_priority, (pid, False))
    timer.start()
    try:
        yield
    finally:
        timer.join()


@contextmanager
def favoured(pid: int) -> Iterator[None]:
    """Every thread of `pid`, and its session's group where the kernel has one, at the highest
    weight while the block runs: on a machine others keep busy, it has a CPU all but to itself."""
    tasks = [int(task.name) for task in Path(f"/proc/{pid}/task").iterdir()]
    group = Path(f"/proc/{pid}/autogroup")
    for task in tasks:
        os.setpriority(os.PRIO_PROCESS, task, -20)
    if group.exists():
        group.write_text("-20")
    try:
        yield
    finally:
        for task in tasks:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, task, 0)
        if group.exists():
            with contextlib.suppress(OSError):
                group.write_text("0")
