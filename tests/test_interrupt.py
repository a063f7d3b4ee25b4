"""Ctrl-C, as a terminal sends it (SIGINT to the whole foreground job), at several moments of a
real `persistlab` process: one line, exit status 130, no process left, saved progress untouched."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.course import Course
from grader.engine.family import descendants
from grader.progress import load_progress, record_result
from tests.grade.test_lifetime import alive, wait_for

STOPPED = "Stopped (Ctrl-C)"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def poll_until(condition: Callable[[], bool], seconds: float = 60) -> bool:
    """Look every 5 ms: a student's server may live for less than 50."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def zygote_of(cli: int) -> int | None:
    return next((p for p in descendants(cli) if "grader.engine.zygote" in command_line(p)), None)


def students_of(cli: int) -> list[int]:
    zygote = zygote_of(cli)
    return [] if zygote is None else descendants(zygote)


def start(args: list[str], cwd: Path | None = None) -> subprocess.Popen[str]:
    """`persistlab ARGS` as a terminal's foreground job: a process group of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "grader", *args], cwd=cwd, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def ctrl_c(process: subprocess.Popen[str]) -> tuple[int, str, str, list[int]]:
    """SIGINT to the job, as Ctrl-C sends it; the exit status, output, and every process it had."""
    family = descendants(process.pid)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err, family


def assert_stopped_cleanly(code: int, err: str, family: list[int], says: str = "") -> None:
    assert code == 130, err
    assert "Traceback" not in err and "Aborted" not in err, err
    assert len(err.strip().splitlines()) == 1 and err.startswith(STOPPED), err
    assert says in err
    assert wait_for(lambda: not any(map(alive, family)), 10), [command_line(p) for p in family if alive(p)]


@pytest.fixture
def passed_step5(workspace: Path, course: Course) -> Path:
    step = course.step(5)
    for path in step.solution_dir.glob("*.py"):
        shutil.copy(path, workspace / step.folder / path.name)
    record_result(workspace, 5, "pass", step.points, step.points)
    return workspace


MOMENTS: dict[str, Callable[[int], bool]] = {
    "while the zygote starts": lambda cli: zygote_of(cli) is not None,
    "while the first server runs": lambda cli: bool(students_of(cli)),
}


@pytest.mark.parametrize("moment", [*MOMENTS, "during the restart test"])
def test_ctrl_c_during_check_leaves_progress_and_no_process(passed_step5: Path, moment: str) -> None:
    before = load_progress(passed_step5)
    seen: set[int] = set()

    def restart_test_under_way(cli: int) -> bool:
        seen.update(students_of(cli))
        return len(seen) >= 3  # the restart test starts the app again and again

    reached = MOMENTS.get(moment, restart_test_under_way)
    checking = start(["check", "5", "--dir", str(passed_step5)])
    assert poll_until(lambda: reached(checking.pid)), f"never got {moment}"
    code, out, err, family = ctrl_c(checking)
    assert_stopped_cleanly(code, err, family, "progress is as it was")
    assert "Could not check" not in out and "no tests ran" not in out + err
    assert load_progress(passed_step5) == before, "a stopped check saves nothing"


@pytest.mark.parametrize("demo_name", ["restart", "delete-db"])
def test_ctrl_c_in_a_demo_stops_its_apps(tmp_path: Path, demo_name: str) -> None:
    for _ in range(3):  # a short demo may end between the sight of its server and the Ctrl-C
        demo = start(["demo", demo_name], cwd=tmp_path)
        if not wait_for(lambda pid=demo.pid: bool(students_of(pid)), 60):
            demo.kill()
            out, err = demo.communicate(timeout=10)
            raise AssertionError(f"the demo never started a server (status {demo.returncode}):\n{out}\n{err}")
        code, _, err, family = ctrl_c(demo)
        if code != 0:
            assert_stopped_cleanly(code, err, family)
            return
        assert not err.strip(), err  # it had ended: whole, and quiet through its clean-up
        assert wait_for(lambda gone=family: not any(map(alive, gone)), 10)
    raise AssertionError("the demo ended before every Ctrl-C: none reached it while it ran")


def test_ctrl_c_at_a_quiz_question(tmp_path: Path) -> None:
    quiz = start(["quiz", "--count", "1", "--name", "ada", "--db", f"sqlite:///{tmp_path / 'q.db'}"])
    assert quiz.stdout is not None
    seen = ""
    while "Your answer" not in seen:
        char = quiz.stdout.read(1)
        assert char, seen
        seen += char
    code, _, err, family = ctrl_c(quiz)
    assert_stopped_cleanly(code, err, family, "answers you gave before are saved")
