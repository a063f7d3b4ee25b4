"""Student processes end with the check: children, grandchildren, and hung servers alike."""

from __future__ import annotations

import os
import random
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader.check import run_checks
from grader.course import Course
from grader.engine.limits import Limits
from grader.engine.patience import second_wait
from grader.engine.process import StudentProcess
from grader.engine.zygote import children, shared_zygote
from grader.results import FAIL, PASS
from tests.checks.variants import S1, S3, S11, VARIANTS, Variant
from tests.engine.machine import cpu_hogs, peak_growth

QUICK = Limits(startup=2.0, request=1.0, stop=1.0)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_no_process_outlives_a_check(course: Course, tmp_path: Path) -> None:
    shared = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else "/var/tmp"))
    pidfile = shared / "grandchild.pid"  # not under /tmp: the app has a /tmp of its own
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
    assert children(zygote) == []
    shutil.rmtree(shared, ignore_errors=True)


def test_the_zygote_is_replaced_if_it_dies(course: Course) -> None:
    first = shared_zygote()
    first.process.kill()
    first.process.wait()
    report = run_checks(course.step(2), course.step(2).solution_dir)
    assert report.status == PASS
    assert shared_zygote() is not first


def _running(argv: list[str]) -> list[int]:
    wanted = "\0".join(argv).encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes() == wanted and _alive(int(entry.name)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize(("step", "anchor"), [
    (1, "next_id = 1"), (3, "next_id = 1"), (11, "app = FastAPI(lifespan=lifespan)"),
])
def test_a_detached_grandchild_dies_with_the_check(
    step: int, anchor: str, course: Course, tmp_path: Path
) -> None:
    argv = ["sleep", f"{random.randint(10**6, 10**7)}.5"]
    detach = f"import subprocess\nsubprocess.Popen({argv!r}, start_new_session=True)\n"
    base = {1: S1, 3: S3, 11: S11}[step]
    variant = Variant("detaches", step, base, {"main.py": [(anchor, anchor + "\n" + detach)]})
    report = run_checks(course.step(step), variant.write(tmp_path / "s"), QUICK)
    assert report.status == PASS, report.message
    deadline = time.monotonic() + 2
    while _running(argv) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _running(argv) == []


def test_the_whole_answer_has_one_deadline(course: Course, tmp_path: Path) -> None:
    drip = next(v for v in VARIANTS if v.name == "drips-forever")
    start = time.monotonic()
    report = run_checks(course.step(3), drip.write(tmp_path / "s"), QUICK)
    elapsed = time.monotonic() - start
    given = (f"within {QUICK.request:g} s", f"within {QUICK.request + second_wait(QUICK.request):g} s")
    assert report.status == FAIL and any(g in report.tests[0].message for g in given), given
    asked = sum(1 for t in report.tests if "no answer within" in t.message)
    assert elapsed < asked * (QUICK.request + second_wait(QUICK.request)) + 5, (elapsed, asked)


def test_a_long_temporary_folder_still_gets_a_socket(
    course: Course, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TMPDIR too long for an AF_UNIX path (108 bytes) must not stop a check."""
    deep = tmp_path / ("t" * 100)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    step = course.step(3)
    report = run_checks(step, step.solution_dir, QUICK)
    assert report.status == PASS, report


STATUS_FLOOD = '''
import os
import socket

for fd in range(3, 64):
    try:
        sock = socket.socket(fileno=os.dup(fd))
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            continue
    except OSError:
        continue
    os.write(fd, b"[" * 200_000 + b"\\n")  # too deep for json: RecursionError
    block = b"x" * (1 << 20)
    for _ in range(32):  # 32 MiB without a newline
        os.write(fd, block)
    os.write(fd, b"\\n")
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_flooded_status_channel_costs_the_grader_little(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(STATUS_FLOOD + "\nfrom fastapi import FastAPI\napp = FastAPI()\n")
    child = StudentProcess(tmp_path, Limits(startup=30.0), tmp_path)
    reports = []
    try:
        grew = peak_growth(lambda: reports.append(child.wait_report("ready")))
    finally:
        child.close()
    assert grew < 8 << 20, f"the grader's memory rose by {grew >> 20} MiB"
    assert reports[0].ok, reports


def test_a_start_that_sleeps_fails_at_its_limit(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import time\ntime.sleep(60)\n")
    child = StudentProcess(tmp_path, Limits(startup=1.0), tmp_path)
    try:
        report = child.wait_report("ready")
    finally:
        child.close()
    assert (report.error, report.message, child.startup_allowed) == ("Timeout", "1 s", 1.0)


@pytest.mark.solo
def test_hangs_still_fail_in_bounded_time_beside_two_cpu_hogs(course: Course, tmp_path: Path) -> None:
    """On a machine kept busy (`dev check`'s grading, in tests/test_cli.py, holds every correct step to full marks
    beside the same hogs), a handler that loops or drips forever still fails in bounded time."""
    with cpu_hogs():
        limits = Limits(startup=5.0, request=2.0)
        for name in ("handler-loops", "drips-forever"):
            hanging = next(v for v in VARIANTS if v.name == name)
            start = time.monotonic()
            report = run_checks(course.step(3), hanging.write(tmp_path / name), limits)
            elapsed = time.monotonic() - start
            assert report.status == FAIL and "no answer within" in report.tests[0].message
            asked = sum(1 for t in report.tests if "no answer within" in t.message)
            bound = asked * (limits.request + second_wait(limits.request)) + len(report.tests) * 15
            assert elapsed < bound, (name, elapsed, asked)


BINDS_THEN_LISTENS = """
import socket, sys, time
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[-1])  # the file is there; a connection is refused until listen()
time.sleep(1.0)
server.listen()
while True:
    connection, _ = server.accept()
    if connection.recv(65536):  # nothing: the grader's look at whether it listens
        connection.sendall(b"HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\nconnection: close\\r\\n\\r\\n{}")
    connection.close()
"""


def test_an_own_command_is_ready_once_it_listens_not_once_its_socket_file_exists(
    tmp_path: Path,
) -> None:
    """A request sent between bind() and listen() is refused, which read as a server that never
    answered (a correct app failed a start now and then on a busy machine)."""
    child = StudentProcess(tmp_path, Limits(), tmp_path,
                           command=[sys.executable, "-c", BINDS_THEN_LISTENS])
    try:
        assert child.wait_report("ready").ok, child.output()
        with child.client() as client:
            assert client.get("/").status_code == 200
    finally:
        child.close()


LINKS_ELSEWHERE = """
import os, sys, time
target, kind, where = sys.argv[1], sys.argv[2], sys.argv[-1]  # ... --uds WHERE
if kind == "socket":
    os.symlink(target, where)
else:  # the folder the grader made for the socket
    os.rename(os.path.dirname(where), os.path.dirname(where) + "-moved")
    os.symlink(target, os.path.dirname(where))
time.sleep(0.6)
"""


@pytest.mark.parametrize("kind", ["socket", "folder"])
def test_an_own_command_that_links_its_socket_elsewhere_is_never_spoken_to(kind: str) -> None:
    """Where --uds asked for a socket, a symbolic link to another server's (the host's, out of
    the sandbox's sight) or to a folder holding one: the grader connects to neither, and the
    app has not started."""
    base = Path(tempfile.mkdtemp(prefix="pl-link-"))  # short: the socket's path is not moved
    other, app = base / "host", base / "app"
    other.mkdir()
    app.mkdir()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as host:
            host.bind(str(other / "app.sock"))
            host.listen(8)
            host.setblocking(False)
            target = other / "app.sock" if kind == "socket" else other
            child = StudentProcess(app, QUICK, base,
                                   command=[sys.executable, "-c", LINKS_ELSEWHERE, str(target), kind])
            try:
                assert child.socket_path.startswith(str(app))
                report = child.wait_report("ready")
            finally:
                child.close()
            with pytest.raises(BlockingIOError):
                host.accept()
        assert not report.ok and report.stage == "exited", report
        assert (other / "app.sock").exists()
    finally:
        shutil.rmtree(base)


@pytest.mark.parametrize("kind", ["fifo", "socket"])
def test_a_copy_of_a_folder_an_app_ran_in_leaves_its_special_files_out(tmp_path: Path, kind: str) -> None:
    """A FIFO or a socket the app left where it ran (step 11 copies that folder for each fresh
    start) cannot be copied: the copy leaves it out, as intake leaves such files out."""
    from grader.engine.scratch import Scratch

    ran = tmp_path / "ran"
    (ran / "data").mkdir(parents=True)
    (ran / "main.py").write_text("app = None\n")
    left = ran / "data" / f"left.{kind}"
    if kind == "fifo":
        os.mkfifo(left)
    else:
        socket.socket(socket.AF_UNIX).bind(str(left))
    scratch = Scratch(ran)
    try:
        copy = scratch.fresh(ran, "fresh")
        assert (copy / "main.py").is_file() and not (copy / "data" / left.name).exists()
    finally:
        scratch.cleanup()
