"""The variations real downloads and exports come in: Moodle 4.1's folder names, a student's several
files (Canvas, Moodle's flat download, D2L, a Blackboard attempt), names zipped as UTF-8 without the
zip's flag, a worksheet with decimal commas, a gradebook whose assignment is not named persistlab,
and the files written back, read as each LMS's importer reads them."""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from grader.course import Course
from grader.grade.command import intake_lines
from grader.grade.exports import Mark, moodle_csv, moodle_feedback_zip
from grader.grade.lms import Identity, recognise
from grader.grade.outputs import write_exports
from grader.grade.roster import RosterError, read_roster
from grader.grade.sources import Folder, Zip
from grader.grade.submissions import Submission, intake_class
from tests.grade.lms_downloads import (
    blackboard_receipt_text,
    raw_named_zip,
    workspace,
    zip_contents,
    zipped_workspace,
)
from tests.grade.lms_importers import (
    moodle_feedback_before_41,
    moodle_feedback_since_41,
    moodle_worksheet_grades,
)
from tests.grade.test_lms import grade


@pytest.mark.parametrize(("name", "folder", "identity"), [
    ("Ann Lee_1001_assignsubmission_file", True, Identity("Ann Lee", "moodle", "1001")),  # Moodle 4.1 on
    ("Bo Chen_1002_assignsubmission_onlinetext", True, Identity("Bo Chen", "moodle", "1002")),
    ("Participant_1234567_assignsubmission_file", True, Identity("Participant", "moodle", "1234567")),  # blind
    ("chenbo_late_2002_90002_main.py", False, Identity("chenbo", "canvas", "2002", late=True)),
])
def test_names_of_newer_downloads_give_the_student_and_the_id(name: str, folder: bool, identity: Identity) -> None:
    assert recognise(name, folder) == identity


def test_moodle_41_folders_are_students_and_their_online_text_is_noted(tmp_path: Path, course: Course) -> None:
    """Since Moodle 4.1 a student's folder has no last underscore: `Ann Lee_1001_assignsubmission_file`."""
    download = tmp_path / "moodle"
    zipped_workspace(download / "Ann Lee_1001_assignsubmission_file" / "persistlab-notes.zip", "ann", course)
    workspace(download / "Иван Петров_1003_assignsubmission_file" / "persistlab-notes", "ivan", course, 1)
    (download / "Ann Lee_1001_assignsubmission_onlinetext").mkdir()
    (download / "Ann Lee_1001_assignsubmission_onlinetext" / "onlinetext.html").write_text("<p>done</p>")
    (download / "Cleo Diaz_1004_assignsubmission_onlinetext").mkdir()
    (download / "Cleo Diaz_1004_assignsubmission_onlinetext" / "onlinetext.html").write_text("<p>here</p>")
    found = intake_class([download], course)
    by_id = {s.identity.lms_id: s for s in found.submissions}
    assert {pid: s.name for pid, s in by_id.items()} == {
        "1001": "Ann_Lee_1001", "1003": "Иван_Петров_1003", "1004": "Cleo_Diaz_1004"}
    assert isinstance(by_id["1001"].work, Zip) and isinstance(by_id["1003"].work, Folder)
    assert "only online text was handed in" in by_id["1004"].problem
    assert [p.name for p, _ in found.noted] == ["Ann Lee_1001_assignsubmission_onlinetext"]


RECEIPT = "persistlab_alee_attempt_2026-12-01-20-14-05"
D2L = "148001-300001 - Ann Lee - Dec 1, 2026 1207 PM - "


