"""The Gradescope bundle: built, unpacked into a fake /autograder tree, and run there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from grader.cli import cli
from grader.course import Course
from grader.engine import sandbox
from grader.engine.sandbox import unavailable_reason, user_only_reason
from grader.grade import command
from grader.grade.adjustments import apply
from grader.grade.gradescope import build_bundle, grade_submission
from grader.grade.gradescope_late import late_adjustment, policy_text
from grader.grade.results_json import max_score
from grader.workspace import create_workspace
from tests.grade.classroom import solve

GRADESCOPE = Draft202012Validator(json.loads(Path(__file__).with_name("gradescope-results.schema.json").read_text()))


def autograder(tmp_path: Path, late_policy: str | None = None) -> Path:
    root = tmp_path / "autograder"
    with zipfile.ZipFile(build_bundle(tmp_path / "autograder.zip", late_policy=late_policy)) as bundle:
        bundle.extractall(root / "source")
    return root


def run_autograder(root: Path, python: str = sys.executable) -> dict:
    script = root / "source" / "run_autograder"
    scratch = root.parent / "tmp"
    scratch.mkdir(exist_ok=True)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PERSISTLAB_PYTHON": python, "TMPDIR": str(scratch)}
    subprocess.run(["bash", str(script)], env=env, check=True, timeout=300, capture_output=True)
    assert list(scratch.iterdir()) == []  # no staging copy or scratch area left behind
    data = json.loads((root / "results" / "results.json").read_text())
    GRADESCOPE.validate(data)
    return data


def test_the_bundle_holds_the_scripts_and_the_course(tmp_path: Path) -> None:
    with zipfile.ZipFile(build_bundle(tmp_path / "a.zip")) as bundle:
        names = set(bundle.namelist())
        mode = bundle.getinfo("run_autograder").external_attr >> 16
    assert {"setup.sh", "run_autograder", "persistlab/pyproject.toml", "persistlab/course.toml"} <= names
    assert mode & 0o111 and not any("__pycache__" in n for n in names)


def test_the_bundle_pins_every_dependency_it_installs(tmp_path: Path) -> None:
    """requirements.lock: every distribution persistlab runs on, at the version installed here,
    its own dependencies included; setup.sh installs from it, and persistlab with no more."""
    with zipfile.ZipFile(build_bundle(tmp_path / "a.zip")) as bundle:
        lock = bundle.read("persistlab/requirements.lock").decode().splitlines()
        setup = bundle.read("setup.sh").decode()
    assert "pip install -q -r /autograder/source/persistlab/requirements.lock" in setup
    assert "pip install -q --no-deps -e /autograder/source/persistlab" in setup
    pinned = {}
    for line in lock:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # for another Python or system
        [spec] = requirement.specifier
        assert spec.operator == "==", line
        pinned[canonicalize_name(requirement.name)] = spec.version
    for name, version in pinned.items():
        assert metadata.version(name) == version
        for needed in metadata.requires(name) or []:
            wanted = Requirement(needed)
            if wanted.marker is None or wanted.marker.evaluate({"extra": ""}):
                assert canonicalize_name(wanted.name) in pinned, (name, needed)
    assert {"fastapi", "uvicorn", "sqlalchemy", "pydantic", "starlette", "psycopg-binary"} <= set(pinned)


def test_run_autograder_grades_the_submission(tmp_path: Path, course: Course) -> None:
    root = autograder(tmp_path, late_policy=policy_text("1"))  # a point off late work
    create_workspace(course, root / "submission")
    solve(root / "submission", course, 1)
    (root / "submission_metadata.json").write_text(json.dumps(submission_metadata(
        "2026-12-02T10:00:00.000000+00:00", "2026-12-01T23:59:00.000000+00:00")))
    data = run_autograder(root)
    before = data["extra_data"]["score_before_adjustments"]
    assert before >= course.step(1).points and data["score"] == before - 1
    assert "1 day after the due date" in data["extra_data"]["adjustments"][0]["reason"]
    assert data["score"] < max_score(data)
    assert max_score(data) == sum(s.points for s in course.steps), "all eleven steps, 10-11 too"
    first = data["tests"][0]
    assert first["status"] == "passed" and first["number"] == "1.1" and first["visibility"] == "visible"
    assert ("Protections off" in data["output"]) == (unavailable_reason() is not None)


@pytest.mark.skipif(user_only_reason() is not None, reason="grading as another user needs root")
@pytest.mark.parametrize(
    ("no_namespaces", "no_user", "says"),
    [
        ("this machine refuses new namespaces (a container without CAP_SYS_ADMIN?)", None,
         [("(Protections off: network, process and filesystem isolation, because this machine refuses "
           "new namespaces (a container without CAP_SYS_ADMIN?).)")]),
        ("namespaces and a separate user need root", "a separate user needs root",
         [("(Protections off: network, process, user and filesystem isolation and system call "
           "filtering, because there is no "
           "sandbox here (a separate user needs root): student code ran as the autograder's user.)")]),
    ],
)
def test_a_container_without_the_full_sandbox_says_what_is_off(
    tmp_path: Path, course: Course, monkeypatch: pytest.MonkeyPatch,
    no_namespaces: str, no_user: str | None, says: list[str],
) -> None:
    assert command.unavailable_reason is sandbox.unavailable_reason  # bound before the patch below
    monkeypatch.setattr(sandbox, "unavailable_reason", lambda: no_namespaces)
    monkeypatch.setattr(sandbox, "user_only_reason", lambda: no_user)
    root = tmp_path / "autograder"
    step = course.step(1)
    shutil.copytree(step.solution_dir, root / "submission" / step.folder)
    data = grade_submission(root, course)
    GRADESCOPE.validate(data)
    assert data["score"] == step.points, data["output"]
    assert all(line in data["output"] for line in says), data["output"]


def test_results_json_is_written_even_when_grading_cannot_start(tmp_path: Path) -> None:
    root = autograder(tmp_path)
    (root / "submission").mkdir()
    data = run_autograder(root, python="/bin/false")
    assert data["score"] == 0 and "no marks" in data["output"]
    empty = run_autograder(root)
    assert empty["score"] == 0 and "empty" in empty["output"]


def submission_metadata(created: str, due: str | None, extension: str | None = None) -> dict:
    """Gradescope's submission_metadata.json, the keys the late policy reads (and a few more)."""
    user: dict = {"email": "ann@example.edu", "id": 1234, "name": "Ann Lee", "assignment": {}}
    if extension:
        user["assignment"] = {"due_date": extension, "late_due_date": None}
    return {"id": 123456, "created_at": created, "submission_method": "upload", "users": [user],
            "assignment": {"due_date": due, "late_due_date": None, "title": "persistlab", "total_points": "95.0"}}


