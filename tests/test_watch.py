"""`persistlab watch` driven in a real terminal (a pty): each key, saves by rename, polling, Ctrl-C."""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.course import Course
from grader.engine.family import descendants
from grader.workspace import create_workspace
from tests.test_interrupt import command_line

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# the new session takes the pty as its controlling terminal (so Ctrl-C reaches it), then runs ARGS
TAKE_TERMINAL = "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execv(sys.argv[1], sys.argv[1:])"


class Terminal:
    """A process on a pseudo-terminal of its own, as a student's shell would run it."""

    def __init__(self, args: list[str]) -> None:
        self.leader, follower = os.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-c", TAKE_TERMINAL, *args], stdin=follower, stdout=follower,
            stderr=follower, start_new_session=True, close_fds=True,
            env={**os.environ, "TERM": "xterm-256color"},
        )
        os.close(follower)
        self.raw = ""
        self.seen = 0  # how much of the output `expect` has already matched

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.leader], [], [], wait)
        if not ready:
            return True
        try:
            data = os.read(self.leader, 65536)
        except OSError:
            return False
        self.raw += data.decode(errors="replace")
        return bool(data)

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw).replace("\r\n", "\n")

    def expect(self, wanted: str, within: float = 60) -> str:
        """Wait for `wanted` to appear after what was matched before; the text up to it."""
        deadline = time.monotonic() + within
        while True:
            found = " ".join(self.text[self.seen:].split()).find(wanted)
            if found >= 0:
                flat = " ".join(self.text[self.seen:].split())
                self.seen = len(self.text)
                return flat[: found + len(wanted)]
            assert time.monotonic() < deadline and self._read(0.1), (wanted, self.text[self.seen:])

    def type(self, keys: str) -> None:
        os.write(self.leader, keys.encode())

    def finish(self, within: float = 30) -> int:
        deadline = time.monotonic() + within
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(0.05)
        while select.select([self.leader], [], [], 0)[0] and self._read(0):
            pass  # what it wrote last, without waiting on a process that has not ended
        return self.process.wait(timeout=1)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.leader)


@pytest.fixture
def workspace(tmp_path: Path, course: Course) -> Path:
    """A workspace as `persistlab init` makes it: step 1's folder alone."""
    target = tmp_path / "ws"
    create_workspace(course, target, every_step=False)
    return target


@pytest.fixture
def watching(workspace: Path) -> Iterator[Terminal]:
    terminal = Terminal([sys.executable, "-m", "grader", "watch", "--dir", str(workspace)])
    yield terminal
    terminal.close()


def save_by_rename(path: Path, text: str) -> None:
    """What vim and many editors do: write a new file beside it, then rename it over the old one."""
    fresh = path.with_name(f".{path.name}.swp")
    fresh.write_text(text)
    os.replace(fresh, path)


def test_watch_answers_each_key(watching: Terminal, workspace: Path, course: Course) -> None:
    first = watching.expect("h hint · l list · c check again · n next step · r reset · q quit")
    assert "no module-level name `notes_db`" in first and "\x1b[2J" in watching.raw, "a cleared screen"
    assert "0 of 11 steps pass" in first
    watching.type("h")
    assert "Hint 1 of" in watching.expect("for step 1")
    watching.type("l")
    listed = watching.expect("Continue with step 1")
    assert "02-fastapi-app not open yet" in listed and " right" in listed, "the list, as `persistlab list` shows it"
    watching.type("n")
    watching.expect("Step 1 does not pass yet: n moves on once it does.")
    watching.type("c")
    assert "Step 1: Keep notes in a dict" in watching.expect("no module-level name `notes_db`")
    save_by_rename(workspace / course.step(1).folder / "main.py",
                   (course.step(1).solution_dir / "main.py").read_text())
    opened = watching.expect("Step 1 passes. Press n (or Enter) to go on to step 2")
    assert "Step 2 is open: 02-fastapi-app holds your own step-1 code with step 2's TODOs" in opened
    watching.type("\r")  # Enter, as n
    watching.expect("Step 2: Create the FastAPI app")
    mine = workspace / course.step(2).folder / "mine.py"
    mine.write_text("# an extra file\n")
    watching.expect("Step 2: Create the FastAPI app")  # a new file in the step is a save too
    watching.type("r")
    watching.expect("Reset 02-fastapi-app to its starter files?")
    watching.type("x")
    watching.expect("Nothing was changed.")
    assert mine.exists()
    watching.type("r")
    watching.expect("y resets")
    watching.type("y")
    watching.expect("mine.py was not part of the starter")
    assert not mine.exists()
    watching.type("q")
    assert watching.finish() == 0
    assert "Traceback" not in watching.text
    modes = termios.tcgetattr(watching.leader)
    assert modes[3] & termios.ICANON and modes[3] & termios.ECHO, "the terminal is given back as it was"


def test_watch_polls_when_asked(workspace: Path, course: Course) -> None:
    terminal = Terminal([sys.executable, "-m", "grader", "watch", "--dir", str(workspace), "--poll"])
    try:
        terminal.expect("no module-level name `notes_db`")
        terminal.expect("q quit")
        shutil.copy(course.step(1).solution_dir / "main.py", workspace / course.step(1).folder / "main.py")
        terminal.expect("Step 1 passes")
        terminal.type("q")
        assert terminal.finish() == 0
    finally:
        terminal.close()


def test_ctrl_c_while_waiting_is_one_line(watching: Terminal) -> None:
    watching.expect("q quit")
    family = descendants(watching.process.pid)
    watching.type("\x03")
    assert watching.finish() == 130
    assert watching.text.count("Stopped (Ctrl-C)") == 1 and "Traceback" not in watching.text
    assert "KeyboardInterrupt" not in watching.text
    assert not [pid for pid in family if Path(f"/proc/{pid}").exists()]


def test_ctrl_c_during_a_check_is_one_line_and_saves_nothing(watching: Terminal, workspace: Path) -> None:
    watching.expect("q quit")
    watching.type("c")
    deadline = time.monotonic() + 60
    while not any("grader.engine.zygote" in command_line(p) for p in descendants(watching.process.pid)):
        assert time.monotonic() < deadline, "the check never started"
        time.sleep(0.005)
    watching.type("\x03")
    assert watching.finish() == 130
    assert watching.text.count("Stopped (Ctrl-C)") == 1, watching.text
    assert "progress is as it was" in watching.text and "Traceback" not in watching.text

