"""What a check run is said to have, held against what a real student process gets."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from grader.check import run_checks
from grader.course import Course
from grader.engine.limits import Limits
from grader.engine.process import StudentProcess
from grader.engine.sandbox import FIRST_UID, Sandbox, unavailable_reason
from grader.protections import Protections, for_check, protections

ISOLATION = ["network isolation", "process isolation", "user isolation", "filesystem isolation",
             "system call filtering"]

SELF_REPORT = """\
import ctypes, json, os, resource

def limit(name):
    return resource.getrlimit(getattr(resource, name))[0]

signal = ctypes.c_int(0)
ctypes.CDLL(None).prctl(2, ctypes.byref(signal))  # PR_GET_PDEATHSIG
print(json.dumps({
    "cpu": limit("RLIMIT_CPU"), "memory": limit("RLIMIT_AS"), "file": limit("RLIMIT_FSIZE"),
    "core": limit("RLIMIT_CORE"), "leads_group": os.getpgrp() == os.getpid(),
    "deathsig": signal.value, "uid": os.getuid(), "net": os.readlink("/proc/self/ns/net"),
    "pid_ns": os.readlink("/proc/self/ns/pid"),
}))
"""


def named(found: Protections) -> dict[str, tuple[bool, str]]:
    return {p.name: (p.on, p.detail) for p in found.items}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and prctl")
def test_every_claim_holds_in_a_real_student_process(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(SELF_REPORT)
    limits = Limits(cpu_seconds=7, memory_bytes=1536 << 20, file_bytes=3 << 20)
    child = StudentProcess(tmp_path / "app", limits, tmp_path)
    try:
        report = child.wait_report("ready")
        child.wait(limits.stop)
        output = child.output()
    finally:
        child.close()
    assert report.error == "NoApp", (report, output)  # it imported: main.py defines no app
    seen = json.loads(output.strip().splitlines()[-1])
    claims = named(protections(limits, why="it runs as you"))
    on, rlimits = claims["resource limits"]
    assert on and "CPU 7 s" in rlimits and "address space 1536 MiB" in rlimits
    assert "file size 3 MiB" in rlimits and "no core dumps" in rlimits
    assert (seen["cpu"], seen["memory"], seen["file"], seen["core"]) == (7, 1536 << 20, 3 << 20, 0)
    assert claims["process cleanup"][0] and "PR_SET_PDEATHSIG" in claims["process cleanup"][1]
    assert seen["leads_group"] and seen["deathsig"] == 9
    assert all(not claims[name][0] for name in ISOLATION)  # and indeed it runs as us, beside us
    assert seen["uid"] == os.getuid() and seen["net"] == os.readlink("/proc/self/ns/net")
    assert seen["pid_ns"] == os.readlink("/proc/self/ns/pid")


def test_the_checks_run_a_scratch_copy(workspace: Path, course: Course) -> None:
    step = course.step(1)
    folder = workspace / step.folder
    (folder / "main.py").write_text("open('written-by-main.txt', 'w').write('x')\nnotes_db = {}\nnext_id = 1\n")
    report = run_checks(step, folder)
    assert report.status == "pass", report.message
    assert not (folder / "written-by-main.txt").exists()
    assert named(for_check(step, Limits()))["scratch copy"][0]


def test_check_on_this_machine_says_what_only_grade_adds(course: Course) -> None:
    found = for_check(course.step(3), Limits(startup=4, request=2))
    reason = unavailable_reason()
    expected = "`persistlab grade` sandboxes it" if reason is None else f"this machine has no sandbox: {reason}"
    assert [p.name for p in found.off] == ISOLATION
    assert all(p.detail == f"check runs your own code as you ({expected})" for p in found.off)
    first, off = found.lines()
    assert first.startswith("Protections on: time limits (start 4 s, answer 2 s), resource limits (CPU 60 s")
    assert "scratch copy" not in first, "the summary stays short; the full list is in --json"
    assert off.startswith("Off: network, process, user and filesystem isolation and system call filtering, "
                          "because check runs")


@pytest.mark.parametrize("reason", ["namespaces need Linux, and this is darwin",
                                    "namespaces and a separate user need root"])
def test_a_machine_without_the_sandbox_is_named(course: Course, reason: str) -> None:
    found = for_check(course.step(1), Limits(), machine=lambda: reason)
    assert {p.detail for p in found.off} == {f"check runs your own code as you (this machine has no sandbox: {reason})"}
    assert "`persistlab grade` sandboxes it" not in " ".join(found.lines())
    assert named(found)["time limits"][0] and named(found)["resource limits"][0]


def test_a_step_that_starts_the_app_itself_says_what_it_has(course: Course) -> None:
    found = named(for_check(course.step(11), Limits(startup=2), machine=lambda: "not root"))
    assert found["resource limits"][0] and "CPU 60 s" in found["resource limits"][1]
    assert "20 s to start" in found["time limits"][1], "a plain start has its own floor"
    assert "PR_SET_PDEATHSIG" in found["process cleanup"][1]
    assert "caught by the zygote" in found["process cleanup"][1], "forked by the zygote like any other"
    assert all(not found[name][0] for name in ISOLATION)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads prctl")
def test_every_claim_holds_in_a_process_started_with_its_own_command(tmp_path: Path) -> None:
    limits = Limits(cpu_seconds=7, memory_bytes=1536 << 20, file_bytes=3 << 20, startup=5)
    folder = tmp_path / "app"
    folder.mkdir()
    process = StudentProcess(folder, limits, tmp_path, {}, [sys.executable, "-c", SELF_REPORT])
    try:
        assert process.wait(5) == 0, process.output()
        seen = json.loads(process.output().strip().splitlines()[-1])
    finally:
        process.close()
    claims = named(protections(limits, own_command=True, why="it runs as you"))
    assert claims["resource limits"][0] and "CPU 7 s" in claims["resource limits"][1]
    assert (seen["cpu"], seen["memory"], seen["file"], seen["core"]) == (7, 1536 << 20, 3 << 20, 0)
    assert seen["leads_group"] and seen["deathsig"] == 9


def test_the_sandbox_turns_everything_on_and_without_namespaces_says_what_is_left() -> None:
    sandbox = Sandbox(uid=FIRST_UID, keep="/tmp/k", hide=("/a", "/b"))
    full = protections(Limits(sandbox=sandbox), why="unused")
    assert full.off == [] and full.off_text() == ""
    assert "128 processes, 256 open files" in named(full)["resource limits"][1]
    assert "2 folders it must not read" in named(full)["filesystem isolation"][1]
    bare = protections(Limits(sandbox=Sandbox(uid=FIRST_UID, keep="/tmp/k", namespaces=False)),
                       why="this machine refuses new namespaces")
    assert [p.name for p in bare.off] == ["network isolation", "process isolation", "filesystem isolation"]
    assert bare.off_text() == "network, process and filesystem isolation, because this machine refuses new namespaces"
    assert "only file modes" in named(bare)["user isolation"][1]


def test_check_gives_the_app_a_tmp_of_its_own_as_grade_does(course: Course, tmp_path: Path) -> None:
    """A database kept under /tmp lives across a restart and is gone at the next run, in check as
    in grade: the second run scores as the first, and the machine's /tmp is untouched."""
    import secrets

    from tests.checks.variants import S5, Variant

    kept = f"/tmp/persistlab-own-tmp-{secrets.token_hex(4)}.db"
    folder = Variant("tmp-database", 5, S5, {"db.py": [('"notes.db"', repr(kept))]}).write(tmp_path / "app")
    try:
        first, second = (run_checks(course.step(5), folder) for _ in range(2))
        assert [(t.name, t.status) for t in first.tests] == [(t.name, t.status) for t in second.tests]
        assert first.score == second.score < first.max_score  # the checks that read notes.db fail
        assert not Path(kept).exists()
    finally:
        Path(kept).unlink(missing_ok=True)


