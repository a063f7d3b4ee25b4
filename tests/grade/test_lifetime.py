"""How long grading may run and what it leaves behind: a hard limit per submission, a worker that
dies, Ctrl-C, and a grader killed with SIGKILL while a student's server is running."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.course import Course
from grader.engine.family import descendants
from grader.engine.sandbox import FIRST_UID, unavailable_reason
from grader.grade import batch
from grader.grade.batch import Options, grade_class
from grader.grade.command import limits_for
from grader.grade.submissions import intake
from tests.grade.hostile import BASE, HOSTILE

SANDBOX = unavailable_reason() is None
needs_sandbox = pytest.mark.skipif(not SANDBOX, reason=f"no sandbox here: {unavailable_reason()}")
ROOT = Path(__file__).resolve().parents[2]


def make_class(root: Path, course: Course) -> Path:
    """a-drip streams its answers one byte at a time, forever; b-good is the step-3 solution."""
    [drip] = [h for h in HOSTILE if h.name == "drip"]
    folder = root / "class"
    for name, text in (("a-drip", drip.main_py()), ("b-good", BASE)):
        (folder / name / "03-add-note").mkdir(parents=True)
        (folder / name / "03-add-note" / "main.py").write_text(text, encoding="utf-8")
    return folder


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in "ZX"
    except OSError:
        return False


def uid_of(pid: int) -> int:
    try:
        line = next(t for t in Path(f"/proc/{pid}/status").read_text().splitlines() if t.startswith("Uid:"))
    except (OSError, StopIteration):
        return -1
    return int(line.split()[1])


def children(pid: int) -> list[int]:
    return [p for p in descendants(pid) if _parent(p) == pid]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except OSError:
        return -1


def students_of(pid: int) -> list[int]:
    return [p for p in descendants(pid) if FIRST_UID <= uid_of(p) < FIRST_UID + 1000]


def wait_for(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def grading(tmp_path: Path, course: Course) -> Iterator[subprocess.Popen[bytes]]:
    """`persistlab grade` on the drip class, with time limits too long to matter."""
    command = [sys.executable, "-m", "grader", "grade", str(make_class(tmp_path, course)),
               "--out", str(tmp_path / "out"), "--steps", "3", "--jobs", "1",
               "--timeout", "300", "--submission-timeout", "600"]
    scratch = tempfile.mkdtemp(prefix="pl-")  # short: Unix socket paths are made in here
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "TMPDIR": scratch})
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()
    assert process.stderr is not None
    process.stderr.close()
    shutil.rmtree(scratch)  # what a killed grader could not clean up


def test_a_submission_past_the_hard_limit_is_cut_off_and_the_rest_graded(
    tmp_path: Path, course: Course
) -> None:
    submissions = intake([make_class(tmp_path, course)], course)
    options = Options(steps=(3,), limits=limits_for(300), submission_timeout=6, grace=2,
                      sandboxed=SANDBOX)
    start = time.monotonic()
    drip, good = grade_class(submissions, course, options, jobs=1)
    assert time.monotonic() - start < 60
    assert (drip.name, drip.score, drip.status) == ("a-drip", 0, "fail")
    assert "still running 8 s after it started" in drip.reports[0].message
    assert (good.name, good.score, good.status) == ("b-good", 8, "pass")
    assert wait_for(lambda: not students_of(os.getpid()), 5)


def test_a_worker_that_dies_costs_only_its_submission(
    tmp_path: Path, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = batch.grade_work

    def dies_on_drip(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "a-drip":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(batch, "grade_work", dies_on_drip)  # the forked workers inherit it
    submissions = intake([make_class(tmp_path, course)], course)
    options = Options(steps=(3,), limits=limits_for(2), sandboxed=SANDBOX)
    drip, good = grade_class(submissions, course, options, jobs=1)
    assert (drip.score, drip.status) == (0, "error") and "exit code -9" in drip.problem
    assert (good.score, good.status) == (8, "pass")


@needs_sandbox
def test_ctrl_c_stops_everything_promptly(grading: subprocess.Popen[bytes], tmp_path: Path) -> None:
    assert wait_for(lambda: students_of(grading.pid), 60), "the student's server never started"
    family = descendants(grading.pid)
    grading.send_signal(signal.SIGINT)
    grading.wait(timeout=20)
    assert grading.returncode != 0
    assert wait_for(lambda: not any(map(alive, family)), 5), [p for p in family if alive(p)]


@needs_sandbox
def test_a_killed_worker_leaves_no_student_running(grading: subprocess.Popen[bytes], tmp_path: Path) -> None:
    seen: dict[str, list[int]] = {}

    def a_worker_with_a_student() -> bool:  # one look: a server may end between two
        students = students_of(grading.pid)
        workers = [p for p in children(grading.pid) if set(students) & set(descendants(p))]
        seen.update(students=students, workers=workers[:1])
        return bool(workers)

    assert wait_for(a_worker_with_a_student, 60), "the student's server never started"
    students, [worker] = seen["students"], seen["workers"]
    os.kill(worker, signal.SIGKILL)
    assert wait_for(lambda: not any(map(alive, students)), 5), [p for p in students if alive(p)]
    assert grading.wait(timeout=60) == 0
    with open(tmp_path / "out" / "gradebook.csv", encoding="utf-8") as handle:
        book = {row["student"]: row for row in csv.DictReader(handle)}
    assert (book["a-drip"]["total"], book["a-drip"]["status"]) == ("0", "error")
    assert (book["b-good"]["total"], book["b-good"]["status"]) == ("8", "pass")


@needs_sandbox
def test_a_killed_grader_leaves_nothing_running(grading: subprocess.Popen[bytes]) -> None:
    assert wait_for(lambda: students_of(grading.pid), 60), "the student's server never started"
    family = descendants(grading.pid)
    grading.kill()
    assert wait_for(lambda: not any(map(alive, family)), 10), [p for p in family if alive(p)]