@pytest.mark.parametrize(("files", "graded", "says"), [
    ({"leeann_2001_90001_persistlab-notes.zip": "workspace", "leeann_2001_90001_screenshot.png": "other"},
     "leeann_2001_90001_persistlab-notes.zip", ""),
    ({"chenbo_LATE_2002_90002_main.py": "python", "chenbo_LATE_2002_90002_models.py": "python"},
     None, ("chenbo handed in 2 files (chenbo_LATE_2002_90002_main.py, chenbo_LATE_2002_90002_models.py) and none "
     "is a workspace")),
    ({"doejane_2004_90004_persistlab-notes.zip": "workspace", "doejane_2004_90004_persistlab-notes-1.zip": "workspace"},
     None, "doejane handed in 2 workspaces"),
    ({"Ann Lee_1001_assignsubmission_file_persistlab-notes.zip": "workspace",
      "Ann Lee_1001_assignsubmission_file_README.md": "other"}, "Ann Lee_1001_assignsubmission_file_persistlab-notes.zip", ""),
    ({f"{D2L}persistlab-notes.zip": "workspace", f"{D2L}notes.txt": "other"}, f"{D2L}persistlab-notes.zip", ""),
    ({f"{RECEIPT}_persistlab-notes.zip": "workspace", f"{RECEIPT}_screenshot.png": "other", f"{RECEIPT}.txt": "receipt"},
     f"{RECEIPT}_persistlab-notes.zip", ""),
])
def test_a_student_who_handed_in_several_files_is_one_submission(
    tmp_path: Path, course: Course, files: dict[str, str], graded: str | None, says: str
) -> None:
    """The LMS names each of a student's files after them: one row, the workspace among the files
    graded and the rest noted; no workspace, or two, refused once with the reason."""
    download = tmp_path / "download"
    download.mkdir()
    for name, kind in files.items():
        if kind == "workspace":
            zipped_workspace(download / name, name, course)
        elif kind == "receipt":
            (download / name).write_text(blackboard_receipt_text("Ann Lee", "alee", "persistlab-notes.zip", "x"))
        else:
            (download / name).write_text("notes_db = {}\n" if kind == "python" else "hello\n")
    found = intake_class([download], course)
    [student] = found.submissions
    assert found.ignored == []
    accounted = {student.source.name} | {path.name for path, _ in found.noted}
    assert accounted == set(files)  # every file: graded, refused or noted
    if graded is not None:
        assert (student.source.name, student.problem) == (graded, "") and isinstance(student.work, Zip)
    else:
        assert student.work is None and says in student.problem
        assert student.identity.late == ("LATE" in student.source.name)


def unflagged_workspace(tmp_path: Path, course: Course, top: str) -> dict[bytes, bytes]:
    """A zipped workspace's members under the folder `top`, named in UTF-8 bytes."""
    zipped = zipped_workspace(tmp_path / "plain.zip", "mac", course, under="")
    return {f"{top}/{name}".encode(): data for name, data in zip_contents(zipped).items()}


@pytest.mark.parametrize("top", ["Téléchargements/persistlab-notes", "Рабочий стол/persistlab-notes", "作業/notes"])
def test_a_zip_of_utf8_names_without_the_flag_is_read(tmp_path: Path, course: Course, top: str) -> None:
    """macOS's Archive Utility writes UTF-8 names and no flag: the workspace is found, by its name."""
    archive = raw_named_zip(tmp_path / "zoe.zip", unflagged_workspace(tmp_path, course, top))
    [zoe] = intake_class([archive], course).submissions
    assert zoe.problem == "" and zoe.work == Zip(archive, f"{top}/")
    staged = zoe.work.stage(course.step(1).folder, tmp_path / "staged")
    assert staged is not None and (staged / "main.py").is_file()


def test_a_download_zip_without_the_flag_keeps_every_student(tmp_path: Path, course: Course) -> None:
    """rubyzip (Canvas) writes UTF-8 names without the flag; a name in another code page only says
    whose the file is, so it does not cost the class its download."""
    student = zipped_workspace(tmp_path / "one.zip", "ivan", course).read_bytes()
    download = raw_named_zip(tmp_path / "submissions.zip", {
        "петровиван_2006_90006_persistlab-notes.zip".encode(): student,
        "garcíajosé_2005_90005_persistlab-notes.zip".encode(): student,
        "mu\xf1ozana_2007_90007_persistlab-notes.zip".encode("latin-1"): student,  # Latin-1, as Windows wrote it
        b"leeann_2001_90001_persistlab-notes.zip": student,
    })
    found = intake_class([download], course, unpack_to=tmp_path / "unpacked")
    by_id = {s.identity.lms_id: s for s in found.submissions}
    assert found.ignored == [] and set(by_id) == {"2001", "2005", "2006", "2007"}
    assert by_id["2006"].name == "петровиван_2006" and by_id["2005"].name == "garciajose_2005"
    assert all(s.problem == "" for s in found.submissions)


