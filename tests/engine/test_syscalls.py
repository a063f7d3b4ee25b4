"""The system call filter: what it refuses, on both architectures, and what it leaves alone."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from grader.engine import syscalls
from grader.engine.limits import Limits
from grader.engine.sandbox import FIRST_UID, Sandbox, unavailable_reason
from grader.protections import protections

SIGCHLD = 17
CLONE_THREAD_FLAGS = 0x003D0F00  # what pthread_create passes: VM, FS, FILES, SIGHAND, THREAD, ...
FORK_FLAGS = 0x01200000 | SIGCHLD  # what fork() passes: CHILD_SETTID, CHILD_CLEARTID
CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWNS = 0x10000000, 0x40000000, 0x00020000
I386 = 0x40000003
EPERM, ENOSYS, ALLOW = syscalls.RET_ERRNO | errno.EPERM, syscalls.RET_ERRNO | errno.ENOSYS, syscalls.RET_ALLOW
READ = {"x86_64": 0, "aarch64": 63}


def run_filter(arch: syscalls.Arch, nr: int, arg0: int = 0, audit: int | None = None) -> int:
    """Run the filter's classic BPF program on one system call, as the kernel would."""
    data = {syscalls.ARCH: arch.audit if audit is None else audit, syscalls.NR: nr,
            syscalls.ARG0: arg0 & 0xFFFFFFFF}
    program, at, acc = syscalls.program(arch), 0, 0
    while True:
        code, jt, jf, k = program[at]
        if code == syscalls.LD_W_ABS:
            acc = data[k]
        elif code == syscalls.RET:
            return k
        else:
            taken = {syscalls.JEQ: acc == k, syscalls.JGE: acc >= k, syscalls.JSET: bool(acc & k)}[code]
            at += jt if taken else jf
        at += 1


@pytest.mark.parametrize("arch", syscalls.ARCHES.values(), ids=lambda a: a.name)
def test_the_filter_refuses_each_listed_call_and_new_namespaces_and_allows_the_rest(arch: syscalls.Arch) -> None:
    for name in syscalls.REFUSED:
        assert run_filter(arch, arch.numbers[name]) == EPERM, name
    clone = arch.numbers["clone"]
    for flag in (CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWNS):
        assert run_filter(arch, clone, flag | SIGCHLD) == EPERM
    assert run_filter(arch, clone, CLONE_THREAD_FLAGS) == ALLOW  # threads
    assert run_filter(arch, clone, FORK_FLAGS) == ALLOW  # fork
    assert run_filter(arch, arch.numbers["clone3"]) == ENOSYS  # the C library falls back to clone
    assert run_filter(arch, READ[arch.name]) == ALLOW
    assert run_filter(arch, READ[arch.name], audit=I386) == EPERM  # another ABI: nothing at all


def test_on_x86_64_the_x32_calls_are_refused() -> None:
    x86_64 = syscalls.ARCHES["x86_64"]
    assert run_filter(x86_64, syscalls.X32_BIT | 39) == EPERM
    assert run_filter(x86_64, 39) == ALLOW


needs_filter = pytest.mark.skipif(syscalls.unavailable_reason() is not None,
                                  reason=f"no seccomp filter here: {syscalls.unavailable_reason()}")

LIVE = {"x86_64": {"add_key": 248, "keyctl": 250, "unshare": 272, "mount": 165, "ptrace": 101,
                   "clone3": 435},
        "aarch64": {"add_key": 217, "keyctl": 219, "unshare": 97, "mount": 40, "ptrace": 117,
                    "clone3": 435}}


