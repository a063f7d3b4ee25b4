"""A process and everything it started, found through /proc and killed together."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 1:
            found.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return found


def descendants(pid: int) -> list[int]:
    """Every living process below `pid` (empty where there is no /proc)."""
    children = _children()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        for child in children.get(frontier.pop(), []):
            found.append(child)
            frontier.append(child)
    return found


def _send(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_family(pid: int) -> None:
    """SIGKILL `pid` and all its descendants; each is stopped first, so none forks away meanwhile."""
    stopped = [pid]
    _send(pid, signal.SIGSTOP)
    for _ in range(8):
        fresh = [p for p in descendants(pid) if p not in stopped]
        if not fresh:
            break
        for child in fresh:
            _send(child, signal.SIGSTOP)
        stopped += fresh
    for member in stopped:
        _send(member, signal.SIGKILL)


__all__ = ["descendants", "kill_family"]