WORKSHEET = ('"Identifier","Full name","Email address","Status","Grade","Maximum Grade","Grade can be changed",'
             '"Last modified (submission)","Online text","Last modified (grade)","Feedback comments"\n')


@pytest.mark.parametrize(("maximum", "identifier", "points", "decimal"), [
    ("10,00", "Participant 1001", 10.0, ","),
    ("100,00", "Teilnehmer/in 1001", 100.0, ","),  # a German site: its Identifier and its decimal point
    ("7,5", "Participant 1001", 7.5, ","),
])
def test_a_worksheet_with_decimal_commas_gets_its_grades_scaled_and_written_its_way(
    tmp_path: Path, maximum: str, identifier: str, points: float, decimal: str
) -> None:
    sheet = tmp_path / "worksheet.csv"
    sheet.write_text(WORKSHEET + f'"{identifier}","Ann Lee",ann@example.edu,"Submitted for grading","","{maximum}",Yes,'
                     '"Monday, 30 November 2026, 9:14 PM","",-,\n', encoding="utf-8")
    roster = read_roster(sheet)
    assert (roster.points, roster.decimal, roster.students[0].lms_id) == (points, decimal, "1001")
    out = tmp_path / "grades"
    (out / "results").mkdir(parents=True)
    (out / "results" / "Ann_Lee_1001.json").write_text(json.dumps({"score": 9.0, "tests": [{"score": 9.0, "max_score": 12.0}]}))
    found = [Submission("Ann_Lee_1001", tmp_path, identity=Identity("Ann Lee", "moodle", "1001"))]
    write_exports(out, found, roster, None, datetime(2026, 12, 1, 9))
    text = (out / "moodle.csv").read_text(encoding="utf-8")
    prefix = identifier.rpartition(" ")[0] + " "
    assert moodle_worksheet_grades(text, prefix, decimal) == {"1001": pytest.approx(points * 9 / 12, abs=0.01)}
    [row] = list(csv.DictReader(text.splitlines()))
    assert row["Identifier"] == identifier and row["Maximum Grade"] == f"{points:g}".replace(".", decimal)


def test_moodle_csv_writes_the_worksheets_decimal_point() -> None:
    marks = [Mark("Ann Lee", "1001", 8.5, 10.0), Mark("Bo Chen", "1002", 7.25, 10.0)]
    grades = moodle_worksheet_grades(moodle_csv(marks, datetime(2026, 12, 1, 13, 5), ","), decimal=",")
    assert grades == {"1001": 8.5, "1002": 7.25}


CANVAS = ("\ufeffStudent,ID,SIS User ID,SIS Login ID,Integration ID,Section,Lab 3: Notes API (4821),Quiz 1 (4822),"
          "Current Score\n,,,,,,Manual Posting,,\n    Points Possible,,,,,,20.00,5.00,(read only)\n"
          '"Lee, Ann",2001,S2001,alee,,"CS 101 A, Lab",,4.00,80\n"Student, Test",2999,,,,CS 101 A,,,\n')


@pytest.mark.parametrize("assignment", ["Lab 3: Notes API (4821)", "Lab 3: Notes API"])
def test_the_assignment_named_by_the_option_gives_its_column_and_points(tmp_path: Path, assignment: str) -> None:
    (tmp_path / "gradebook.csv").write_text(CANVAS, encoding="utf-8")
    roster = read_roster(tmp_path / "gradebook.csv", assignment)
    assert (roster.assignment, roster.points) == ("Lab 3: Notes API (4821)", 20.0)
    out = tmp_path / "grades"
    (out / "results").mkdir(parents=True)
    (out / "results" / "leeann_2001.json").write_text(json.dumps({"score": 6.0, "tests": [{"score": 6.0, "max_score": 12.0}]}))
    found = [Submission("leeann_2001", tmp_path, identity=Identity("leeann", "canvas", "2001"))]
    write_exports(out, found, roster, assignment, datetime(2026, 12, 1, 9))
    with open(out / "canvas.csv", encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0][-1] == "Lab 3: Notes API (4821)" and table[1][-1] == "20"
    assert {row[1]: row[-1] for row in table[2:]} == {"2001": "10", "2999": "0"}


