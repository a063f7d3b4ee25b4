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


FRESH_WORKER = """
import os, sys
from pathlib import Path
from grader.engine import cgroups
parent = Path(sys.argv[1])
(parent / f"persistlab-{os.getpid()}" / "s0").mkdir(parents=True)  # an earlier process with this pid
(parent / "persistlab-4194303-1" / "s2").mkdir(parents=True)  # a grader killed outright, long gone
group = cgroups.worker_group(1 << 30, 16)
print(sorted(p.name for p in parent.glob("persistlab-*")), group.paths[0].parent.name)
cgroups.release()
"""


def test_groups_left_by_a_grader_killed_outright_neither_collide_nor_pile_up() -> None:
    """Pids are reused, and a grader killed outright leaves its empty groups behind: a new
    grader's groups are named by pid and start time, and the empty ones of graders gone are
    removed as it makes its own."""
    import subprocess
    import sys

    parent = cgroups._hierarchies(os.getpid())[0].base.parent
    run = subprocess.run([sys.executable, "-c", FRESH_WORKER, str(parent)], capture_output=True,
                         text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    listed, own = run.stdout.rsplit(" ", 1)
    pid, started = own.strip().split("-")[1:]
    assert started and f"'persistlab-{pid}'" not in listed and "persistlab-4194303-1" not in listed
    assert f"'{own.strip()}'" in listed
    assert not (parent / own.strip()).exists()  # released at its end
