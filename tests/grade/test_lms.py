"""From an LMS's download to the files the LMS imports: names, intake, roster, exports."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from grader.cli import cli
from grader.course import Course
from grader.grade.exports import CANVAS_HEADER, MOODLE_HEADER, Mark, canvas_csv, moodle_csv
from grader.grade.lms import Identity, recognise, safe_name
from grader.grade.outputs import write_exports
from grader.grade.results_json import max_score
from grader.grade.roster import RosterError, read_roster
from grader.grade.sources import Folder, Tar, Zip
from grader.grade.submissions import intake_class
from grader.workspace import create_workspace
from tests.grade.lms_downloads import (
    CANVAS_STUDENTS,
    MOODLE_STUDENTS,
    VENV_ENTRIES,
    canvas_flat,
    canvas_name,
    canvas_roster,
    download_zip,
    moodle_folders,
    moodle_worksheet,
    workspace,
)
from tests.grade.lms_importers import moodle_feedback_before_41, moodle_feedback_since_41
from tests.grade.test_command import SAFETY, rows


@pytest.mark.parametrize(("name", "folder", "identity"), [
    ("leeann_2001_90001_persistlab-notes.zip", False, Identity("leeann", "canvas", "2001")),
    ("chenbo_LATE_2002_90002_persistlab-notes.zip", False, Identity("chenbo", "canvas", "2002", late=True)),
    ("smithsam_2003_90003_main.py", False, Identity("smithsam", "canvas", "2003")),
    ("петровиван_LATE_2006_90006_notes-1.tar.gz", False, Identity("петровиван", "canvas", "2006", late=True)),
    ("Ann Lee_1001_assignsubmission_file_", True, Identity("Ann Lee", "moodle", "1001")),
    ("Bo Chen_1002_assignsubmission_onlinetext_", True, Identity("Bo Chen", "moodle", "1002")),
    ("Ann Lee_1001_assignsubmission_file_persistlab-notes.zip", False, Identity("Ann Lee", "moodle", "1001")),
    ("alice.zip", False, Identity("alice")),
    ("alice_smith", True, Identity("alice_smith")),
])
def test_download_names_give_the_student_the_lms_id_and_the_late_flag(
    name: str, folder: bool, identity: Identity
) -> None:
    assert recognise(name, folder) == identity


@pytest.mark.parametrize(("display", "key"), [
    ("Zoë Ünal", "Zoe_Unal"),
    ("Иван Петров", "Иван_Петров"),
    ("张伟", "张伟"),
    ("../..", "unnamed"),
])
def test_names_stay_readable_in_every_script(display: str, key: str) -> None:
    assert safe_name(display) == key


def test_moodle_folders_are_students_keyed_by_participant_id(tmp_path: Path, course: Course) -> None:
    """Every inner zip is persistlab-notes.zip: the student is the folder, never the zip."""
    found = intake_class([moodle_folders(tmp_path / "moodle", course)], course)
    by_id = {s.identity.lms_id: s for s in found.submissions}
    assert set(by_id) == set(MOODLE_STUDENTS)
    assert {pid: s.identity.display for pid, s in by_id.items()} == MOODLE_STUDENTS
    assert by_id["1005"].name != by_id["1006"].name  # José García and Jose Garcia
    assert by_id["1003"].name == "Иван_Петров_1003" and by_id["1004"].name == "张伟_1004"
    problems = {pid: s.problem for pid, s in by_id.items() if s.problem}
    assert list(problems) == ["1007"] and "empty" in problems["1007"]
    assert by_id["1001"].work == Zip(tmp_path / "moodle" / "Ann Lee_1001_assignsubmission_file_"
                                     / "persistlab-notes.zip", "persistlab-notes/")
    assert isinstance(by_id["1003"].work, Folder) and by_id["1003"].work.path.name == "persistlab-notes"
    assert isinstance(by_id["1004"].work, Zip)
    assert by_id["1004"].work.root == "Users/zw/Desktop/persistlab-notes/"  # three folders down
    assert isinstance(by_id["1008"].work, Zip)  # its .venv of 2,549 files is not counted
    assert found.ignored == [] and [(p.name, why) for p, why in found.noted] == [
        ("Bo Chen_1002_assignsubmission_onlinetext_", "the student's online text; their files are graded")]


def test_ignored_folders_are_neither_counted_nor_copied(tmp_path: Path, course: Course) -> None:
    student = workspace(tmp_path / "vee", "vee", course, solved=1)
    step = student / course.step(1).folder
    for name in ("__pycache__", ".venv", "node_modules"):
        (step / name).mkdir()
        for index in range(VENV_ENTRIES // 3):
            (step / name / f"m{index}.py").write_text("x = 1\n")
    [found] = intake_class([student], course).submissions
    assert found.problem == "" and found.work == Folder(student)
    copy = found.work.stage(course.step(1).folder, tmp_path / "copy")
    assert copy is not None and sorted(p.name for p in copy.iterdir()) == ["README.md", "main.py"]


def test_every_canvas_file_gets_a_row(tmp_path: Path, course: Course) -> None:
    """A .py and a .tar.gz are submissions too: graded as far as they can be, or refused with a reason."""
    found = intake_class([canvas_flat(tmp_path / "canvas", course)], course)
    by_id = {s.identity.lms_id: s for s in found.submissions}
    assert set(by_id) == set(CANVAS_STUDENTS) and found.ignored == []
    assert {pid for pid, s in by_id.items() if s.identity.late} == {"2002", "2006"}
    assert "a single Python file, not a workspace" in by_id["2003"].problem
    assert by_id["2004"].work == Tar(tmp_path / "canvas" / canvas_name("2004"), "persistlab-notes/")
    assert all(s.problem == "" for pid, s in by_id.items() if pid != "2003")


def test_the_download_zip_is_a_class_not_a_student(tmp_path: Path, course: Course) -> None:
    archive = download_zip(moodle_folders(tmp_path / "moodle", course), tmp_path / "submissions.zip")
    unpacked = intake_class([archive], course, unpack_to=tmp_path / "unpacked")
    assert {s.identity.lms_id for s in unpacked.submissions} == set(MOODLE_STUDENTS)
    assert not any(s.name == "submissions" for s in unpacked.submissions)
    [whole] = intake_class([archive], course).submissions  # nowhere to unpack it: refused, with why
    assert whole.work is None and "download of a whole class" in whole.problem


def test_python_files_without_step_folders_are_flagged_not_failed(tmp_path: Path, course: Course) -> None:
    (tmp_path / "kim" / "project").mkdir(parents=True)
    (tmp_path / "kim" / "project" / "main.py").write_text("notes_db = {}\n")
    [kim] = intake_class([tmp_path / "kim"], course).submissions
    assert kim.work is None and "not a persistlab workspace" in kim.problem


def test_rosters_as_each_lms_exports_them(tmp_path: Path) -> None:
    canvas = read_roster(canvas_roster(tmp_path / "canvas.csv"))
    assert (canvas.kind, canvas.assignment, canvas.points) == ("canvas", "persistlab (4821)", 16.0)
    assert [(s.name, s.lms_id) for s in canvas.students][:2] == [("Lee, Ann", "2001"), ("Chen, Bo", "2002")]
    assert "Points Possible" not in [s.name for s in canvas.students]
    moodle = read_roster(moodle_worksheet(tmp_path / "moodle.csv"))
    assert (moodle.kind, moodle.points) == ("moodle", 100.0)
    assert moodle.students[2].name == "Иван Петров" and moodle.students[2].lms_id == "1003"
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(RosterError, match="not a roster"):
        read_roster(tmp_path / "other.csv")


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_export_files_have_the_columns_each_importer_reads() -> None:
    marks = [Mark("Lee, Ann", "2001", 7.5, 8.0, fields={"SIS User ID": "S2001", "Section": "A"}),
             Mark("+1+1", "2002", 0.0, 8.0, "no submission", submitted=False)]
    canvas = parse(canvas_csv(marks, "persistlab (4821)"))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "persistlab (4821)"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "8"]
    assert canvas[2] == ["Lee, Ann", "2001", "S2001", "", "A", "7.5"]
    assert canvas[3][0] == "'+1+1"  # a name a spreadsheet would run as a formula
    moodle = parse(moodle_csv(marks, datetime(2026, 12, 1, 13, 5)))
    assert moodle[0] == ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                         "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                         "Feedback comments"]
    assert moodle[1][:6] == ["Participant 2001", "Lee, Ann", "", "Submitted for grading", "7.5", "8"]
    assert moodle[1][8] == "Tuesday, 1 December 2026, 1:05 PM"
    assert moodle[2][3:5] == ["No submission", "0"] and moodle[2][9] == "no submission"
    assert tuple(canvas[0][:5]) == CANVAS_HEADER and tuple(moodle[0]) == MOODLE_HEADER


def grade(*args: str, steps: str = "1-2") -> Result:
    return CliRunner().invoke(cli, ["grade", *args, "--steps", steps, "--timeout", "2", *SAFETY],
                              catch_exceptions=False)


def test_a_canvas_download_graded_into_canvas_csv(tmp_path: Path, course: Course) -> None:
    """Correct work at full marks, scaled to the assignment's points; the absent student at 0;
    the students the roster lacks listed; the .py refused with a row and a reason; the late
    penalty and the adjustments in every output."""
    download = canvas_flat(tmp_path / "canvas", course)
    roster = canvas_roster(tmp_path / "gradebook.csv")
    changes = tmp_path / "adjustments.csv"
    changes.write_text("student,points,reason\n2005,-2,README copied from a classmate\n", encoding="utf-8")
    out = tmp_path / "grades"
    result = grade(str(download), "--out", str(out), "--roster", str(roster), "--late-penalty", "25%",
                   "--adjustments", str(changes))
    assert result.exit_code == 1, result.output  # the .py was refused: graded, and said so
    book = rows(out)
    assert set(book) == {f"{CANVAS_STUDENTS[u][0].replace('í', 'i').replace('é', 'e')}_{u}"
                         for u in CANVAS_STUDENTS if u != "2006"} | {"петровиван_2006"}
    assert {name: r["total"] for name, r in book.items()} == {
        "leeann_2001": "8", "chenbo_2002": "6", "smithsam_2003": "0", "doejane_2004": "8",
        "garciajose_2005": "6", "петровиван_2006": "6"}
    assert book["chenbo_2002"]["step2"] == "4"  # the checks' own scores stay as they were
    late = json.loads((out / "results" / "chenbo_2002.json").read_text(encoding="utf-8"))
    assert late["score"] == 6 and late["extra_data"]["adjustments"] == [
        {"points": -2.0, "reason": "late: the LMS marked this submission late (-25%)"}]
    feedback = (out / "feedback" / "garciajose_2005.md").read_text(encoding="utf-8")
    assert "After adjustments: **6 / 8**" in feedback and "- -2: README copied from a classmate" in feedback
    assert "smithsam_2003: The submission was not graded: it is a single Python file" in result.output
    with open(out / "canvas.csv", encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == [*CANVAS_HEADER, "persistlab (4821)"]
    grades = {row[1]: row[5] for row in table[2:]}
    assert grades == {"2001": "16", "2002": "12", "2005": "12", "2099": "0"}
    assert table[2][:5] == ["Lee, Ann", "2001", "S2001", "alee", "CS 101 A"]
    assert 'On the roster with no submission (0, "no submission"): Absent, Al.' in result.output
    assert "matching no one on the roster" in result.output and "doejane_2004" in result.output


def test_a_moodle_download_zip_graded_into_the_worksheet(
    tmp_path: Path, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    archive = download_zip(moodle_folders(tmp_path / "moodle", course), tmp_path / "submissions.zip")
    worksheet = moodle_worksheet(tmp_path / "worksheet.csv")
    out = tmp_path / "grades"
    result = grade(str(archive), "--out", str(out), "--roster", str(worksheet), steps="1")
    assert result.exit_code == 1, result.output  # Empty Person's folder could not be graded
    assert "submissions" not in rows(out) and len(rows(out)) == len(MOODLE_STUDENTS)
    assert "Empty_Person_1007: The submission is empty" in result.output
    with open(out / "moodle.csv", encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == list(MOODLE_HEADER)
    by_id = {row["Identifier"]: row for row in table}
    assert len(by_id) == len(MOODLE_STUDENTS) + 1
    full = [f"Participant {pid}" for pid in MOODLE_STUDENTS if pid != "1007"]
    assert all(by_id[i]["Grade"] == "100" for i in full), table
    assert by_id["Participant 1007"]["Grade"] == "0"
    assert (by_id["Participant 1099"]["Grade"], by_id["Participant 1099"]["Feedback comments"]) == (
        "0", "no submission")
    assert list(scratch.iterdir()) == []  # the download was unpacked there, and is gone
    with zipfile.ZipFile(out / "moodle-feedback.zip") as bundle:
        names = bundle.namelist()
    for importer in (moodle_feedback_before_41, moodle_feedback_since_41):  # as Moodle's zip importers read it
        read = [importer(name) for name in names]
        assert sorted(info[0] for info in read if info) == sorted(MOODLE_STUDENTS)
        assert {info[1:] for info in read if info} == {("assignfeedback", "file", "persistlab-feedback.md")}
    ivan = json.loads((out / "results" / "Иван_Петров_1003.json").read_text(encoding="utf-8"))
    assert ivan["score"] == max_score(ivan) > 0


def test_without_a_roster_the_exports_use_the_ids_in_the_names(tmp_path: Path, course: Course) -> None:
    create_workspace(course, tmp_path / "download" / "plain-folder")
    workspace(tmp_path / "download" / "Ann Lee_1001_assignsubmission_file_" / "ws", "ann", course, 1)
    out = tmp_path / "grades"
    result = grade(str(tmp_path / "download"), "--out", str(out), steps="1")
    assert result.exit_code == 0, result.output
    with open(out / "moodle.csv", encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [(r["Identifier"], r["Full name"], r["Grade"]) for r in table] == [("Participant 1001", "Ann Lee", "4")]
    assert not (out / "canvas.csv").exists()
    assert "carries no Canvas or Moodle id" in result.output and "plain-folder" in result.output


def slow_to_fail(root: Path, course: Course) -> Path:
    """A student whose step 2 app takes 3 s to fail to start: graded last, it keeps the run busy
    after the others, and fails the same way in every run."""
    student = workspace(root, "hangs", course, solved=2)
    main = student / course.step(2).folder / "main.py"
    main.write_text(main.read_text().replace(
        "app = FastAPI()", "import time\ntime.sleep(3)\nraise SystemExit('not today')\napp = FastAPI()"))
    return student


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 128 + signal.SIGINT)])
def test_a_stopped_run_keeps_what_it_graded_and_resume_grades_the_rest(
    tmp_path: Path, course: Course, stop: signal.Signals, code: int
) -> None:
    """Ctrl-C or a kill: gradebook.csv and junit.xml hold what was graded, no temporary folder
    is left, and --resume grades only the rest."""
    download = tmp_path / "download"
    for name in ("ann", "bo", "cy"):
        workspace(download / name, name, course)
    slow_to_fail(download / "zz-hangs", course)  # graded last (one worker, in order of name)
    out, scratch = tmp_path / "grades", tmp_path / "tmp"
    scratch.mkdir()
    command = [sys.executable, "-m", "grader", "grade", str(download), "--out", str(out), "--steps", "1-2",
               "--jobs", "1", *SAFETY]
    env = {**os.environ, "TMPDIR": str(scratch)}
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while run.poll() is None and not list(out.glob("results/*.json")):
        time.sleep(0.05)
    run.send_signal(stop)
    output, _ = run.communicate()
    assert run.returncode == code, output
    graded = sorted(path.stem for path in out.glob("results/*.json"))
    assert graded and "zz-hangs" not in graded and "Run again with --resume" in " ".join(output.split())
    assert sorted(rows(out)) == graded
    assert (out / "junit.xml").read_text().count("<testsuite ") == len(graded)
    assert list(scratch.iterdir()) == []
    assert not [p for p in out.rglob("*") if p.is_dir() and not any(p.iterdir())]
    before = {name: (out / "results" / f"{name}.json").stat().st_mtime_ns for name in graded}
    changed = graded[0]  # its files change between the runs: --resume must grade it again
    main = download / changed / course.step(1).folder / "main.py"
    main.write_text(main.read_text().replace("next_id = 1", "next_id = 0"))
    resumed = subprocess.run([*command, "--resume"], check=False, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = {name: (out / "results" / f"{name}.json").stat().st_mtime_ns for name in graded}
    assert after[changed] != before[changed]
    assert {n: t for n, t in after.items() if n != changed} == {n: t for n, t in before.items() if n != changed}
    book = rows(out)
    assert sorted(book) == ["ann", "bo", "cy", "zz-hangs"]
    assert book[changed]["step1"] != "4" and book["zz-hangs"]["step2"] == "0"
    assert [book[n]["total"] for n in ("ann", "bo", "cy") if n != changed] == ["8", "8"]
    whole = tmp_path / "whole"  # the same class, graded without a stop
    straight = subprocess.run([*command[:6], str(whole), *command[7:]], check=False, env=env, capture_output=True)
    assert straight.returncode == 0

    def timeless(book: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        return {name: {k: v for k, v in row.items() if k != "seconds"} for name, row in book.items()}

    assert timeless(rows(out)) == timeless(rows(whole))
    untimed = [re.sub(r' time="[^"]*"', "", (o / "junit.xml").read_text()) for o in (out, whole)]
    assert untimed[0] == untimed[1]


@pytest.mark.parametrize(("content", "says"), [
    ("student,points,reason\nnobody,-1,why\n", "no submission is named 'nobody'"),
    ("student,points,reason\nann,minus one,why\n", "is not a number"),
    ("student,points,reason\nann,-1,\n", "say why"),
])
def test_a_wrong_adjustments_file_is_refused_before_anything_changes(
    tmp_path: Path, course: Course, content: str, says: str
) -> None:
    workspace(tmp_path / "download" / "ann", "ann", course, 1)
    (tmp_path / "adjustments.csv").write_text(content, encoding="utf-8")
    result = grade(str(tmp_path / "download"), "--out", str(tmp_path / "grades"),
                   "--adjustments", str(tmp_path / "adjustments.csv"))
    assert result.exit_code != 0 and says in result.output
    assert not (tmp_path / "grades").exists()


@pytest.mark.parametrize("penalty", ["ten percent", "120%", "-2"])
def test_a_wrong_late_penalty_is_refused(tmp_path: Path, course: Course, penalty: str) -> None:
    workspace(tmp_path / "download" / "ann", "ann", course, 1)
    result = grade(str(tmp_path / "download"), "--out", str(tmp_path / "grades"), "--late-penalty", penalty)
    assert result.exit_code != 0 and "is not a penalty such as 10%" in result.output
    assert not (tmp_path / "grades").exists()


def test_a_participants_export_takes_its_ids_from_the_download(tmp_path: Path, course: Course) -> None:
    """Moodle's participants export has names and no ids: matched by name, the participant id
    comes from the download's folder name; who did not submit is listed."""
    download = tmp_path / "download"
    for pid, name in (("1001", "Ann Lee"), ("1002", "Bo Chen")):
        (download / f"{name}_{pid}_assignsubmission_file_" / "main.py").parent.mkdir(parents=True)
    (download / "Ann Lee_1001_assignsubmission_file_" / "main.py").write_text("x = 1\n")
    participants = tmp_path / "participants.csv"
    participants.write_text("First name,Last name,Email address,Roles,Groups\n"
                            "Ann,Lee,ann@example.edu,Student,\nBo,Chen,bo@example.edu,Student,\n"
                            "Cleo,Diaz,cleo@example.edu,Student,\n", encoding="utf-8")
    found = intake_class([download], course).submissions
    out = tmp_path / "grades"
    (out / "results").mkdir(parents=True)
    for name in ("Ann_Lee_1001", "Bo_Chen_1002"):  # each refused, with a results file of zero, as grade writes it
        (out / "results" / f"{name}.json").write_text(json.dumps({"score": 0.0, "tests": [{"score": 0.0, "max_score": 4.0}]}))
    exports = write_exports(out, found, read_roster(participants), None, datetime(2026, 12, 1, 9))
    with open(out / "moodle.csv", encoding="utf-8", newline="") as handle:
        table = {row["Identifier"]: row for row in csv.DictReader(handle)}
    assert set(table) == {"Participant 1001", "Participant 1002"}
    assert table["Participant 1001"]["Email address"] == "ann@example.edu"
    assert "not a persistlab workspace" in table["Participant 1001"]["Feedback comments"]
    assert table["Participant 1002"]["Feedback comments"].startswith("The submission is empty")
    assert exports.missing == ["Cleo Diaz"] and exports.unmatched == []


def test_a_download_zip_inside_a_folder_is_opened_too(tmp_path: Path, course: Course) -> None:
    """Two sections downloaded into one folder: each download is a class, never a student."""
    downloads = tmp_path / "downloads"
    download_zip(canvas_flat(tmp_path / "canvas", course), downloads / "section-a submissions.zip")
    workspace(downloads / "late-by-email", "late", course, 1)
    found = intake_class([downloads], course, unpack_to=tmp_path / "unpacked")
    names = {s.name for s in found.submissions}
    assert "late-by-email" in names and {s.identity.lms_id for s in found.submissions} == {*CANVAS_STUDENTS, ""}
    assert not any("submissions" in name for name in names)


def test_a_download_that_cannot_be_unpacked_is_said_so(tmp_path: Path, course: Course) -> None:
    archive = download_zip(canvas_flat(tmp_path / "canvas", course), tmp_path / "submissions.zip")
    archive.write_bytes(archive.read_bytes().replace(b"leeann_2001", b"../../../ev"))
    result = grade(str(archive), "--out", str(tmp_path / "grades"))
    assert result.exit_code != 0 and "could not be unpacked" in result.output
    assert "points outside the submission" in result.output and not (tmp_path / "ev").exists()
