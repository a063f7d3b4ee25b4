"""The student's commands, driven through click's test runner and, for watch, a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator

import grader.devcheck
from grader.cli import cli
from grader.course import Course
from grader.devcheck import grading_problems
from grader.engine.limits import Limits
from grader.engine.sandbox import namespaces_reason
from grader.protections import for_check
from tests.engine.machine import cpu_hogs

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")
RESULT_KEYS = {"version", "step", "status", "score", "max_score", "message", "outcome", "tests"}
EXERCISM = Draft202012Validator(json.loads((Path(__file__).with_name("exercism-results-v3.schema.json")).read_text()))


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def solve(workspace: Path, course: Course, number: int) -> None:
    step = course.step(number)
    for path in step.solution_dir.glob("*.py"):
        shutil.copy(path, workspace / step.folder / path.name)


def test_init_makes_a_workspace_and_never_overwrites_silently(tmp_path: Path, course: Course) -> None:
    target = tmp_path / "notes"
    assert run("init", str(target)).exit_code == 0
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith(".")) == [
        course.steps[0].folder
    ], "the other steps appear as the steps before them pass"
    mine = target / course.steps[0].folder / "main.py"
    mine.write_text("notes_db = {}  # my work\n")
    refused = run("init", str(target), input="n\n")
    assert refused.exit_code == 2 and "Nothing was changed" in refused.output
    assert mine.read_text() == "notes_db = {}  # my work\n"
    assert run("init", str(target), input="y\n").exit_code == 0
    assert "my work" not in mine.read_text()


def solved_but(workspace: Path, course: Course, number: int, name: str, old: str, new: str) -> Path:
    """The step's reference solution, with one edit in file `name`."""
    solve(workspace, course, number)
    path = workspace / course.step(number).folder / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


def test_check_focuses_on_the_first_failure_and_records_progress(workspace: Path, course: Course) -> None:
    failed = run("check", "--dir", str(workspace))
    assert failed.exit_code == 1
    assert "Step 1" in failed.output and "no module-level name `notes_db`" in failed.output
    assert "Try:" in failed.output
    solve(workspace, course, 1)
    passed = run("check", "--dir", str(workspace))
    assert passed.exit_code == 0 and "Step 1 passes" in passed.output
    nxt = run("check", "--dir", str(workspace))
    assert "Step 2" in nxt.output, "with no STEP, check moves to the first step not yet passed"
    listing = run("list", "--dir", str(workspace))
    assert f"1 of {len(course.steps)} steps pass" in listing.output
    assert "▶     2" in listing.output and "Continue with step 2" in listing.output


def test_check_json_is_exercism_v3_with_scores(workspace: Path, course: Course) -> None:
    solve(workspace, course, 3)
    result = run("check", "3", "--dir", str(workspace), "--json")
    data = json.loads(result.output)
    assert result.exit_code == 0
    assert data["version"] == 3 and data["step"] == 3 and data["status"] == "pass"
    assert data["score"] == data["max_score"] == course.step(3).points
    assert {"name", "status", "message", "score", "max_score", "task_id", "outcome"} <= set(data["tests"][0])
    assert data["outcome"] == "passed" and {t["outcome"] for t in data["tests"]} == {"passed"}
    failing = json.loads(run("check", "4", "--dir", str(workspace), "--json").output)
    assert failing["status"] == "fail" and failing["score"] < failing["max_score"]
    assert failing["message"] is None and failing["outcome"] == "failed"  # the spec keeps it for error
    assert "404" in next(t["message"] for t in failing["tests"] if t["status"] == "fail")
    assert all("def test_" in t["test_code"] for t in data["tests"])
    main = workspace / course.step(1).folder / "main.py"
    main.write_text(main.read_text() + "def (:\n")
    unreadable = run("check", "1", "--dir", str(workspace), "--json")
    broken = json.loads(unreadable.output)
    assert unreadable.exit_code == 2 and broken["status"] == "error" and "SyntaxError" in broken["message"]
    shown = run("check", "1", "--dir", str(workspace)).output  # the student's to fix, not the grader's fault
    assert "Fix the first failure" in shown and "grader could not finish" not in shown
    for results in (data, failing, broken):
        EXERCISM.validate(results)
    assert set(data) == RESULT_KEYS | {"protections"}
    assert data["protections"] == for_check(course.step(3), Limits()).to_json()
    assert {"time limits", "resource limits"} <= {p["name"] for p in data["protections"]["on"]}