def test_two_columns_that_may_be_persistlab_are_refused_without_the_option(tmp_path: Path) -> None:
    (tmp_path / "gradebook.csv").write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,persistlab part 1 (11),persistlab part 2 (12)\n"
        "    Points Possible,,,,,10.00,10.00\n", encoding="utf-8")
    with pytest.raises(RosterError, match="name the one to fill in with --assignment"):
        read_roster(tmp_path / "gradebook.csv")
    assert read_roster(tmp_path / "gradebook.csv", "persistlab part 2").points == 10.0


def test_the_feedback_zip_holds_no_folder_moodle_before_41_would_skip(tmp_path: Path) -> None:
    moodle_feedback_zip([("Ann_Lee", "1001", b"# ann"), ("Participant", "1234567", b"# blind")], tmp_path / "f.zip")
    with zipfile.ZipFile(tmp_path / "f.zip") as bundle:
        names = bundle.namelist()
    for importer in (moodle_feedback_before_41, moodle_feedback_since_41):
        assert sorted(importer(name) for name in names) == [  # type: ignore[type-var]
            ("1001", "assignfeedback", "file", "persistlab-feedback.md"),
            ("1234567", "assignfeedback", "file", "persistlab-feedback.md")]


@pytest.mark.parametrize(("name", "lms_id"), [
    ("leeann_2001_90001_my\nnotes.zip", "2001"),
    ("Ann Lee_1001_assignsubmission_file_my\nnotes.zip", "1001"),
    (f"{D2L}my\nnotes.zip", "300001"),
    ("persistlab_alee_attempt_2026-12-01-20-14-05_my\nnotes.zip", "alee"),
])
def test_a_newline_in_the_students_file_name_keeps_their_id(name: str, lms_id: str) -> None:
    assert recognise(name, False).lms_id == lms_id


def test_the_summary_gives_each_odd_file_name_one_line(tmp_path: Path, course: Course) -> None:
    download = tmp_path / "download"
    zipped_workspace(download / "leeann_2001_90001_persistlab-notes.zip", "ann", course)
    (download / "leeann_2001_90001_screen\nshot.png").write_bytes(b"\x89PNG")
    (download / "notes\tfor\nme.txt").write_text("hello")
    lines = intake_lines(intake_class([download], course))
    assert "\n" not in "".join(lines) and "\t" not in "".join(lines)
    assert "  notes\\tfor\\nme.txt: neither a folder nor an archive" in "\n".join(lines)
    assert "  leeann_2001_90001_screen\\nshot.png: handed in by leeann" in "\n".join(lines)


def cut_short(tmp_path: Path, course: Course) -> Path:
    whole = zipped_workspace(tmp_path / "whole.zip", "ann", course)
    (tmp_path / "submissions.zip").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return tmp_path / "submissions.zip"


def garbage(tmp_path: Path, course: Course) -> Path:
    (tmp_path / "submissions.zip").write_bytes(b"<html>Your session has expired</html>")
    return tmp_path / "submissions.zip"


def nothing(tmp_path: Path, course: Course) -> Path:
    zipfile.ZipFile(tmp_path / "submissions.zip", "w").close()
    return tmp_path / "submissions.zip"


@pytest.mark.parametrize(("make", "says"), [
    (cut_short, "is not a readable zip"), (garbage, "is not a readable zip"), (nothing, "holds no file")])
