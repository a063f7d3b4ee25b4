"""`persistlab grade` end to end: outputs, determinism, --only, fail-closed intake problems."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from grader.cli import cli
from grader.course import Course
from grader.engine.sandbox import unavailable_reason
from grader.grade.results_json import max_score
from grader.workspace import create_workspace
from tests.grade.classroom import solve

SAFETY = [] if unavailable_reason() is None else ["--unsafe"]


def grade(*args: str) -> Result:
    return CliRunner().invoke(cli, ["grade", *args, "--steps", "1-2", "--timeout", "2", *SAFETY],
                              catch_exceptions=False)


def rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


@pytest.fixture
def bulk(tmp_path: Path, course: Course) -> Path:
    folder = tmp_path / "downloads"
    create_workspace(course, folder / "alice")
    solve(folder / "alice", course, 1)
    solve(folder / "alice", course, 2)
    with zipfile.ZipFile(folder / "bob.zip", "w") as bundle:
        bundle.writestr("bob/01-notes-dict/main.py", "notes_db = {}\nnext_id = 1\n")
    with zipfile.ZipFile(folder / "carol.zip", "w") as bundle:
        bundle.writestr("../../carol.py", "print('escaped')\n")
    return folder


def test_a_class_is_graded_into_every_output(tmp_path: Path, bulk: Path) -> None:
    out = bulk / "grades"  # inside the download: never taken for a student
    result = grade(str(bulk), "--out", str(out), "--jobs", "2")
    assert result.exit_code == 1, result.output  # carol's zip was refused
    assert "3 submissions graded" in result.output and "step 1: class average" in result.output
    book = rows(out)
    assert (book["alice"]["total"], book["alice"]["status"]) == ("8", "pass")
    assert (book["bob"]["step1"], book["bob"]["step2"]) == ("4", "0")
    assert "No marks: no folder 02-fastapi-app in the submission" in (out / "feedback" / "bob.md").read_text()
    assert book["bob"]["status"] == "fail"  # missing work fails; only carol's could not be graded
    assert "0 hit a time limit; 1 (carol) had a step that could not be graded" in result.output
    assert (book["carol"]["total"], book["carol"]["status"]) == ("0", "error")
    carol = json.loads((out / "results" / "carol.json").read_text())
    assert carol["score"] == 0 and "outside the submission" in carol["output"]
    alice = json.loads((out / "results" / "alice.json").read_text())
    assert alice["score"] == max_score(alice) == 8
    assert {"name", "number", "score", "max_score", "status", "output", "visibility"} <= set(alice["tests"][0])
    assert "execution_time" in alice
    assert (out / "junit.xml").read_text().count("<testsuite ") == 3
    assert not (tmp_path / "carol.py").exists()
    assert ("Protections off" in result.output) == bool(SAFETY), "in the sandbox nothing is off"


def test_grades_are_deterministic_and_only_regrades_one(tmp_path: Path, bulk: Path, course: Course) -> None:
    out = tmp_path / "grades"
    assert grade(str(bulk), "--out", str(out)).exit_code == 1  # carol's zip is refused
    first = {name: {k: v for k, v in row.items() if k != "seconds"} for name, row in rows(out).items()}
    alice_file = (out / "results" / "alice.json").stat().st_mtime_ns
    solve(bulk / "alice", course, 1)  # unchanged work: the same grades again
    with zipfile.ZipFile(bulk / "bob.zip", "a") as bundle:
        bundle.writestr("bob/02-fastapi-app/main.py", "from fastapi import FastAPI\n\nnotes_db = {}\nnext_id = 1\napp = FastAPI()\n")
    assert grade(str(bulk), "--out", str(out), "--only", "bob").exit_code == 0
    second = rows(out)
    assert second["bob"]["total"] == "8" and set(second) == {"alice", "bob", "carol"}
    assert (out / "results" / "alice.json").stat().st_mtime_ns == alice_file
    assert grade(str(bulk), "--out", str(out)).exit_code == 1
    again = {name: {k: v for k, v in row.items() if k != "seconds"} for name, row in rows(out).items()}
    assert again["alice"] == first["alice"] and again["carol"] == first["carol"]


def test_unknown_student_and_bad_steps_are_refused(tmp_path: Path, bulk: Path) -> None:
    unknown = grade(str(bulk), "--out", str(tmp_path / "o"), "--only", "zed")
    assert unknown.exit_code == 2 and "No submission is named 'zed'" in unknown.output
    steps = CliRunner().invoke(cli, ["grade", str(bulk), "--out", str(tmp_path / "o"), "--steps", "0-9"])
    assert steps.exit_code == 2 and "the course has steps 1 to" in steps.output


def test_the_step_that_runs_the_dockerfile_command_is_graded_like_any_other(
    tmp_path: Path, course: Course
) -> None:
    """Step 11 starts the app with the Dockerfile's own command: in the sandbox where there is one,
    by default, with full marks for the reference and no protection missing."""
    step = course.step(11)
    submission = tmp_path / "in" / "erin"
    create_workspace(course, submission)
    shutil.copytree(step.solution_dir, submission / step.folder, dirs_exist_ok=True)
    out = tmp_path / "grades"
    result = CliRunner().invoke(cli, ["grade", str(submission), "--out", str(out), *SAFETY],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results" / "erin.json").read_text(encoding="utf-8"))
    assert max_score(data) == sum(s.points for s in course.steps)
    eleven = [t for t in data["tests"] if t["number"].startswith("11.")]
    assert eleven and all(t["status"] == "passed" for t in eleven), data["output"]
    summary = " ".join(result.output.split())
    assert "Protections off for" not in summary
    assert ("Protections off" in summary) == bool(SAFETY)


NO_ROOT = "namespaces and a separate user need root"


def test_without_the_sandbox_unsafe_grading_says_what_was_off(
    tmp_path: Path, bulk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("grader.grade.command.unavailable_reason", lambda: NO_ROOT)
    args = ["grade", str(bulk / "alice"), "--steps", "1", "--timeout", "2"]
    refused = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "refused")])
    assert refused.exit_code == 2 and f"without the sandbox: {NO_ROOT}" in refused.output
    assert not (tmp_path / "refused").exists()
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "out"), "--unsafe"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = " ".join(result.output.split()).replace(" ,", ",")  # a path may end a wrapped line
    assert f"Unsafe mode: no sandbox ({NO_ROOT}); student code runs as you." in summary
    assert summary.endswith(
        f"Protections off: network, process, user and filesystem isolation and system call filtering, "
        f"because there was no sandbox "
        f"({NO_ROOT}): student code ran as you. Wrote {tmp_path / 'out'}/gradebook.csv, results/, "
        "feedback/, junit.xml."
    )
    assert rows(tmp_path / "out")["alice"]["total"] == "4"


def test_a_short_answer_timeout_still_gives_a_slow_start_checks_ten_seconds(
    tmp_path: Path, course: Course
) -> None:
    """--timeout bounds each answer; a start may take check's 10 s however short it is (the old
    5 s of grade would fail this start, which `check` passes)."""
    student = tmp_path / "downloads" / "slow"
    create_workspace(course, student)
    solve(student, course, 1)
    main = student / "01-notes-dict" / "main.py"
    slow_first_start = ("import os, time\nif not os.path.exists('started'):\n"
                        "    open('started', 'w').close()\n    time.sleep(6)\n")
    main.write_text(slow_first_start + main.read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["grade", str(student), "--out", str(tmp_path / "out"), "--steps", "1",
              "--timeout", "0.5", *SAFETY], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert rows(tmp_path / "out")["slow"]["total"] == "4", result.output
