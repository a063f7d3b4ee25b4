"""A time limit that ran out, confirmed: is the student's process hung, or kept waiting by a busy
machine?

When a start or an answer has not come within its limit, the process and everything it started
are looked at. Waiting for the disk, or runnable and kept from a CPU for at least STARVED of the
time it wanted one, it is only slow: it gets a second wait, SECOND_WAIT times the limit, once.
Asleep (a handler in time.sleep, input(), a lock), or running freely (a loop that never ends on a
CPU it has to itself), it has failed. Where /proc cannot tell, the second wait is given.
"""

from __future__ import annotations

import time
from pathlib import Path

from grader.engine.family import descendants

SECOND_WAIT = 2.0  # multiples of the limit: a hang fails after at most 3x the limit
STARVED = 0.2  # share of its runnable time a process spent waiting for a CPU
SAMPLES = 3  # looks at the processes' states, 10 ms apart


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


def _ran_and_delayed(tasks: list[Path]) -> tuple[int, int]:
    """Nanoseconds the tasks ran on a CPU, and waited for one while runnable, in their lifetime."""
    ran = delayed = 0
    for task in tasks:
        try:
            fields = (task / "schedstat").read_text().split()
            ran, delayed = ran + int(fields[0]), delayed + int(fields[1])
        except (OSError, ValueError, IndexError):
            continue
    return ran, delayed


def kept_waiting(pid: int) -> bool:
    """Whether `pid`, or a process below it, is still at work and held back by the machine."""
    if not Path("/proc/self/task").is_dir():
        return True
    for sample in range(SAMPLES):
        if sample:
            time.sleep(0.01)
        tasks = _tasks(pid)
        states = {_state(task) for task in tasks}
        if "D" in states:
            return True
        if "R" in states:
            ran, delayed = _ran_and_delayed(tasks)
            return delayed >= STARVED * (ran + delayed)
    return False


__all__ = ["SECOND_WAIT", "kept_waiting"]
