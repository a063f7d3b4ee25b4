"""Hostile student code, graded as a class: each fails with its reason, in bounded time,
leaves nothing running and changes nothing outside its scratch copy."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from rich.console import Console

from grader.course import SOLUTIONS, Course
from grader.engine import sandbox
from grader.engine.family import descendants
from grader.engine.sandbox import FIRST_UID, lease_uid, unavailable_reason
from grader.grade.command import Request, grade
from grader.grade.results_json import max_score
from tests.engine.machine import grader_peak
from tests.grade.hostile import HONEST, HOSTILE, JAILED, write_class, write_honest

pytestmark = pytest.mark.skipif(
    unavailable_reason() is not None, reason=f"no sandbox here: {unavailable_reason()}"
)


HONEST_APP = (SOLUTIONS / "03-add-note" / "main.py").read_text()


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def sandbox_processes() -> list[int]:
    """Living processes of the sandbox's uids that this test run started (below it, or orphans
    the host's init adopted): other grading runs on the machine use the same uids."""
    ours = set(descendants(os.getpid()))
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            uid, state, parent = int(fields["Uid"].split()[0]), fields["State"].split()[0], int(fields["PPid"])
        except (OSError, KeyError, IndexError, ValueError):
            continue
        pid = int(status.parent.name)
        # a zombie has ended; only the init that adopted it has yet to read its status
        if state != "Z" and FIRST_UID <= uid < FIRST_UID + 1000 and (pid in ours or parent == 1):
            found.append(pid)
    return found


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory, course: Course) -> dict[str, object]:
    root = tmp_path_factory.mktemp("hostile")
    out = root / "out"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    canary = root / "canary.txt"
    submissions = root / "class"
    grading = root / "grading"  # the instructor's folder, where grade is run: an answer key in it
    grading.mkdir(mode=0o755)
    grading.chmod(0o755)
    (grading / "answer-key.py").write_text(HONEST_APP)
    host = Path(tempfile.mkdtemp(prefix="host-sockets-", dir="/run"))  # like /run/postgresql
    host.chmod(0o755)
    host_socket = socket.socket(socket.AF_UNIX)
    host_socket.bind(str(host / ".s.PGSQL.5432"))
    os.chmod(host / ".s.PGSQL.5432", 0o777)
    host_socket.listen(8)
    folders = write_class(
        submissions, canary=str(canary), out=str(out), source=str(submissions / "writes-outside"),
        port=listener.getsockname()[1], solutions=str(SOLUTIONS),
        answer_key=str(grading / "answer-key.py"), host_socket=str(host / ".s.PGSQL.5432"),
    )
    write_honest(submissions)
    before = {"class": snapshot(submissions), "solutions": snapshot(SOLUTIONS)}
    start = time.monotonic()
    cwd = os.getcwd()
    os.chdir(grading)
    peak: list[int] = []
    try:
        with grader_peak(peak):
            grades, summary = grade(
                Request(inputs=(submissions,), out=out, jobs=2, steps=(3,), timeout=1.5,
                        submission_timeout=20),
                course, Console(file=io.StringIO()),
            )
    finally:
        os.chdir(cwd)
        host_socket.close()
        shutil.rmtree(host)
    elapsed = time.monotonic() - start
    try:
        listener.accept()
        called = True
    except BlockingIOError:
        called = False
    listener.close()
    return {
        "grades": {g.name: g for g in grades}, "elapsed": elapsed, "out": out, "called": called,
        "canary": canary, "before": before, "submissions": submissions, "folders": folders,
        "summary": summary, "peak": peak[0],
    }


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
def test_each_hostile_submission_fails_with_its_reason(graded_class: dict, hostile) -> None:
    graded = graded_class["grades"][hostile.name]
    data = json.loads((graded_class["out"] / "results" / f"{hostile.name}.json").read_text())
    assert data["score"] == graded.score < max_score(data) == 8
    reasons = " ".join(t["output"] for t in data["tests"])
    assert any(word in reasons for word in hostile.says), reasons
    feedback = (graded_class["out"] / "feedback" / f"{hostile.name}.md").read_text()
    assert graded.status == "fail" and "grader itself failed" not in feedback
    assert "persistlab-" not in feedback + reasons  # no scratch or intake path of the grader's


@pytest.mark.parametrize("hostile", JAILED, ids=lambda h: h.name)
def test_what_the_jail_hides_and_the_filter_refuses_earns_nothing(graded_class: dict, hostile) -> None:
    """Had its attack worked, each would have full marks: it serves the app as written (or an
    honest classmate's)."""
    assert graded_class["grades"][hostile.name].score == 0