def test_a_download_that_is_no_zip_is_refused_not_graded_as_a_student(
    tmp_path: Path, course: Course, make: Any, says: str
) -> None:
    """A download cut short, a login page saved as .zip, an empty zip: one clear line, nothing written;
    never a student named "submissions" at zero."""
    download = make(tmp_path, course)
    out = tmp_path / "grades"
    result = grade(str(download), "--out", str(out), steps="1")
    said = " ".join(result.output.split())
    assert result.exit_code != 0 and "No submission was found" in said and says in said, result.output
    assert not out.exists()
    beside = workspace(tmp_path / "more" / "bo", "bo", course, 1)
    found = intake_class([download, beside.parent], course, unpack_to=tmp_path / "unpacked")
    assert [s.name for s in found.submissions] == ["bo"] and [p for p, _ in found.ignored] == [download]


@pytest.mark.parametrize("kind", ["canvas", "moodle"])
def test_a_roster_no_submission_matches_is_not_made_a_file_of_zeros(tmp_path: Path, kind: str) -> None:
    """The wrong course's roster: its LMS file would give every student 0, and is not written."""
    if kind == "canvas":
        (tmp_path / "roster.csv").write_text(CANVAS, encoding="utf-8")
    else:
        (tmp_path / "roster.csv").write_text(WORKSHEET + '"Participant 1001","Ann Lee",a@example.edu,"Submitted for '
                                             'grading","","10.00",Yes,-,"",-,\n', encoding="utf-8")
    out = tmp_path / "grades"
    (out / "results").mkdir(parents=True)
    (out / "results" / "Zed_Young_9001.json").write_text(json.dumps({"score": 4.0, "tests": [{"score": 4.0, "max_score": 4.0}]}))
    found = [Submission("Zed_Young_9001", tmp_path, identity=Identity("Zed Young", kind, "9001"))]
    exports = write_exports(out, found, read_roster(tmp_path / "roster.csv"), None, datetime(2026, 12, 1, 9))
    assert not (out / f"{kind}.csv").exists() and exports.missing == []
    assert f"{kind}.csv was not written" in " ".join(exports.lines())


@pytest.mark.parametrize(("text", "kind", "points", "first"), [
    (("\ufeffStudent;ID;SIS User ID;SIS Login ID;Section;persistlab (4821)\n    Points Possible;;;;;16,00\n"
     '"Lee, Ann";2001;S2001;alee;CS 101 A;\n'), "canvas", 16.0, ("Lee, Ann", "2001")),
    (WORKSHEET.replace(",", ";") + '"Participant 1001";"Ann Lee";a@example.edu;"Abgegeben";"";"10,00";Ja;-;"<p>eins;\n'
     'zwei</p>";-;\n', "moodle", 10.0, ("Ann Lee", "1001")),
    ("name;id;email;github\nAnn Lee;;ann@example.edu;ann-lee\n", "plain", None, ("Ann Lee", "")),
])
def test_a_roster_saved_with_semicolons_is_read(
    tmp_path: Path, text: str, kind: str, points: float | None, first: tuple[str, str]
) -> None:
    """A spreadsheet in a language with decimal commas saves its CSV with semicolons."""
    (tmp_path / "roster.csv").write_text(text, encoding="utf-8")
    roster = read_roster(tmp_path / "roster.csv")
    assert (roster.kind, roster.points) == (kind, points)
    assert [(s.name, s.lms_id) for s in roster.students] == [first]


@pytest.mark.parametrize("roster", [None, "First name,Last name,Email address\nAnn,Lee,ann@example.edu\n"])
def test_moodle_grades_not_scaled_to_the_assignment_are_said_to_be(tmp_path: Path, roster: str | None) -> None:
    """Without the worksheet (no roster, or a participants export) Moodle's maximum is unknown."""
    out = tmp_path / "grades"
    (out / "results").mkdir(parents=True)
    (out / "results" / "Ann_Lee_1001.json").write_text(json.dumps({"score": 8.0, "tests": [{"score": 8.0, "max_score": 16.0}]}))
    found = [Submission("Ann_Lee_1001", tmp_path, identity=Identity("Ann Lee", "moodle", "1001"))]
    if roster is not None:
        (tmp_path / "participants.csv").write_text(roster, encoding="utf-8")
    read = read_roster(tmp_path / "participants.csv") if roster is not None else None
    exports = write_exports(out, found, read, None, datetime(2026, 12, 1, 9))
    assert moodle_worksheet_grades((out / "moodle.csv").read_text(encoding="utf-8")) == {"1001": 8.0}
    assert "moodle.csv gives grades out of persistlab's 16 points" in " ".join(exports.lines())