def flat(text: str) -> str:
    return " ".join(text.split())


def test_check_ends_with_its_protections_briefly(workspace: Path, course: Course) -> None:
    failed = run("check", "1", "--dir", str(workspace))
    summary = for_check(course.step(1), Limits()).lines()
    assert failed.exit_code == 1 and flat(failed.output).endswith(flat(" ".join(summary)))
    assert flat(failed.output).index("Fix the first failure") < flat(failed.output).index("Protections on:")
    assert summary[0].startswith("Protections on: time limits (start 10 s, answer 2 s)")
    reason = namespaces_reason()
    machine = "`persistlab grade` sandboxes it" if reason is None else f"this machine has no sandbox: {reason}"
    assert summary[1] == ("Off: network, process, user and filesystem isolation and system call "
                          "filtering, because check runs "
                          f"your own code as you ({machine}).")
    quiet = run("check", "1", "--dir", str(workspace), "--no-protections")
    assert quiet.exit_code == 1 and "Protections" not in quiet.output
    (workspace / course.step(1).folder / "main.py").write_text("")
    refused = run("check", "1", "--dir", str(workspace))
    assert refused.exit_code == 2 and "Protections" not in refused.output, "no code ran"


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("empty", "is empty"),
        ("latin1", "not UTF-8"),
        ("directory", "is a directory"),
        ("missing", "There is no main.py"),
        ("no-folder", "There is no folder"),
    ],
)
def test_bad_submissions_are_errors_with_one_clear_line(
    workspace: Path, course: Course, damage: str, says: str
) -> None:
    folder = workspace / course.step(1).folder
    main = folder / "main.py"
    if damage == "empty":
        main.write_text("")
    elif damage == "latin1":
        main.write_bytes("notes_db = {}  # café\n".encode("latin-1"))
    elif damage == "directory":
        main.unlink()
        main.mkdir()
    elif damage == "missing":
        main.unlink()
    else:
        shutil.rmtree(folder)
    result = run("check", "1", "--dir", str(workspace))
    assert result.exit_code == 2
    assert says in result.output and "Traceback" not in result.output
    as_json = json.loads(run("check", "1", "--dir", str(workspace), "--json").output)
    assert as_json["status"] == "error" and as_json["score"] == 0 and says in as_json["message"]


@pytest.mark.parametrize("args", [["check", "99"], ["check", "zero"], ["hint", "0"], ["reset", "past-end"]])
def test_unknown_steps_are_refused(workspace: Path, course: Course, args: list[str]) -> None:
    if args[1] == "past-end":
        args = [args[0], str(len(course.steps) + 1)]
    result = CliRunner().invoke(cli, [*args, "--dir", str(workspace)])
    assert result.exit_code == 2
    assert "There is no step" in result.output and "Traceback" not in result.output


def test_outside_a_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "persistlab init" in result.output


def test_hints_come_one_at_a_time(workspace: Path, course: Course) -> None:
    hints = course.step(3).hints
    for number in range(1, len(hints) + 2):
        shown = run("hint", "3", "--dir", str(workspace)).output
        expected = min(number, len(hints))
        assert f"Hint {expected} of {len(hints)}" in shown
        assert hints[expected - 1][:40] in " ".join(shown.split())


