"""Step 11's start command run by the student process itself (alembic's stages forked, uvicorn in
the process) says what the same command run through a shell says, and serves the same app."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from grader.checks.image import image_server
from grader.checks.real_server import RealServer
from grader.checks.server_command import inline, inline_here, read_server, runnable_here
from grader.course import SOLUTIONS
from grader.engine.child import Inline
from grader.engine.family import descendants
from grader.engine.limits import Limits
from grader.engine.sandbox import unavailable_reason

S11 = SOLUTIONS / "11-ship-it"
CHAIN = "alembic upgrade head && exec uvicorn main:app --host 0.0.0.0 --port 8000"


def _stamp_unknown_revision(folder: Path) -> None:
    with sqlite3.connect(folder / "notes.db") as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('ffff')")
    db.close()


def _import_error(folder: Path) -> None:
    main = folder / "main.py"
    main.write_text("import no_such_module  # noqa\n" + main.read_text(encoding="utf-8"), encoding="utf-8")


def _wrong_module(folder: Path) -> None:
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text(encoding="utf-8").replace("main:app", "mian:app"),
                          encoding="utf-8")


BROKEN = {
    "revision-missing": (_stamp_unknown_revision, {}, "Can't locate revision identified by 'ffff'"),
    "app-import-error": (_import_error, {}, "No module named 'no_such_module'"),
    "wrong-module": (_wrong_module, {}, 'Could not import module "mian"'),
    "alembic-not-on-path": (lambda folder: None, {"PATH": "/usr/bin:/bin"}, "alembic: not found"),
}


def _start(tmp_path: Path, edit: object, env: dict[str, str], inline_too: bool) -> RealServer:
    """A RealServer for the reference with `edit` made, in the same folder each time."""
    folder = tmp_path / "app"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(S11, folder, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    edit(folder)  # type: ignore[operator]
    server = image_server(folder)
    how = inline_here(server, sys.executable) if inline_too else None
    assert (how is not None) == inline_too
    return RealServer(folder, Limits(), tmp_path, env, runnable_here(server, sys.executable), how)


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_start_says_the_same_run_inline_or_through_a_shell(tmp_path: Path, name: str) -> None:
    edit, env, says = BROKEN[name]
    said = []
    for inline_too in (False, True):
        server = _start(tmp_path, edit, env, inline_too)
        report, output = server.try_start()
        assert not report.ok, output
        failure = server.startup_failure(report, output)
        alembic_lines = [line for line in output.splitlines() if "[alembic" in line or "FAILED" in line]
        said.append((failure.message, failure.hint, failure.outcome, report.code, alembic_lines))
    shell, child = said
    assert says in shell[0], shell
    assert child == shell


def test_the_reference_starts_inline_without_a_shell_or_a_fresh_python(tmp_path: Path) -> None:
    server = _start(tmp_path, lambda folder: None, {}, inline_too=True).start()
    try:
        assert server.request("GET", "/health").status_code == 200
        assert server.process is not None
        for pid in (server.process.pid, *descendants(server.process.pid)):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            assert b"grader.engine.zygote" in cmdline, cmdline  # forked, never replaced by exec
        with sqlite3.connect(server.folder / "notes.db") as db:
            assert db.execute("SELECT version_num FROM alembic_version").fetchone()
        db.close()
        assert "Running upgrade" in server.output()  # alembic's own log, as its command prints it
    finally:
        server.crash()


def test_an_inline_start_stops_as_main_app_does(tmp_path: Path) -> None:
    """SIGTERM with no connection open: the app's shutdown code runs at once, without uvicorn's
    0.1 s wait for connections (nor its 0.1 s tick), as for main:app forked."""
    import time

    took = []
    for _ in range(3):  # the quickest of three: a busy machine may slow one
        server = _start(tmp_path, lambda folder: None, {}, inline_too=True).start()
        assert server.request("GET", "/health").status_code == 200
        process = server.process
        assert process is not None
        started = time.monotonic()
        server.shutdown()
        took.append(time.monotonic() - started)
        assert process.report is not None and "Application shutdown complete" in process.output()
        if took[-1] < 0.1:
            break
    assert min(took) < 0.1, took


def test_only_alembic_stages_run_inline() -> None:
    python = sys.executable

    def chained(script: str) -> Inline | None:
        return inline_here(read_server(["sh", "-c", script], {}), python)

    assert chained(CHAIN) == Inline((({}, ("upgrade", "head")),), ("main:app",))
    assert chained("FOO=1 alembic -c a.ini upgrade head && fastapi run main.py") == Inline(
        (({"FOO": "1"}, ("-c", "a.ini", "upgrade", "head")),), ("main:app",)
    )
    assert chained("uvicorn main:app --host 0.0.0.0 --root-path /api") == Inline(
        (), ("main:app", "--root-path", "/api")
    )
    for script in (
        "exec alembic upgrade head && uvicorn main:app",  # exec: the shell ends with alembic
        "python seed.py && alembic upgrade head && uvicorn main:app",
        "env -i alembic upgrade head && uvicorn main:app",
        "PYTHONPATH=. alembic upgrade head && uvicorn main:app",  # read as its Python starts
        "PATH=/opt/bin alembic upgrade head && uvicorn main:app",
    ):
        assert chained(script) is None, script
    assert inline((("FOO=a b", "alembic", "upgrade", "head"),), [python, "-m", "uvicorn", "main:app"]) is None
    assert inline((), ["gunicorn", "main:app"]) is None


IN_THE_SANDBOX = """
import json, shutil, sys, tempfile
from dataclasses import replace
from pathlib import Path
from grader.checks.image import image_server
from grader.checks.real_server import RealServer
from grader.checks.server_command import inline_here, runnable_here
from grader.engine.family import descendants
from grader.engine.limits import Limits
from grader.engine.sandbox import unavailable_reason
from grader.engine.sandbox import FIRST_UID, Sandbox, isolate_worker
from tests.checks.test_start_command import _stamp_unknown_revision