def _in_filtered_child() -> dict:
    """Install the filter in a forked child and try the calls; needs no root (no_new_privs)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read)
            syscalls.restrict()
            libc = ctypes.CDLL(None, use_errno=True)
            numbers = LIVE[syscalls.this_arch().name]  # type: ignore[union-attr]

            def call(name: str, *args: object) -> int:
                return 0 if libc.syscall(numbers[name], *args) >= 0 else ctypes.get_errno()

            seen: dict = {
                "add_key": call("add_key", b"user", b"persistlab", b"x", 1, ctypes.c_long(-4)),
                "keyctl": call("keyctl", 0, ctypes.c_long(-4), 0),
                "unshare": call("unshare", CLONE_NEWUSER),
                "mount": call("mount", b"none", b"/", None, 0, None),
                "ptrace": call("ptrace", 0, 0, 0, 0),
                "clone3": call("clone3", None, 0),
            }
            ran: list[int] = []
            threads = [threading.Thread(target=ran.append, args=(n,)) for n in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seen["threads"] = len(ran)
            child = os.fork()
            if child == 0:
                os._exit(7)
            seen["fork"] = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
            seen["subprocess"] = subprocess.run([sys.executable, "-c", "print(6 * 7)"], check=True,
                                                capture_output=True, text=True).stdout.strip()
            status = dict(line.split(":\t", 1) for line in Path("/proc/self/status").read_text().splitlines()
                          if ":\t" in line)
            seen["no_new_privs"], seen["seccomp"] = status["NoNewPrivs"].strip(), status["Seccomp"].strip()
            os.write(write, json.dumps(seen).encode())
        finally:
            os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 4096):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    return json.loads(data)


@needs_filter
def test_a_filtered_process_is_refused_yet_threads_fork_and_subprocesses_work() -> None:
    seen = _in_filtered_child()
    assert {k: seen[k] for k in ("add_key", "keyctl", "unshare", "mount", "ptrace")} == dict.fromkeys(
        ("add_key", "keyctl", "unshare", "mount", "ptrace"), errno.EPERM)
    assert seen["clone3"] == errno.ENOSYS
    assert (seen["threads"], seen["fork"], seen["subprocess"]) == (8, 7, "42")
    assert (seen["no_new_privs"], seen["seccomp"]) == ("1", "2")


STATUS_APP = '''
from fastapi import FastAPI

FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")
STATUS = {k: v.strip() for k, v in (line.split(":", 1) for line in open("/proc/self/status"))
          if k in FIELDS}
app = FastAPI()


@app.get("/status")
def status():  # a plain def: uvicorn runs it on its thread pool
    return STATUS
'''

RUN = """
import concurrent.futures, json, shutil, sys, tempfile
from dataclasses import replace
from pathlib import Path
from grader.engine.limits import Limits
from grader.engine.process import StudentProcess
from grader.engine.sandbox import FIRST_UID, Sandbox, isolate_worker

keep = isolate_worker()
folder = Path(tempfile.mkdtemp(dir=keep)) / "app"
folder.mkdir()
(folder / "main.py").write_text(sys.argv[1])
namespaces = sys.argv[2] == "namespaces"
limits = replace(Limits(preload="web"),
                 sandbox=Sandbox(uid=FIRST_UID + 906, keep=str(keep), namespaces=namespaces))
child = StudentProcess(folder, limits, folder.parent)
assert child.wait_report("ready").ok, child.output()
with child.client() as client:
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        codes = list(pool.map(lambda _: client.get("/status").status_code, range(50)))
    print(json.dumps({"codes": sorted(set(codes)), "status": client.get("/status").json()}))
child.close()
"""


@pytest.mark.skipif(unavailable_reason() is not None, reason=f"no sandbox here: {unavailable_reason()}")
@needs_filter
@pytest.mark.parametrize("how", ["namespaces", "user only"])
def test_a_sandboxed_student_has_no_capabilities_no_new_privs_and_the_filter(how: str) -> None:
    run = subprocess.run([sys.executable, "-c", RUN, STATUS_APP, how.split()[0]],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["codes"] == [200]  # 50 requests at once, on uvicorn's thread pool
    status = seen["status"]
    assert {status[k] for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} == {"0" * 16}
    assert (status["NoNewPrivs"], status["Seccomp"]) == ("1", "2")


def test_where_the_filter_does_not_know_the_machine_the_protections_say_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sandbox = Sandbox(uid=FIRST_UID, keep="/tmp/k")
    on = {p.name: p for p in protections(Limits(sandbox=sandbox), why="unused").items}
    assert on["system call filtering"].on == (syscalls.this_arch() is not None)
    machine = os.uname()
    monkeypatch.setattr(syscalls.os, "uname", lambda: os.uname_result((*machine[:4], "ppc64le")))
    off = protections(Limits(sandbox=sandbox), why="unused")
    assert [p.name for p in off.off] == ["system call filtering"]
    assert off.off_text() == ("system call filtering, because the seccomp filter knows the system calls "
                              "of 64-bit x86_64 and aarch64, and this is 64-bit ppc64le (it still has no "
                              "capabilities and no_new_privs)")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            installed = syscalls.restrict()
            status = Path("/proc/self/status").read_text()
            os.write(write, json.dumps([installed, "NoNewPrivs:\t1" in status, "Seccomp:\t0" in status]).encode())
        finally:
            os._exit(0)
    os.close(write)
    seen = json.loads(os.read(read, 4096))
    os.waitpid(pid, 0)
    assert seen == [False, True, True]  # there, no_new_privs alone
