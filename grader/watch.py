"""`persistlab watch`: check the current step again on every save, and move on only when asked."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import watchfiles
from rich.console import Console

from grader.course import Course, Step
from grader.engine.limits import Limits
from grader.engine.sandbox import unavailable_reason
from grader.progress import load_progress
from grader.protections import for_check
from grader.render import current_step, show_protections
from grader.workspace import step_dir


def _check(step: Step, workspace: Path) -> int:
    command = [sys.executable, "-m", "grader", "check", str(step.number), "--dir", str(workspace),
               "--no-protections"]
    return subprocess.run(command, check=False).returncode


def _read_lines(lines: queue.Queue[str]) -> None:
    for line in sys.stdin:
        lines.put(line.strip().lower())


def _python_files(change: watchfiles.Change, path: str) -> bool:
    return path.endswith(".py")


def watch_workspace(course: Course, workspace: Path, force_polling: bool = False) -> None:
    step = current_step(course, load_progress(workspace)) or course.steps[-1]
    no_sandbox = unavailable_reason()  # asked once, before any thread starts: it forks
    shown: list[str] = []
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(lines,), daemon=True).start()
    stop = threading.Event()
    while not stop.is_set():
        folder = step_dir(workspace, step)
        print(f"\nWatching {folder} (q + Enter quits).", flush=True)
        checked = _fingerprint(folder)
        passed = _check(step, workspace) == 0
        guarded = for_check(step, Limits(), lambda: no_sandbox)
        if guarded.lines() != shown:  # once, and again only when a step changes them
            show_protections(Console(highlight=False), guarded)
            shown = guarded.lines()
        if passed:
            _offer_next(step, course)
        try:
            changes = watchfiles.watch(
                folder, watch_filter=_python_files, stop_event=stop, rust_timeout=300,
                yield_on_timeout=True, force_polling=force_polling or None, raise_interrupt=False,
            )
            outcome = _wait(changes, lines, passed, partial(_changed, folder, checked))
        except OSError as exc:
            if force_polling:
                raise
            print(f"File events are not available ({exc}); polling instead.", flush=True)
            force_polling = True
            continue
        if outcome == "quit":
            stop.set()
        elif outcome == "next" and step.number < len(course.steps):
            step = course.step(step.number + 1)


def _offer_next(step: Step, course: Course) -> None:
    if step.number < len(course.steps):
        print(f"Press Enter to go on to step {step.number + 1}, or keep editing.", flush=True)


def _fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """The step's Python files as they are now, so a save made during a check is not missed."""
    found = []
    for path in sorted(folder.glob("*.py")):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def _changed(folder: Path, checked: tuple[tuple[str, int, int], ...]) -> bool:
    return _fingerprint(folder) != checked


def _wait(
    changes: Iterable[set[tuple[watchfiles.Change, str]]],
    lines: queue.Queue[str],
    passed: bool,
    edited: Callable[[], bool],
) -> str:
    """Block until a save ("changed"), Enter after a pass ("next"), or q or Ctrl+C ("quit")."""
    for batch in changes:
        while not lines.empty():
            line = lines.get()
            if line == "q":
                return "quit"
            if passed:
                return "next"
        if batch or edited():
            return "changed"
    return "quit"