def test_reset_asks_first_and_forgets_progress(workspace: Path, course: Course) -> None:
    solve(workspace, course, 1)
    run("check", "1", "--dir", str(workspace))
    main = workspace / course.step(1).folder / "main.py"
    kept = main.read_text()
    assert run("reset", "1", "--dir", str(workspace), input="n\n").exit_code == 2
    assert main.read_text() == kept
    assert run("reset", "1", "--dir", str(workspace), input="y\n").exit_code == 0
    assert main.read_text() == (course.step(1).exercise_dir / "main.py").read_text()
    assert f"0 of {len(course.steps)} steps pass" in run("list", "--dir", str(workspace)).output


def test_solution_opens_only_after_the_step_passes(workspace: Path, course: Course) -> None:
    refused = CliRunner().invoke(cli, ["solution", "2", "--dir", str(workspace)])
    assert refused.exit_code == 1 and "has not passed yet" in refused.output
    solve(workspace, course, 2)
    run("check", "2", "--dir", str(workspace))
    shown = run("solution", "2", "--dir", str(workspace))
    assert shown.exit_code == 0 and "FastAPI()" in shown.output


def test_demo_restart_shows_the_dict_forgetting(course: Course) -> None:
    output = run("demo", "restart").output
    assert "a dict in memory" in output and "notes.db" in output
    assert "buy oat milk" in output
    rows = [line for line in output.splitlines() if "GET /notes again" in line]
    assert rows and "{}" in rows[0] and "buy oat milk" in rows[0]


@pytest.mark.solo
def test_every_solution_passes_and_every_starter_fails_beside_two_cpu_hogs(course: Course) -> None:
    """`dev check`'s grading on a machine kept as busy as a student's laptop with a browser and
    an IDE (two CPU-bound processes on two cores): every solution full marks, every starter fails."""
    with cpu_hogs():
        assert grading_problems(course) == []


