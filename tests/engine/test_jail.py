"""The jail: a sandboxed student process sees the allow-list and nothing else of the host."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.course import SOLUTIONS
from grader.engine import jail
from grader.engine.sandbox import unavailable_reason

needs_sandbox = pytest.mark.skipif(unavailable_reason() is not None,
                                   reason=f"no sandbox here: {unavailable_reason()}")

# A student app that looks around at import and serves what it saw at GET /seen.
LOOKS_AROUND = '''
import errno, json, os, socket, sys
from fastapi import FastAPI

WHERE = json.load(open("where.json"))


def attempt(action):
    try:
        action()
        return "ok"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))


def write(folder):
    with open(os.path.join(folder, "written.txt"), "w") as handle:
        handle.write("mine")


def connect(path):
    socket.socket(socket.AF_UNIX).connect(path)


SEEN = {
    "root": sorted(os.listdir("/")),
    "dev": sorted(os.listdir("/dev")),
    "tmp": sorted(os.listdir("/tmp")),
    "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "me": os.getpid(),
    "pid_1_is_my_parent": os.getppid() == 1,
    "read": {p: attempt(lambda p=p: open(p, "rb").read()) for p in WHERE["secrets"]},
    "listed": {p: attempt(lambda p=p: os.listdir(p)) for p in WHERE["folders"]},
    "connect": attempt(lambda: connect(WHERE["socket"])),
    "read_only": {p: bool(os.statvfs(p).f_flag & os.ST_RDONLY)
                  for p in ("/usr", "/etc", sys.prefix, sys.base_prefix)},
    "writes": {p: attempt(lambda p=p: write(p)) for p in (".", "/tmp", "/var/tmp", "/dev/shm", "/", "/usr")},
    "postgresql_config": os.listdir("/etc/postgresql") if os.path.isdir("/etc/postgresql") else [],
    "emptied": {p: os.listdir(p) if os.path.isdir(p) else open(p).read() for p in WHERE["emptied"]},
    "lazy_import": attempt(lambda: __import__("xml.dom.minidom")),
    "devices": attempt(lambda: open("/dev/urandom", "rb").read(8) and open("/dev/null", "wb").write(b"x")),
}
app = FastAPI()


@app.get("/seen")
def seen():
    return SEEN
'''

RUN = """
import json, os, shutil, sys
from dataclasses import replace
from pathlib import Path
from grader.engine.limits import Limits
from grader.engine.process import StudentProcess
from grader.engine.sandbox import FIRST_UID, Sandbox, isolate_worker
from grader.engine.scratch import BoundedScratch

app, hide = sys.argv[1], tuple(json.loads(sys.argv[2]))
keep = isolate_worker()
scratch = BoundedScratch(Path(app))
limits = replace(Limits(preload="web"), sandbox=Sandbox(uid=FIRST_UID + 904, keep=str(keep), hide=hide))
child = StudentProcess(scratch.folder, limits, scratch.root)
report = child.wait_report("ready")
assert report.ok, (report, child.output())
with child.client() as client:
    print(json.dumps(client.get("/seen").json()))
child.close()
scratch.cleanup()
"""


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """What a student app saw from inside the jail, graded the way `grade` runs it: the class,
    its zips and the output folder in a folder of the host (outside /tmp), hidden as grade hides
    them; the grader run from a folder of the instructor's, which holds an answer key."""
    host = Path(tempfile.mkdtemp(prefix="persistlab-test-", dir="/run"))
    try:
        yield _look_around(tmp_path_factory.mktemp("jail"), host)
    finally:
        shutil.rmtree(host)


def _look_around(tmp: Path, host: Path) -> dict:
    for folder in (host, host / "class", host / "out", tmp / "grading"):
        folder.mkdir(mode=0o755, exist_ok=True)
        folder.chmod(0o755)
    classmate = host / "class" / "alice" / "03-add-note" / "main.py"
    classmate.parent.mkdir(parents=True)
    classmate.write_text("# alice's work\n")
    with zipfile.ZipFile(host / "class" / "bob.zip", "w") as archive:
        archive.writestr("03-add-note/main.py", "# bob's work\n")
    (host / "out" / "gradebook.csv").write_text("student,total\n")
    key = tmp / "grading" / "answer-key.py"
    key.write_text("# the answers\n")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(host / ".s.PGSQL.5432"))
    os.chmod(host / ".s.PGSQL.5432", 0o777)
    listener.listen(4)
    app = tmp / "app"
    app.mkdir()
    (app / "main.py").write_text(LOOKS_AROUND)
    secrets = [str(classmate), str(host / "class" / "bob.zip"), str(host / "out" / "gradebook.csv"),
               str(key), str(SOLUTIONS / "03-add-note" / "main.py")]
    folders = [str(host), "/run", "/var/run", "/sys", "/home", str(tmp / "grading")]
    inside = [p for p in ("/etc/hostname", "/usr/share/doc") if os.path.exists(p)]  # in what it sees
    (app / "where.json").write_text(json.dumps({"secrets": secrets, "folders": folders, "emptied": inside,
                                                "socket": str(host / ".s.PGSQL.5432")}))
    hide = [str(host / "class"), str(host / "class" / "bob.zip"), str(host / "out"), str(SOLUTIONS), *inside]
    try:
        run = subprocess.run([sys.executable, "-c", RUN, str(app), json.dumps(hide)],
                             capture_output=True, text=True, timeout=120, check=False,
                             cwd=tmp / "grading")  # the zygote's working directory, first on its sys.path
    finally:
        listener.close()
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@needs_sandbox
def test_the_class_its_zips_the_output_and_the_graders_folder_are_out_of_sight(seen: dict) -> None:
    assert set(seen["read"].values()) == {"ENOENT"}, seen["read"]
    assert set(seen["listed"].values()) == {"ENOENT"}, seen["listed"]