keep = isolate_worker()
limits = replace(Limits(), sandbox=Sandbox(uid=FIRST_UID + 901, keep=str(keep)))
said = {}
for name, edit in (("reference", lambda folder: None), ("revision-missing", _stamp_unknown_revision)):
    for how in ("shell", "inline"):
        folder = Path(tempfile.mkdtemp(dir=keep)) / "app"
        shutil.copytree(sys.argv[1], folder, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
        edit(folder)
        server = image_server(folder)
        inline = inline_here(server, sys.executable) if how == "inline" else None
        app = RealServer(folder, limits, folder.parent, {}, runnable_here(server, sys.executable), inline)
        report, output = app.try_start()
        if report.ok:
            family = [app.process.pid, *descendants(app.process.pid)]
            forked = all(b"grader.engine.zygote" in Path(f"/proc/{pid}/cmdline").read_bytes()
                         for pid in family)  # none of them replaced by an exec
            said[f"{name} {how}"] = [app.request("GET", "/health").status_code, forked]
            app.crash()
        else:
            failure = app.startup_failure(report, output)
            said[f"{name} {how}"] = [failure.message, failure.hint]
print(json.dumps(said))
"""


@pytest.mark.skipif(unavailable_reason() is not None, reason=f"no sandbox here: {unavailable_reason()}")
def test_in_the_sandbox_the_start_runs_inline_and_says_the_same() -> None:
    """grade's jailed child runs the chain itself too (alembic's process inherits the jail)."""
    run = subprocess.run([sys.executable, "-c", IN_THE_SANDBOX, str(S11)], capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    said = json.loads(run.stdout.splitlines()[-1])
    assert said["reference inline"] == [200, True], said
    assert said["reference shell"] == [200, False], said
    assert said["revision-missing inline"] == said["revision-missing shell"], said
    assert "Can't locate revision" in said["revision-missing shell"][0], said
