"""A time limit that ran out, confirmed: is the student's process hung, or kept waiting by a busy
machine?

When a start or an answer has not come within its limit, the process and everything it started
are watched for a short window. Waiting for the disk, or runnable through most of the window and
held back from a CPU (little CPU time in it, or a large share of it spent queued for one), it is
only slow: it gets a second wait (`second_wait`), once. Asleep through most of the window (a
handler in time.sleep, input(), a lock, an answer dripped a byte at a time), or running freely (a
loop that never ends on a CPU it has to itself), it has failed. Where /proc cannot tell, the
second wait is given.
"""

from __future__ import annotations

import time
from pathlib import Path

from grader.engine.family import descendants

SECOND_WAIT = 2.0  # the second wait: this many times the limit ...
MIN_SECOND_WAIT = 8.0  # ... and at least this many seconds
STARVED = 0.2  # share of its runnable time a process spent waiting for a CPU
SAMPLES = 10  # looks at the processes' states ...
INTERVAL = 0.01  # ... this many seconds apart


def second_wait(limit: float) -> float:
    """The seconds added to `limit` for a process found kept waiting."""
    return max(SECOND_WAIT * limit, MIN_SECOND_WAIT)


def _tasks(pid: int) -> list[Path]:
    found: list[Path] = []
    for member in (pid, *descendants(pid)):
        try:
            found += Path(f"/proc/{member}/task").iterdir()
        except OSError:
            continue
    return found


def _state(task: Path) -> str:
    try:
        return (task / "stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return ""


def _schedstat(tasks: list[Path]) -> dict[str, tuple[int, int]]:
    """Per task: nanoseconds it ran on a CPU, and waited for one while runnable, in its lifetime."""
    found: dict[str, tuple[int, int]] = {}
    for task in tasks:
        try:
            fields = (task / "schedstat").read_text().split()
            found[str(task)] = (int(fields[0]), int(fields[1]))
        except (OSError, ValueError, IndexError):
            continue
    return found


def kept_waiting(pid: int) -> bool:
    """Whether `pid`, or a process below it, is still at work and held back by the machine."""
    if not Path("/proc/self/task").is_dir():
        return True
    before = _schedstat(_tasks(pid))
    started = time.monotonic()
    runnable = 0
    for sample in range(SAMPLES):
        if sample:
            time.sleep(INTERVAL)
        states = {_state(task) for task in _tasks(pid)}
        if "D" in states:
            return True
        runnable += "R" in states
    window = max(time.monotonic() - started, 1e-3) * 1e9
    if 2 * runnable < SAMPLES:
        return False  # asleep, most of the time
    after = _schedstat(_tasks(pid))
    ran = delayed = 0
    for task, (ran_now, delayed_now) in after.items():
        ran_then, delayed_then = before.get(task, (0, 0))
        ran, delayed = ran + ran_now - ran_then, delayed + delayed_now - delayed_then
    # the kernel counts a wait for a CPU once the task gets one: held back through the whole
    # window, a task shows little CPU time in it rather than a delay
    wanted = window * runnable / SAMPLES
    return ran < wanted / 2 or delayed >= STARVED * (ran + delayed)


__all__ = ["kept_waiting", "second_wait"]