def test_honest_students_beside_them_keep_full_marks(graded_class: dict) -> None:
    for name in HONEST:
        graded = graded_class["grades"][name]
        assert graded.score == 8 and graded.status == "pass", graded.reports[0].message


def test_the_graders_own_memory_stays_under_a_gibibyte(graded_class: dict) -> None:
    """The grader, its workers and zygotes together (PSS), while hostile students hoard memory,
    flood output and the status channel: what a student uses is bounded in its own group."""
    assert 0 < graded_class["peak"] < 1 << 30, f"{graded_class['peak'] >> 20} MiB"


def test_the_class_takes_bounded_time_and_leaves_nothing_running(graded_class: dict) -> None:
    assert graded_class["elapsed"] < 60
    deadline = time.monotonic() + 3
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox_processes() == []


def test_nothing_outside_the_scratch_copy_changed(graded_class: dict) -> None:
    assert not graded_class["canary"].exists()
    assert not Path("/root/evil.txt").exists() and not Path("/etc/evil.txt").exists()
    assert snapshot(graded_class["submissions"]) == graded_class["before"]["class"]
    assert snapshot(SOLUTIONS) == graded_class["before"]["solutions"]
    written = json.loads((graded_class["out"] / "results" / "writes-results.json").read_text())
    assert written["score"] == 0 and written["tests"]


def test_the_host_loopback_is_out_of_reach(graded_class: dict) -> None:
    assert graded_class["called"] is False


def test_gradebook_feedback_and_junit_cover_the_class(graded_class: dict) -> None:
    out: Path = graded_class["out"]
    rows = (out / "gradebook.csv").read_text().splitlines()
    assert rows[0].startswith("student,lms_id,late,submitted,step3,total") and len(rows) == len(HOSTILE) + len(HONEST) + 1
    assert "First problem" in (out / "feedback" / "fork-bomb.md").read_text()
    assert (out / "junit.xml").read_text().count("<testsuite ") == len(HOSTILE) + len(HONEST)
    assert len(graded_class["summary"].timeouts) >= 3
    assert oct(os.stat(out).st_mode & 0o777) == "0o700"


def test_without_namespaces_students_still_run_as_another_user(tmp_path: Path, course: Course) -> None:
    from grader.grade.batch import Options, grade_class
    from grader.grade.command import limits_for
    from grader.grade.submissions import intake
    from tests.grade.hostile import HOSTILE

    [hostile] = [h for h in HOSTILE if h.name == "writes-outside"]
    source = tmp_path / "class" / "writes-outside"
    (source / "03-add-note").mkdir(parents=True)
    (source / "03-add-note" / "main.py").write_text(hostile.main_py(
        canary="/etc/evil-canary.txt", source=str(source), out="", port=0, solutions=""))
    submissions = intake([tmp_path / "class"], course)
    options = Options(steps=(3,), limits=limits_for(2), namespaces=False)
    [graded] = grade_class(submissions, course, options, jobs=1)
    assert graded.score == 0 and "no `app`" in graded.reports[0].message
    assert not Path("/etc/evil-canary.txt").exists() and not (source / "evil.txt").exists()


ONE_FORK = """
import shutil, sys, tempfile
from dataclasses import replace
from pathlib import Path
from grader.engine.sandbox import FIRST_UID, Sandbox, isolate_worker
from grader.engine.limits import Limits
from grader.engine.process import StudentProcess

keep = isolate_worker()
folder = Path(tempfile.mkdtemp(dir=keep)) / "app"
shutil.copytree(sys.argv[1], folder)
limits = replace(Limits(), sandbox=Sandbox(uid=FIRST_UID + 900, keep=str(keep)))
child = StudentProcess(folder, limits, folder.parent)
assert child.wait_report("ready").ok, child.output()
status = Path(f"/proc/{child.pid}/status").read_text().splitlines()
print(next(line for line in status if line.startswith("Uid:")))
print(next(line for line in status if line.startswith("NSpid:")))
[app] = Path(f"/proc/{child.pid}/task/{child.pid}/children").read_text().split()
print(next(line for line in Path(f"/proc/{app}/status").read_text().splitlines()
           if line.startswith("NSpid:")))
with child.client() as client:
    print(client.get("/notes").status_code)
child.close()
"""


