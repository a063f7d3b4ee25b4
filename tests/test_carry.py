"""Steps open one by one, each from the student's own code of the step before (grader/carry.py)."""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from grader.carry import describe_opened, open_step
from grader.course import Course
from grader.progress import load_progress, record_result
from grader.workspace import MARKER, create_workspace, step_dir
from tests.test_cli import flat, run

MY_ADD_NOTE = '''

@app.post("/add_note")
def add_note(body: NoteIn) -> dict[str, int]:
    """My own version: the new id first, then the note."""
    global next_id
    new_id = next_id
    next_id = next_id + 1
    notes_db[new_id] = body.text
    return {"id": new_id}
'''
GET_NOTES = '''

@app.get("/notes")
def list_notes() -> dict[int, str]:
    return notes_db
'''


def fresh(tmp_path: Path, course: Course) -> Path:
    """A workspace as `persistlab init` makes it: step 1's folder only."""
    workspace = tmp_path / "ws"
    create_workspace(course, workspace, every_step=False)
    return workspace


def my_step3(workspace: Path, course: Course) -> Path:
    """Steps 1-2 passed, and a step-3 answer of the student's own, written unlike the solution's."""
    for number in (1, 2):
        step = course.step(number)
        record_result(workspace, number, "pass", step.points, step.points)
    folder = step_dir(workspace, course.step(3))
    folder.mkdir()
    solution = (course.step(3).solution_dir / "main.py").read_text()
    (folder / "main.py").write_text(solution[: solution.index("\n\n@app.post")] + MY_ADD_NOTE)
    (folder / "notes.txt").write_text("my own notes on step 3\n")
    (folder / "notes.db").write_bytes(b"not carried")
    return folder


def test_init_opens_step_1_only_and_a_later_step_is_refused_until_its_turn(tmp_path: Path, course: Course) -> None:
    workspace = fresh(tmp_path, course)
    assert [p.name for p in workspace.iterdir() if p.name != MARKER] == [course.step(1).folder]
    refused = run("check", "3", "--dir", str(workspace))
    assert refused.exit_code == 2
    assert "Step 3 is not open yet: its folder 03-add-note appears when step 2 passes" in flat(refused.output)
    assert not step_dir(workspace, course.step(3)).exists()
    assert run("reset", "3", "--yes", "--dir", str(workspace)).exit_code == 2
    assert not step_dir(workspace, course.step(3)).exists(), "reset is no way around it"
    listing = flat(run("list", "--dir", str(workspace)).output)
    assert "3 POST /add_note 03-add-note not open yet" in listing


def test_passing_a_step_opens_the_next_with_the_students_own_code(tmp_path: Path, course: Course) -> None:
    workspace = fresh(tmp_path, course)
    mine = my_step3(workspace, course)
    passed = run("check", "3", "--dir", str(workspace), "--no-protections")
    assert passed.exit_code == 0, passed.output
    assert ("Step 4 is open: 04-list-notes holds your own step-3 code with step 4's TODOs. "
            "Your own notes.txt came along too.") in flat(passed.output)
    carried = step_dir(workspace, course.step(4))
    text = (carried / "main.py").read_text()
    assert "My own version" in text and "new_id = next_id" in text, "the student's code"
    assert text.startswith('"""Notes API, step 4') and "# TODO 1: Add a route for GET /notes" in text
    assert (carried / "README.md").read_bytes() == (course.step(4).exercise_dir / "README.md").read_bytes()
    assert (carried / "notes.txt").exists() and not (carried / "notes.db").exists()
    assert (mine / "main.py").read_text().endswith('return {"id": new_id}\n'), "step 3 is left as it was"

    assert run("check", "4", "--dir", str(workspace)).exit_code == 1, "the new task is not done yet"
    (carried / "main.py").write_text(text + GET_NOTES)
    done = run("check", "4", "--dir", str(workspace), "--no-protections")
    assert done.exit_code == 0, done.output
    assert "Step 5 is open: 05-database-swap holds your own step-4 code with step 5's TODOs, and its new file db.py." in flat(done.output)
    assert "My own version" in (step_dir(workspace, course.step(5)) / "main.py").read_text()


def test_reset_puts_back_what_the_step_started_with(tmp_path: Path, course: Course) -> None:
    workspace = fresh(tmp_path, course)
    my_step3(workspace, course)
    record_result(workspace, 3, "pass", 8, 8)
    opened = open_step(course, workspace, course.step(4))
    started = (opened.folder / "main.py").read_text()
    (opened.folder / "main.py").write_text("broken(\n")
    reset = run("reset", "4", "--yes", "--dir", str(workspace))
    assert reset.exit_code == 0 and "back to the files it started with" in reset.output
    assert (opened.folder / "main.py").read_text() == started and "My own version" in started
    shutil.rmtree(opened.folder)
    gone = run("check", "4", "--dir", str(workspace))
    assert gone.exit_code == 2 and "`persistlab reset 4` makes it again" in flat(gone.output)
    assert run("reset", "4", "--yes", "--dir", str(workspace)).exit_code == 0
    assert (opened.folder / "main.py").read_text() == started


def test_code_that_changed_what_the_next_step_changes_starts_it_from_the_reference(
    tmp_path: Path, course: Course
) -> None:
    workspace = fresh(tmp_path, course)
    five, six = course.step(5), course.step(6)
    folder = step_dir(workspace, five)
    folder.mkdir()
    for path in five.solution_dir.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    main = folder / "main.py"
    main.write_text(main.read_text().replace("    return {\"id\": db.insert_note(note.text)}",
                                             "    new_id = db.insert_note(note.text)\n    return {\"id\": new_id}"))
    opened = open_step(course, workspace, six)
    assert not opened.carried and opened.clashes == ["main.py"]
    assert not filecmp.dircmp(opened.folder, six.exercise_dir).diff_files
    said = flat(describe_opened(opened))
    assert ("starts from the reference answer to step 5 with step 6's TODOs, not from your own code "
            "(your main.py changed lines that step 6 changes too)") in said
    assert "Your code is still in 05-database-swap" in said and main.read_text().count("new_id") == 2


def test_a_skip_opens_the_next_step_too(tmp_path: Path, course: Course) -> None:
    workspace = fresh(tmp_path, course)
    record_result(workspace, 10, "skipped", 0, course.step(10).points)
    ten = step_dir(workspace, course.step(10))
    ten.mkdir()
    listing = run("check", "11", "--dir", str(workspace), "--no-protections")
    assert "Step 11 is open" in flat(listing.output), listing.output
    assert step_dir(workspace, course.step(11)).is_dir() and load_progress(workspace)[11].status == "fail"


def test_the_students_own_module_docstring_is_kept(course: Course) -> None:
    from grader.carry import merge_file

    seven, eight = course.step(7), course.step(8)
    base = (seven.solution_dir / "main.py").read_bytes()
    mine = base.replace(b'"""Notes API, step 7', b'"""My own notes API, step 7', 1)
    carried = merge_file("main.py", base, mine, (eight.exercise_dir / "main.py").read_bytes())
    assert carried is not None and carried.startswith(b'"""My own notes API, step 7')
    todos = [line for line in (eight.exercise_dir / "main.py").read_bytes().splitlines() if b"# TODO" in line]
    assert todos and all(line in carried.splitlines() for line in todos), "step 8's TODOs, all of them"