@needs_sandbox
def test_no_unix_socket_of_the_host_is_there_to_connect_to(seen: dict) -> None:
    assert seen["connect"] == "ENOENT"
    assert not {"run", "sys", "home", "mnt", "srv", "boot", "media"} & set(seen["root"]), seen["root"]


@needs_sandbox
def test_its_proc_lists_only_its_own_pid_namespace(seen: dict) -> None:
    """The app (pid 2) and the init of its namespace (pid 1), and nothing of the host."""
    assert seen["pids"] == [1, 2] and seen["me"] == 2 and seen["pid_1_is_my_parent"]


@needs_sandbox
def test_the_system_and_python_are_read_only_and_its_own_folder_and_tmp_are_writable(seen: dict) -> None:
    assert all(seen["read_only"].values()), seen["read_only"]
    assert seen["writes"] == {".": "ok", "/tmp": "ok", "/var/tmp": "ok", "/dev/shm": "ok",
                              "/": "EACCES", "/usr": "EROFS"}
    assert seen["lazy_import"] == "ok" and seen["devices"] == "ok"
    assert seen["postgresql_config"] == []
    assert seen["emptied"] and set(map(len, seen["emptied"].values())) == {0}  # hidden, though inside
    assert seen["dev"] == ["fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout",
                           "urandom", "zero"]


ENTER_DIRECTLY = """
import json, os, sys, tempfile
from pathlib import Path
from grader.engine import syscalls
from grader.engine.sandbox import FIRST_UID, Sandbox, enter, isolate_worker

if sys.argv[1] == "no-pivot-root-number":
    syscalls.this_arch = lambda: None
keep = isolate_worker()
folder = Path(tempfile.mkdtemp(dir=keep)) / "app"
folder.mkdir()
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    code = enter(Sandbox(uid=FIRST_UID + 905, keep=str(keep)), folder, (write,))
    if code is None:
        seen = {"pid": os.getpid(), "pids": sorted(p for p in os.listdir("/proc") if p.isdigit()),
                "root": sorted(os.listdir("/")), "folder": os.path.isdir(folder)}
        os.write(write, json.dumps(seen).encode())
        code = 0
    os._exit(code)
os.close(write)
data = os.read(read, 4096)
_, status = os.waitpid(pid, 0)
print(data.decode(), os.waitstatus_to_exitcode(status))
"""


@needs_sandbox
@pytest.mark.parametrize("how", ["pivot_root", "no-pivot-root-number"])
def test_a_process_not_forked_into_its_pid_namespace_gets_the_same_jail(how: str) -> None:
    """Where the zygote could not fork it straight into a pid namespace, `enter` forks once more;
    without pivot_root's number for this machine the root is moved over / instead."""
    run = subprocess.run([sys.executable, "-c", ENTER_DIRECTLY, how], capture_output=True,
                         text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    data, code = run.stdout.rsplit(" ", 1)
    seen = json.loads(data)
    assert int(code) == 0 and seen["pid"] == 1 and seen["pids"] == ["1"] and seen["folder"]
    assert "run" not in seen["root"] and "sys" not in seen["root"], seen["root"]


def test_the_plan_binds_the_system_python_and_the_grader_but_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # as `python -m` does with the working directory
    jail.host.cache_clear()
    try:
        plan = jail.plan(("/tmp/scratch/app",), hide=(str(SOLUTIONS), "/usr/share", "/run/elsewhere"))
    finally:
        jail.host.cache_clear()
    assert str(tmp_path) not in plan.read_only and "/usr" in plan.read_only
    assert os.path.realpath(sys.base_prefix) in plan.read_only or any(
        sys.base_prefix.startswith(p + "/") for p in plan.read_only)
    assert any(jail.GRADER == p or jail.GRADER.startswith(p + "/") for p in plan.read_only)
    assert plan.writable == ("/tmp/scratch/app",)
    assert "/usr/share" in plan.closed and "/run/elsewhere" not in plan.closed
    nested = [p for p in plan.read_only if any(p.startswith(q + "/") for q in plan.read_only)]
    assert nested == []  # a folder inside one already bound is not bound twice