OWN_TMP = """
import os, sys
from pathlib import Path
from grader.engine.sandbox import private_tmp, step_tmp
app = Path(sys.argv[1]) / "app"
app.mkdir()
step_tmp(app).mkdir()
made = os.stat(step_tmp(app))
print(private_tmp(app), os.getuid(), (os.stat("/tmp").st_ino, os.stat("/tmp").st_dev) == (made.st_ino, made.st_dev),
      os.path.isdir(app))
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("CapEff")))
import ctypes
signal = ctypes.c_int()
ctypes.CDLL(None).prctl(2, ctypes.byref(signal))  # PR_GET_PDEATHSIG: set again after the new credentials
print(signal.value)
"""


@pytest.mark.skipif(os.geteuid() != 0 or not sys.platform.startswith("linux"), reason="needs root to become another user")
def test_a_student_who_is_not_root_gets_its_own_tmp_and_no_capability(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import tempfile

    if shutil.which("setpriv") is None:
        pytest.skip("no setpriv here to run as another user")
    folder = Path(tempfile.mkdtemp(prefix="persistlab-own-tmp-"))
    folder.chmod(0o777)
    try:
        run = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", OWN_TMP, str(folder)],
            capture_output=True, text=True, timeout=60, check=False, cwd="/",
        )
        assert run.returncode == 0, run.stderr
        made, caps, dies_with_parent = run.stdout.splitlines()[:3]
        if made.startswith("False"):  # a machine that refuses unprivileged user namespaces
            pytest.skip("this machine gives an unprivileged process no user namespace")
        assert made == "True 65534 True True" and int(caps, 16) == 0, run.stdout
        assert dies_with_parent == "9", run.stdout  # SIGKILL when the grader goes
    finally:
        shutil.rmtree(folder, ignore_errors=True)