def test_a_student_app_runs_as_pid_2_under_an_init_of_its_namespace(course: Course) -> None:
    """The zygote forks straight into a new pid namespace, whose pid 1 (the process the grader
    holds, as the student's uid) starts the app as pid 2: signals reach the app as on any machine."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", ONE_FORK, str(course.step(4).solution_dir)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert run.returncode == 0, run.stderr
    uid, nspid, app, code = run.stdout.split("\n")[:4]
    assert uid.split()[1] == str(FIRST_UID + 900)  # the init the grader holds is the student's uid
    assert nspid.split()[-1] == "1" and len(nspid.split()) == 3, nspid
    assert app.split()[-1] == "2" and len(app.split()) == 3, app
    assert code == "200"


@pytest.mark.solo  # another test's lease, taken or given back meanwhile, would change `again`
def test_grading_workers_lease_uids_no_other_worker_holds() -> None:
    first, first_lock = lease_uid()
    second, second_lock = lease_uid()
    try:
        assert first != second and FIRST_UID < min(first, second)
        code = "from grader.engine.sandbox import lease_uid\nprint(lease_uid()[0])"
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert int(other.stdout) not in (first, second)  # another grade run, at the same time
    finally:
        os.close(first_lock)
    again, again_lock = lease_uid()
    os.close(again_lock)
    os.close(second_lock)
    assert again == first  # given back when its holder ends


def test_no_folder_for_uid_leases_is_a_clear_sandbox_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(sandbox, "LEASES", (str(tmp_path / "file" / "uids"),))
    with pytest.raises(sandbox.SandboxError, match="no folder for the uid leases"):
        lease_uid()


WITHOUT_SETPCAP = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable; twice (64 capabilities)
assert libc.capget(header, data) == 0
for word in (0, 1):  # CAP_SETPCAP (8) gone, as in a container that does not grant it
    data[word] &= ~(1 << 8)
assert libc.capset(header, data) == 0
from grader.cli import cli
cli(sys.argv[1:])
"""


def test_a_machine_that_refuses_part_of_the_sandbox_is_named_before_any_student_runs(
    tmp_path: Path, course: Course
) -> None:
    """Without CAP_SETPCAP, no capability can be dropped: `grade` refuses the class at once and
    says why, instead of giving every student a sandbox error."""
    student = tmp_path / "class" / "alice"
    shutil.copytree(course.step(1).solution_dir, student / course.step(1).folder)
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_SETPCAP, "grade", str(tmp_path / "class"),
         "--out", str(tmp_path / "out"), "--steps", "1"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    said = " ".join((run.stdout + run.stderr).split())
    assert run.returncode == 2, said
    assert "Refusing to run untrusted code without the sandbox: this machine refuses part of the " \
           "sandbox: dropping capability 0 failed: Operation not permitted. Grade where the grader may " \
           "make namespaces" in said, said
    assert not (tmp_path / "out" / "gradebook.csv").exists()


ONE_NETWORK = """
import os, shutil, sys, tempfile
from dataclasses import replace
from pathlib import Path
from grader.engine.sandbox import FIRST_UID, Sandbox, isolate_worker
from grader.engine.limits import Limits
from grader.engine.process import StudentProcess

APP = '''
import os, socket
from fastapi import FastAPI
app = FastAPI()
probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    probe.connect("\\\\0persistlab-channel")
    found = "found the earlier student's socket"
except OSError:
    found = "no earlier socket"
channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
channel.bind("\\\\0persistlab-channel")
channel.listen()

@app.get("/")
def seen():
    return {"found": found, "net": os.readlink("/proc/self/ns/net")}
'''
keep = isolate_worker()
limits = replace(Limits(), sandbox=Sandbox(uid=FIRST_UID + 901, keep=str(keep)))
for name in ("first", "second"):
    folder = Path(tempfile.mkdtemp(dir=keep)) / "app"
    folder.mkdir()
    (folder / "main.py").write_text(APP)
    child = StudentProcess(folder, limits, folder.parent)
    assert child.wait_report("ready").ok, child.output()
    with child.client() as client:
        print(client.get("/").json())
    child.close()
print(os.readlink("/proc/self/ns/net"))
"""


def test_students_of_one_zygote_share_an_empty_network_yet_find_nothing_of_the_one_before() -> None:
    run = subprocess.run([sys.executable, "-c", ONE_NETWORK], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    first, second, host = run.stdout.splitlines()[:3]
    first_seen, second_seen = json.loads(first.replace("'", '"')), json.loads(second.replace("'", '"'))
    assert first_seen["found"] == second_seen["found"] == "no earlier socket"
    assert first_seen["net"] == second_seen["net"] != host  # one namespace, made once, not the host's