@pytest.mark.parametrize(("assignment", "username"), [("persistlab", "a_lee"), ("Lab_3", "ann_lee_2"), ("Lab 3", "j_smith")])
def test_a_blackboard_username_with_underscores_is_read_from_the_receipt(
    tmp_path: Path, course: Course, assignment: str, username: str
) -> None:
    download = tmp_path / "bb"
    attempt = f"{assignment}_{username}_attempt_2026-12-01-20-14-05"
    zipped_workspace(download / f"{attempt}_persistlab-notes.zip", username, course)
    (download / f"{attempt}.txt").write_text(
        blackboard_receipt_text("Ann Lee", username, "persistlab-notes.zip", "2026-12-01-20-14-05"), encoding="utf-8")
    found = intake_class([download], course)
    [ann] = found.submissions
    assert (ann.identity.lms_id, ann.identity.display, ann.name) == (username, "Ann Lee", f"Ann_Lee_{username}")
    assert ann.problem == "" and [p.name for p, _ in found.noted] == [f"{attempt}.txt"]


@pytest.mark.parametrize("kind", ["canvas", "moodle", None])
def test_a_student_not_graded_into_the_folder_yet_is_left_out_of_the_lms_files(tmp_path: Path, kind: str | None) -> None:
    """`--only` into a fresh folder: the others' grades in the LMS must stay as they are, not become 0."""
    if kind == "canvas":
        (tmp_path / "roster.csv").write_text(CANVAS.replace('"Student, Test",2999', '"Chen, Bo",2002'), encoding="utf-8")
    elif kind == "moodle":
        (tmp_path / "roster.csv").write_text(WORKSHEET + "".join(
            f'"Participant {pid}","{name}",,"Submitted for grading","","20.00",Yes,-,"",-,\n'
            for pid, name in (("2001", "Ann Lee"), ("2002", "Bo Chen"))), encoding="utf-8")
    roster = read_roster(tmp_path / "roster.csv", "Lab 3: Notes API") if kind else None
    lms = kind or "moodle"
    out = tmp_path / "grades"
    (out / "results").mkdir(parents=True)
    (out / "results" / "Ann_Lee_2001.json").write_text(json.dumps({"score": 8.0, "tests": [{"score": 8.0, "max_score": 16.0}]}))
    found = [Submission(f"{name.replace(' ', '_')}_{pid}", tmp_path, identity=Identity(name, lms, pid))
             for pid, name in (("2001", "Ann Lee"), ("2002", "Bo Chen"))]
    exports = write_exports(out, found, roster, None, datetime(2026, 12, 1, 9))
    with open(out / f"{lms}.csv", encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    ids = [row[1] for row in table[2:]] if lms == "canvas" else [row[0] for row in table[1:]]
    assert ids == (["2001"] if lms == "canvas" else ["Participant 2001"])
    assert exports.ungraded == ["Bo_Chen_2002"] and "Bo_Chen_2002" in " ".join(exports.lines())


@pytest.mark.parametrize("inner", ["persistlab-notes.zip", "work/persistlab-notes.tar.gz", "notes.ZIP"])
def test_a_workspace_zipped_twice_is_refused_saying_so(tmp_path: Path, course: Course, inner: str) -> None:
    """The student's, by the LMS's name, not a class download whose inner zip is graded as someone else."""
    once = zipped_workspace(tmp_path / "once.zip", "ann", course).read_bytes()
    download = tmp_path / "download"
    download.mkdir()
    with zipfile.ZipFile(download / "leeann_2001_90001_persistlab-notes.zip", "w") as bundle:
        bundle.writestr(inner, once)
    for unpack_to in (None, tmp_path / "unpacked"):  # never taken for a class's download, and opened
        [ann] = intake_class([download], course, unpack_to=unpack_to).submissions
        assert ann.name == "leeann_2001" and ann.work is None
        assert "an archive inside an archive is not opened" in ann.problem and inner.rpartition("/")[2] in ann.problem