def test_dev_check_finds_the_course_consistent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rest of `dev check`, its grading aside (run beside the hogs above) and the quiz bank's
    proofs (each run in tests/quiz/test_proofs.py): the layout, every step's code carried to the
    next, the quiz bank linted."""
    monkeypatch.setattr(grader.devcheck, "grading_problems", lambda course: [])
    monkeypatch.setattr(grader.devcheck, "lint_quizzes", partial(grader.devcheck.lint_quizzes, proofs=False))
    result = run("dev", "check")
    assert result.exit_code == 0, result.output
    assert "consistent" in result.output


def test_grader_output_has_no_warnings(workspace: Path, course: Course) -> None:
    solve(workspace, course, 5)
    env = {**os.environ, "PYTHONWARNINGS": "always"}
    done = subprocess.run(
        [sys.executable, "-m", "grader", "check", "5", "--dir", str(workspace)],
        check=False, capture_output=True, text=True, env=env, timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_watch_rechecks_on_save_and_waits_to_move_on(workspace: Path, course: Course) -> None:
    watcher = subprocess.Popen(
        [sys.executable, "-m", "grader", "watch", "--dir", str(workspace), "--poll"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert watcher.stdin is not None and watcher.stdout is not None
    seen: list[str] = []
    try:
        assert _read_until(watcher, "no module-level name `notes_db`", seen)
        solve(workspace, course, 1)
        assert _read_until(watcher, "Press n (or Enter) to go on to step 2", seen)
        time.sleep(0.5)
        (workspace / course.step(1).folder / "main.py").touch()
        assert _read_until(watcher, "Step 1 passes", seen), "a save re-checks the same step"
        watcher.stdin.write("\n")
        watcher.stdin.flush()
        assert _read_until(watcher, "Step 2", seen)
        assert "".join(seen).count("Protections on:") == 1, "listed once, not on every save"
        watcher.stdin.write("q\n")
        watcher.stdin.flush()
        assert watcher.wait(timeout=20) == 0
    finally:
        watcher.kill()
        watcher.wait()


def _read_until(process: subprocess.Popen[str], text: str, log: list[str] | None = None,
                timeout: float = 30) -> bool:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            return False
        seen += line
        if log is not None:
            log.append(line)
        if text in " ".join(seen.split()):
            return True
    return False


@pytest.mark.parametrize(
    ("args", "step", "max_score", "says"),
    [
        (["check", "99"], None, 0, "There is no step"),
        (["check", "3", "--dir", "{missing}"], 3, 8, "There is no folder"),
        (["check", "--dir", "{file}"], None, 0, "is a file"),
    ],
)
def test_check_json_refusals_have_every_key(
    tmp_path: Path, workspace: Path, args: list[str], step: int | None, max_score: int, says: str
) -> None:
    (tmp_path / "a-file").write_text("not a workspace\n")
    paths = {"missing": str(tmp_path / "nowhere"), "file": str(tmp_path / "a-file")}
    argv = [a.format(**paths) for a in args]
    if "--dir" not in argv:
        argv += ["--dir", str(workspace)]
    result = CliRunner().invoke(cli, [*argv, "--json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 2 and set(data) == RESULT_KEYS | {"protections"}
    assert data["protections"] is None, "no code ran"
    assert data["version"] == 3 and data["step"] == step and data["status"] == "error"
    assert data["score"] == 0 and type(data["score"]) is int and data["max_score"] == max_score
    assert data["tests"] == [] and says in data["message"] and data["outcome"] == "refused"


def test_scores_are_whole_numbers_in_json(workspace: Path) -> None:
    data = json.loads(run("check", "1", "--dir", str(workspace), "--json").stdout)
    scores = [data["score"], data["max_score"]] + [t[k] for t in data["tests"] for k in ("score", "max_score")]
    assert all(type(s) is int for s in scores), scores


def test_dir_that_is_a_file_is_named_as_one(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x\n")
    result = CliRunner().invoke(cli, ["check", "--dir", str(tmp_path / "notes.txt")])
    assert result.exit_code == 2 and "is a file, not a folder" in result.output
    assert "There is no folder" not in result.output


def test_a_damaged_progress_file_is_one_clear_line(workspace: Path) -> None:
    from grader.workspace import state_db

    state_db(workspace).parent.mkdir(exist_ok=True)
    state_db(workspace).write_text("garbage\n")
    for args in (["list"], ["check"], ["hint", "1"]):
        refused = CliRunner().invoke(cli, [*args, "--dir", str(workspace)])
        assert refused.exit_code == 2, (args, refused.output)
        assert "Delete it" in refused.output and "Traceback" not in refused.output
        assert len(refused.output.strip().splitlines()) == 1, refused.output
    checked = CliRunner().invoke(cli, ["check", "1", "--dir", str(workspace)])
    assert checked.exit_code == 1 and "Step 1" in checked.stdout and "Traceback" not in checked.output
    assert "not saved" in checked.stderr and "Delete it" in checked.stderr
    as_json = CliRunner().invoke(cli, ["check", "1", "--dir", str(workspace), "--json"])
    assert json.loads(as_json.stdout)["status"] == "fail"


NO_POSTGRES = "postgresql://postgres@127.0.0.1:1/test"  # nothing listens on port 1


def test_a_skip_has_its_own_exit_status_and_never_replaces_a_pass(
    workspace: Path, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.progress import load_progress, record_result

    monkeypatch.setenv("PERSISTLAB_POSTGRES_URL", NO_POSTGRES)
    solve(workspace, course, 10)
    record_result(workspace, 10, "pass", 16, 16)
    before = load_progress(workspace)[10]
    skipped = run("check", "10", "--dir", str(workspace))
    assert skipped.exit_code == 3, skipped.output
    assert "Step 10 was skipped" in flat(skipped.output) and "Fix the first failure" not in skipped.output
    assert "Your saved result is unchanged: pass 16/16" in flat(skipped.output)
    assert load_progress(workspace)[10] == before
    assert run("check", "10", "--dir", str(workspace), "--json").exit_code == 3


def test_a_first_skip_is_saved_as_skipped_and_check_moves_past_it(
    workspace: Path, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.progress import load_progress, record_result

    monkeypatch.setenv("PERSISTLAB_POSTGRES_URL", NO_POSTGRES)
    for step in course.steps[:9]:
        record_result(workspace, step.number, "pass", step.points, step.points)
    skipped = run("check", "--dir", str(workspace))
    assert skipped.exit_code == 3 and "Step 10: PostgreSQL" in skipped.output
    assert "saved as skipped" in flat(skipped.output)
    assert load_progress(workspace)[10].status == "skipped"
    listing = flat(run("list", "--dir", str(workspace)).output)
    assert f"10 PostgreSQL 10-postgresql skipped 0/{course.step(10).points}" in listing and "Continue with step 11" in listing
    record_result(workspace, 10, "fail", 3, 16)
    assert run("check", "10", "--dir", str(workspace)).exit_code == 3
    assert load_progress(workspace)[10].status == "fail", "a skip replaces no earlier result"


def test_a_500_names_the_students_file_line_and_source(workspace: Path, course: Course) -> None:
    main = solved_but(workspace, course, 4, "main.py", "    return notes_db\n",
                      "    first = notes_db[next_id]\n    return notes_db\n")
    line = main.read_text().splitlines().index("    first = notes_db[next_id]") + 1
    failed = run("check", "4", "--dir", str(workspace), "--no-protections")
    assert failed.exit_code == 1
    assert "answered 500 Internal Server Error: your code raised KeyError: 1" in flat(failed.output)
    assert f"At main.py line {line}, in list_notes:\n        first = notes_db[next_id]\n" in failed.output
    assert "site-packages" not in failed.output and "starlette" not in failed.output, "the student's frames only"
    assert "A KeyError means a dict was asked for a key it does not hold" in flat(failed.output)
    verbose = run("check", "4", "--dir", str(workspace), "--no-protections", "--verbose")
    assert "What the app printed" in verbose.output
    assert "Traceback (most recent call last):" in verbose.output and "starlette" in verbose.output


def test_a_startup_crash_names_the_line_in_db_py(workspace: Path, course: Course) -> None:
    solved_but(workspace, course, 5, "db.py", "def create_table() -> None:\n",
               "def create_table() -> None:\n    raise RuntimeError('not yet')\n")
    failed = run("check", "5", "--dir", str(workspace), "--no-protections")
    assert failed.exit_code == 1
    assert "The app crashed while starting up, at db.py line 14: RuntimeError: not yet" in flat(failed.output)
    assert "That line reads:\n        raise RuntimeError('not yet')\n" in failed.output


@pytest.mark.parametrize("ref", ["3", "add-note", "03-add-note", "03-add-note/", "./03-add-note", "./03-add-note/"])
def test_a_step_is_found_by_number_slug_folder_or_tab_completed_path(
    workspace: Path, ref: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    shown = run("hint", ref)
    assert shown.exit_code == 0 and "for step 3, POST /add_note" in shown.output


def test_inside_a_step_folder_check_and_hint_act_on_that_step(
    workspace: Path, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace / course.step(4).folder)
    assert "for step 4" in run("hint").output
    data = json.loads(run("check", "--json").output)
    assert data["step"] == 4, "not the first failing step (1), the one you are in"
    assert "for step 2" in run("hint", "../02-fastapi-app").output
    assert "for step 4" in run("hint", ".").output


def test_a_near_miss_gets_did_you_mean(workspace: Path) -> None:
    refused = CliRunner().invoke(cli, ["hint", "add-nte", "--dir", str(workspace)])
    assert refused.exit_code == 2
    assert "There is no step 'add-nte'" in refused.output
    assert "Did you mean 'add-note' (step 3, POST /add_note)?" in flat(refused.output)
    far = CliRunner().invoke(cli, ["hint", "zebra", "--dir", str(workspace)])
    assert far.exit_code == 2 and "Did you mean" not in far.output


def test_hint_all_shows_the_hints_seen_so_far(workspace: Path, course: Course) -> None:
    hints = course.step(3).hints
    assert "No hint of step 3 seen yet" in run("hint", "3", "--all", "--dir", str(workspace)).output
    for _ in range(2):
        run("hint", "3", "--dir", str(workspace))
    again = run("hint", "3", "--all", "--dir", str(workspace)).output
    assert f"Hint 1 of {len(hints)}" in again and f"Hint 2 of {len(hints)}" in again
    assert f"Hint 3 of {len(hints)}" not in again, "only the hints already seen"
    assert "Hint 3 of" in run("hint", "3", "--dir", str(workspace)).output, "--all moved nothing on"


def test_reset_keeps_a_backup_and_names_extra_files(workspace: Path, course: Course) -> None:
    folder = workspace / course.step(3).folder
    (folder / "main.py").write_text("# my own work\n")
    (folder / "helpers.py").write_text("# mine too\n")
    done = run("reset", "3", "--yes", "--dir", str(workspace))
    assert done.exit_code == 0
    [backup] = (workspace / ".persistlab" / "backups").iterdir()
    assert str(backup) in flat(done.output)
    assert "helpers.py was not part of the starter: it is in the backup too" in flat(done.output)
    assert (backup / "main.py").read_text() == "# my own work\n"
    assert (backup / "helpers.py").read_text() == "# mine too\n"
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in course.step(3).exercise_dir.iterdir())
    run("reset", "3", "--yes", "--dir", str(workspace))
    assert len(list((workspace / ".persistlab" / "backups").iterdir())) == 2, "a second reset keeps the first backup"


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_a_passing_check_into_a_closed_pipe_still_exits_0(
    workspace: Path, course: Course, as_json: list[str]
) -> None:
    solve(workspace, course, 1)
    reader, writer = os.pipe()
    os.close(reader)  # as `| head` that has already had enough
    done = subprocess.run([sys.executable, "-m", "grader", "check", "1", "--dir", str(workspace), *as_json],
                          stdout=writer, stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    os.close(writer)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


def test_reset_and_solution_take_the_folder_you_are_in_and_never_guess(
    workspace: Path, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    refused = CliRunner().invoke(cli, ["reset", "--yes"])
    assert refused.exit_code == 2 and "Which step?" in refused.output
    folder = workspace / course.step(2).folder
    (folder / "main.py").write_text("# mine\n")
    monkeypatch.chdir(folder)
    assert "02-fastapi-app is back to the files it started with" in run("reset", "--yes").output
    assert "Step 2 has not passed yet" in CliRunner().invoke(cli, ["solution"]).output


def test_reset_refuses_a_step_folder_that_is_a_file(workspace: Path, course: Course) -> None:
    folder = workspace / course.step(3).folder
    shutil.rmtree(folder)
    folder.write_text("not a folder\n")
    refused = CliRunner().invoke(cli, ["reset", "3", "--yes", "--dir", str(workspace)])
    assert refused.exit_code == 2 and "is not a folder" in refused.output and "Traceback" not in refused.output
    assert folder.read_text() == "not a folder\n"


def test_verbose_shows_what_the_students_app_printed(workspace: Path, course: Course) -> None:
    solved_but(workspace, course, 4, "main.py", "    return notes_db\n",
               "    print('debug: listing', len(notes_db))\n    return {}\n")
    quiet = run("check", "4", "--dir", str(workspace), "--no-protections")
    assert quiet.exit_code == 1 and "debug: listing" not in quiet.output
    verbose = run("check", "4", "--dir", str(workspace), "--no-protections", "--verbose")
    assert "What the app printed" in verbose.output and "debug: listing 3" in verbose.output
