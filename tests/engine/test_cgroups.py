"""Memory and processes are bounded per student by control groups, which a correct app never meets."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.engine import cgroups
from grader.engine.limits import Limits
from grader.engine.process import StudentProcess
from grader.engine.sandbox import Sandbox, lease_uid
from grader.engine.sandbox import unavailable_reason as no_sandbox

WHY = no_sandbox() or cgroups.unavailable_reason()
pytestmark = pytest.mark.skipif(WHY is not None, reason=f"no sandbox with cgroups here: {WHY}")

# four processes of 300 MiB each: each is under the limit alone, together they are over it
GREEDY_FAMILY = """\
import os, time
from fastapi import FastAPI

app = FastAPI()
for _ in range(3):
    if os.fork() == 0:
        break
block = bytearray(300 << 20)
block[::4096] = b"x" * len(block[::4096])
time.sleep(30)
"""

THREADED = """\
import threading
from fastapi import FastAPI

app = FastAPI()
ready = threading.Barrier(41)
threads = [threading.Thread(target=ready.wait) for _ in range(40)]
for thread in threads:
    thread.start()
ready.wait()
for thread in threads:
    thread.join()
"""


@pytest.fixture(scope="module")
def worker() -> Iterator[tuple[Path, int]]:
    """A scratch area and a leased uid, as a grading worker has them."""
    keep = Path(tempfile.mkdtemp(prefix="persistlab-cg-"))
    keep.chmod(0o711)
    uid, lease = lease_uid()
    yield keep, uid
    os.close(lease)
    shutil.rmtree(keep, ignore_errors=True)


def start(worker: tuple[Path, int], source: str, name: str, memory: int) -> StudentProcess:
    keep, uid = worker
    folder = keep / name / "app"
    folder.mkdir(parents=True)
    (folder / "main.py").write_text(source)
    limits = Limits(sandbox=Sandbox(uid=uid, keep=str(keep), cgroups=True), memory_bytes=memory,
                    startup=20)
    return StudentProcess(folder, limits, keep)


def test_memory_is_counted_for_all_of_a_students_processes_together(worker: tuple[Path, int]) -> None:
    child = start(worker, GREEDY_FAMILY, "greedy", 768 << 20)
    try:
        report = child.wait_report("ready")
        assert not report.ok
        assert child.memory_exceeded(), "four 300 MiB processes are over 768 MiB together"
    finally:
        group = child.cgroup
        child.close()
    assert group is not None
    left = {int(p) for p in (group.paths[-1] / "cgroup.procs").read_text().split()}
    assert left and left <= group.protected, "only the zygote the students fork from is left"


def test_a_thread_pool_does_not_count_against_the_memory_limit(worker: tuple[Path, int]) -> None:
    """41 threads reserve far more address space than 256 MiB; resident, they use little."""
    child = start(worker, THREADED, "threads", 256 << 20)
    try:
        report = child.wait_report("ready")
        assert report.ok, (report, child.output())
        assert not child.memory_exceeded()
    finally:
        child.close()
