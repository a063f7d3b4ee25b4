"""How a real `persistlab check` starts and ends: its zygote first, before the grader loads what
the checks need; and at the end every clean-up done, the verdict's exit status, and nothing left
running or lying in its temporary folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from grader.cli import cli
from grader.course import Course
from grader.engine import sandbox

LOADED_BY = "import sys, {module}; print(json.dumps(sorted(m for m in {names!r} if m in sys.modules)))"


def loaded(module: str, names: tuple[str, ...]) -> list[str]:
    """Which of `names` importing `module` loads, in a fresh interpreter."""
    code = f"import json; {LOADED_BY.format(module=module, names=names)}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout))


def test_the_zygote_is_started_before_the_heavy_modules_load() -> None:
    assert loaded("grader.engine.zygote", ("asyncio", "grader.engine.child", "httpx", "pytest")) == []


def test_check_does_not_load_the_break_it_experiments() -> None:
    assert loaded("grader.cli", ("grader.breakit",)) == []
    listed = CliRunner().invoke(cli, ["demo", "--help"], catch_exceptions=False)
    assert listed.exit_code == 0
    assert all(name in listed.output for name in ("delete-db", "add-column", "skip-migration", "restart"))


SUBREAPER = """
import ctypes, json, os, subprocess, sys
from grader.engine.zygote import children
ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: whatever outlives persistlab comes here
done = subprocess.run([sys.executable, "-m", "grader", *sys.argv[1:]], capture_output=True, text=True)
print(json.dumps({"code": done.returncode, "out": done.stdout, "err": done.stderr,
                  "left": children(os.getpid())}))
"""


def real_check(args: list[str], tmp: Path) -> dict[str, object]:
    """`persistlab ARGS` as its own process, with a temporary folder of its own."""
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    done = subprocess.run([sys.executable, "-c", SUBREAPER, *args], capture_output=True, text=True,
                          env=env, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_real_check_ends_clean_with_its_verdicts_status(
    workspace: Path, course: Course, tmp_path: Path
) -> None:
    step = course.step(5)
    for path in step.solution_dir.glob("*.py"):
        shutil.copy(path, workspace / step.folder / path.name)
    passed = real_check(["check", "5", "--dir", str(workspace)], tmp_path / "passed")
    assert passed["code"] == 0, passed
    assert "Step 5 passes" in str(passed["out"]) and "Protections on:" in str(passed["out"])
    assert passed["left"] == [] and list((tmp_path / "passed").iterdir()) == []
    (workspace / step.folder / "db.py").write_text("import sqlite3\n")
    failed = real_check(["check", "5", "--dir", str(workspace)], tmp_path / "failed")
    assert failed["code"] == 1, failed
    assert failed["left"] == [] and list((tmp_path / "failed").iterdir()) == []
    (workspace / step.folder / "main.py").write_text("")
    refused = real_check(["check", "5", "--dir", str(workspace), "--json"], tmp_path / "refused")
    assert refused["code"] == 2 and json.loads(str(refused["out"]))["status"] == "error", refused
    assert refused["left"] == [] and list((tmp_path / "refused").iterdir()) == []


def test_probes_started_ahead_answer_as_probes_asked_now() -> None:
    now = (sandbox.namespaces_reason(), sandbox._probe_private_tmp())
    sandbox.probe_ahead()
    assert (sandbox.namespaces_reason(), sandbox._probe_private_tmp()) == now
    assert sandbox._ahead == {}


def test_the_checks_pytest_session_loads_no_plugin_they_do_not_use() -> None:
    code = ("import json, sys\nfrom grader.course import load_course\nfrom grader.driver import open_session\n"
            "seen = []\nopen_session([load_course().step(5)], lambda s: seen.append(s.plugins.list_name_plugin()))\n"
            "names = {name for name, plugin in seen[0] if plugin is not None}\n"
            "print(json.dumps(sorted(n for n in ('unittest', 'tmpdir', 'monkeypatch', 'recwarn', 'subtests') "
            "if n in names or n in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
