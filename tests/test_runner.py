"""Student processes end with the check: children, grandchildren, and hung servers alike."""

from __future__ import annotations

import os
import time
from pathlib import Path

from grader.check import run_checks
from grader.course import Course
from grader.results import FAIL, PASS
from grader.runner import Limits
from grader.zygote import shared_zygote
from tests.checks.variants import S3, Variant

QUICK = Limits(startup=2.0, request=1.0, stop=1.0)


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_no_process_outlives_a_check(course: Course, tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    spawner = (
        "import subprocess\n"
        "_sleeper = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(pidfile)!r}, 'a').write(f'{{_sleeper.pid}}\\n')\n"
        "app = FastAPI()"
    )
    hanging = Variant(
        "spawns-and-hangs", 3, S3,
        {"main.py": [("app = FastAPI()", spawner),
                     ("    global next_id\n", "    global next_id\n    while True:\n        pass\n")]},
    )
    report = run_checks(course.step(3), hanging.write(tmp_path / "s"), QUICK)
    assert report.status == FAIL and "no answer within" in report.tests[0].message
    grandchildren = [int(line) for line in pidfile.read_text().split()]
    assert grandchildren, "the submission started its grandchildren"
    deadline = time.monotonic() + 2
    while any(_alive(pid) for pid in grandchildren) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in grandchildren)
    zygote = shared_zygote().process.pid
    assert [pid for pid in _children_of(zygote) if _alive(pid)] == []
    assert [pid for pid in _children_of(os.getpid()) if _alive(pid) and pid != zygote] == []


def test_the_zygote_is_replaced_if_it_dies(course: Course) -> None:
    first = shared_zygote()
    first.process.kill()
    first.process.wait()
    report = run_checks(course.step(2), course.step(2).solution_dir)
    assert report.status == PASS
    assert shared_zygote() is not first