@pytest.mark.parametrize(("created", "extension", "points", "says"), [
    ("2026-12-03T09:30:00.000000-08:00", None, -0.2 * 4, "2 days after the due date"),
    ("2026-12-03T09:30:00.000000-08:00", "2026-12-05T23:59:00.000000-08:00", None, ""),
    ("2026-12-01T22:00:00.000000-08:00", None, None, ""),
])
def test_a_late_policy_in_the_bundle_reads_gradescopes_dates(
    tmp_path: Path, course: Course, created: str, extension: str | None, points: float | None, says: str
) -> None:
    root = tmp_path / "autograder"
    with zipfile.ZipFile(build_bundle(tmp_path / "a.zip", late_policy=policy_text("10%/day", "30%"))) as bundle:
        bundle.extractall(root / "source")
    (root / "submission_metadata.json").write_text(
        json.dumps(submission_metadata(created, "2026-12-01T23:59:00.000000-08:00", extension)))
    late = late_adjustment(root, root / "source" / "persistlab")
    graded = apply({"score": 4.0, "output": "", "tests": [{"score": 4.0, "max_score": 4.0}]}, [late] if late else [])
    if points is None:
        assert late is None and graded["score"] == 4.0
    else:
        assert late is not None and says in late.reason and graded["score"] == 4.0 + points
        GRADESCOPE.validate(graded)


def test_a_late_policy_that_cannot_be_applied_is_refused_at_build(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["gradescope", "build", "--out", str(tmp_path / "a.zip"),
                                      "--late-penalty", "10%/day", "--late-cap", "3"])
    assert result.exit_code == 2 and "must both be in %" in result.output
    assert not (tmp_path / "a.zip").exists()
