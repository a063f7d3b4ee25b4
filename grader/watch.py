"""`persistlab watch`: the student's loop on one screen. Each save checks the step again; keys ask
for a hint, the list, a check, the next step, a reset, or quit.

Each check is a `persistlab check` process of its own, so a check that Ctrl-C stops behaves as
one run by hand: it says so in one line and saves nothing.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import termios
import threading
import tty
from collections.abc import Iterator
from pathlib import Path

import watchfiles
from rich.console import Console

from grader.course import Course, Step
from grader.engine.limits import Limits
from grader.engine.sandbox import namespaces_reason
from grader.outcome import EXIT, SKIPPED
from grader.progress import forget_step, load_progress, next_hint
from grader.protections import for_check
from grader.quiz.answered import answered_right
from grader.render import current_step, show_hint, show_progress, show_protections, show_summary
from grader.results import PASS
from grader.workspace import describe_reset, reset_step, step_dir

KEYS = "h hint · l list · c check again · n next step · r reset · q quit"
CLEAR = "\x1b[2J\x1b[H"
IGNORED_SUFFIXES = (".db", "-journal", "-wal", "-shm", ".swp", ".swx", ".swo", "~", ".pyc", ".tmp")
INTERRUPTED = 130


def _counts(path: str) -> bool:
    """A file whose change is a save worth checking (not a database, swap or backup file)."""
    name = os.path.basename(path)
    return "__pycache__" not in path and not name.startswith((".#", "#")) and not name.endswith(IGNORED_SUFFIXES)


def _saved(change: watchfiles.Change, path: str) -> bool:
    return _counts(path)


def _fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """The step's files as they are now, so a save made during a check is not missed."""
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not _counts(str(path)):
            continue
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(found)


class Keys:
    """Keys from stdin, one at a time, read by a thread; on a terminal without waiting for Enter."""

    def __init__(self) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        self.fd = sys.stdin.fileno()
        self.terminal = os.isatty(self.fd)

    def start(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 64)
            except OSError:
                return
            if not data:
                return
            for key in data.decode("latin-1").lower():
                self.queue.put(key)

    def get(self, timeout: float | None = None) -> str | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    @contextlib.contextmanager
    def raw(self) -> Iterator[None]:
        """Keys without Enter and without echo; Ctrl-C still interrupts; the terminal restored."""
        if not self.terminal:
            yield
            return
        saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)
        try:
            yield
        finally:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)


class Watch:
    """One watch session: the step on screen, and what each key does."""

    def __init__(self, course: Course, workspace: Path, step: Step, force_polling: bool) -> None:
        self.course, self.workspace, self.step = course, workspace, step
        self.force_polling = force_polling
        self.keys = Keys()
        self.console = Console(highlight=False)
        self.screen = sys.stdout.isatty()
        self.no_sandbox = namespaces_reason()  # asked once, before any thread starts: it forks
        self.shown: list[str] = []
        self.passed = False  # or skipped: n may move on
        self._checked: tuple[tuple[str, int, int], ...] = ()  # the files as the last check saw them

    def run(self) -> int:
        self.keys.start()
        with self.keys.raw():
            code = self.check()
            while code != INTERRUPTED:
                event = self.wait()
                if event == "q":
                    return 0
                code = self.on(event)
            return INTERRUPTED

    def on(self, event: str) -> int:
        """Act on a save ("changed") or a key; the exit status of a check it ran, else 0."""
        if event in ("changed", "c"):
            return self.check()
        if event == "h":
            if self.step.hints:
                show_hint(self.console, self.step, next_hint(self.workspace, self.step.number, len(self.step.hints)))
        elif event == "l":
            progress = load_progress(self.workspace)
            opened = {step.number for step in self.course.steps if step_dir(self.workspace, step).is_dir()}
            show_progress(self.console, self.course, progress, current_step(self.course, progress),
                          answered_right(self.workspace), opened)
        elif event in ("n", "\n", "\r"):
            return self.next_step()
        elif event == "r":
            return self.reset()
        else:
            return 0
        self._keys_line()
        return 0

    def next_step(self) -> int:
        if not self.passed:
            self.console.print(f"Step {self.step.number} does not pass yet: n moves on once it does.")
            self._keys_line()
            return 0
        if self.step.number == len(self.course.steps):
            self.console.print("That was the last step. q quits.")
            return 0
        self.step = self.course.step(self.step.number + 1)
        return self.check()

    def reset(self) -> int:
        self.console.print(f"Reset {self.step.folder} to its starter files? Your files are moved to a "
                           "backup first. y resets, any other key keeps them.")
        if self.keys.get() != "y":
            self.console.print("Nothing was changed.")
            self._keys_line()
            return 0
        done = reset_step(self.step, self.workspace)
        forget_step(self.workspace, self.step.number)
        code = self.check()
        self.console.print(describe_reset(done))
        return code

    def check(self) -> int:
        """Clear the screen, check the step in a process of its own, and show where things stand."""
        if self.screen:
            sys.stdout.write(CLEAR)
        self.console.print(f"[dim]Watching {step_dir(self.workspace, self.step)}[/]")
        sys.stdout.flush()  # before the check writes to the same terminal
        self._checked = _fingerprint(step_dir(self.workspace, self.step))
        command = [sys.executable, "-m", "grader", "check", str(self.step.number),
                   "--dir", str(self.workspace), "--no-protections"]
        checking = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        try:
            code = checking.wait()
        except KeyboardInterrupt:  # it had the same Ctrl-C: it says so and saves nothing
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            checking.wait()
            return INTERRUPTED
        if code == INTERRUPTED:
            return code
        self.passed = code in (EXIT[PASS], EXIT[SKIPPED])  # a skip is no reason to stop here
        guarded = for_check(self.step, Limits(), lambda: self.no_sandbox)
        if guarded.lines() != self.shown:  # once, and again only when a step changes them
            show_protections(self.console, guarded)
            self.shown = guarded.lines()
        show_summary(self.console, self.course, load_progress(self.workspace))
        if self.passed and self.step.number < len(self.course.steps):
            done = "passes" if code == EXIT[PASS] else "was skipped"
            self.console.print(f"Step {self.step.number} {done}. Press n (or Enter) to go on "
                               f"to step {self.step.number + 1}, or keep editing.")
        self._keys_line()
        return code

    def _keys_line(self) -> None:
        self.console.print(f"[dim]{KEYS}[/]")

    def wait(self) -> str:
        """Block until a save in the step folder ("changed") or a key."""
        folder = step_dir(self.workspace, self.step)
        stop = threading.Event()
        while True:
            try:
                changes = watchfiles.watch(
                    folder, watch_filter=_saved, stop_event=stop, rust_timeout=100,
                    yield_on_timeout=True, force_polling=self.force_polling or None,
                    raise_interrupt=True,
                )
                for batch in changes:
                    key = self.keys.get(timeout=0)
                    if key is not None:
                        return key
                    if batch or _fingerprint(folder) != self._checked:
                        return "changed"
            except OSError as exc:
                if self.force_polling:
                    raise
                self.console.print(f"File events are not available ({exc}); polling instead.")
                self.force_polling = True


def watch_workspace(course: Course, workspace: Path, step: Step, force_polling: bool = False) -> int:
    """Watch `step`, then the ones after it, until q (exit status 0) or Ctrl-C during a check
    (130). Ctrl-C while waiting raises KeyboardInterrupt, for the command to report."""
    return Watch(course, workspace, step, force_polling).run()
