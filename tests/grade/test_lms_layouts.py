"""Blackboard, Brightspace (D2L) and GitHub Classroom downloads, taken in and graded: every
student found, named and keyed by the LMS's id, correct work at full marks, nothing dropped."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest

from grader.course import Course
from grader.grade.lms import Identity, recognise
from grader.grade.sources import Folder, Tar, Zip
from grader.grade.submissions import intake_class
from tests.grade.lms_downloads import (
    BLACKBOARD_DUE,
    BLACKBOARD_STUDENTS,
    CLASSROOM_STUDENTS,
    D2L_STUDENTS,
    blackboard_download,
    classroom_clone,
    d2l_download,
    d2l_name,
    download_zip,
    workspace,
)
from tests.grade.test_command import rows
from tests.grade.test_lms import grade


@pytest.mark.parametrize(("name", "folder", "identity"), [
    ("persistlab_alee_attempt_2026-12-01-20-14-05_persistlab-notes.zip", False,
     Identity("alee", "blackboard", "alee", submitted=datetime(2026, 12, 1, 20, 14, 5))),
    ("Lab 3_bchen_attempt_2026-12-03-09-30-00.txt", False,
     Identity("bchen", "blackboard", "bchen", submitted=datetime(2026, 12, 3, 9, 30))),
    ("148001-300001 - Ann Lee - Dec 1, 2026 1207 PM - persistlab-notes.zip", False,
     Identity("Ann Lee", "d2l", "300001", submitted=datetime(2026, 12, 1, 12, 7))),
    ("148002-300002 - 张伟 - Dec 3, 2026 905 AM", True,
     Identity("张伟", "d2l", "300002", submitted=datetime(2026, 12, 3, 9, 5))),
    ("148002-300002 - Not A Date - notes.zip", False, Identity("148002-300002 - Not A Date - notes")),
])
def test_blackboard_and_d2l_names_give_the_student_the_id_and_the_time(
    name: str, folder: bool, identity: Identity
) -> None:
    assert recognise(name, folder) == identity


def test_blackboard_attempts_receipts_and_a_receipt_alone(tmp_path: Path, course: Course) -> None:
    found = intake_class([blackboard_download(tmp_path / "bb", course)], course)
    by_id = {s.identity.lms_id: s for s in found.submissions}
    assert set(by_id) == set(BLACKBOARD_STUDENTS) and found.ignored == []
    assert {user: s.identity.display for user, s in by_id.items()} == {
        user: full for user, (full, _) in BLACKBOARD_STUDENTS.items()}  # read from the receipts
    assert by_id["ipetrov"].name == "Иван_Петров_ipetrov" and isinstance(by_id["ipetrov"].work, Tar)
    assert by_id["bchen"].identity.submitted == datetime(2026, 12, 3, 9, 30)  # the latest attempt
    assert isinstance(by_id["bchen"].work, Zip) and by_id["bchen"].problem == ""
    assert "only Blackboard's receipt" in by_id["nofile"].problem
    noted = {path.name: why for path, why in found.noted}
    assert "an earlier attempt of Bo Chen's (2026-11-30 10:00)" in noted[
        "persistlab_bchen_attempt_2026-11-30-10-00-00_persistlab-notes.zip"]
    receipts = [name for name, why in noted.items() if why.startswith("Blackboard's receipt")]
    assert len(receipts) == 4  # alee, ipetrov and both of bchen's; nofile's is its submission
    entries = {p.name for p in (tmp_path / "bb").iterdir()}
    accounted = {s.source.name for s in found.submissions} | set(noted)
    assert accounted == entries  # every file of the download: graded, refused or noted


def test_d2l_download_folders_files_and_index(tmp_path: Path, course: Course) -> None:
    found = intake_class([d2l_download(tmp_path / "d2l", course)], course)
    by_id = {s.identity.lms_id: s for s in found.submissions}
    assert set(by_id) == set(D2L_STUDENTS) and found.ignored == []
    assert by_id["300003"].name != by_id["300004"].name  # Jose Garcia and José García
    assert by_id["300002"].name == "张伟_300002"
    work = by_id["300004"].work
    assert isinstance(work, Folder) and work.path.name == "persistlab-notes"  # two folders down
    assert [(p.name, why) for p, why in found.noted] == [("index.html", "the LMS's index of the download")]


def test_github_classroom_repositories_are_keyed_by_username(tmp_path: Path, course: Course) -> None:
    found = intake_class([classroom_clone(tmp_path, course)], course)
    by_id = {s.identity.lms_id: s for s in found.submissions}
    assert set(by_id) == set(CLASSROOM_STUDENTS)
    assert {s.name for s in found.submissions} == set(CLASSROOM_STUDENTS)
    assert all(s.identity.lms == "github" and s.problem == "" for s in found.submissions)
    assert isinstance(by_id["mona"].work, Folder) and by_id["mona"].work.path.name == "notes"


def test_github_classroom_without_its_folder_name_takes_the_repositories_shared_prefix(
    tmp_path: Path, course: Course
) -> None:
    clone = classroom_clone(tmp_path, course)
    renamed = clone.rename(tmp_path / "week 3")
    found = intake_class([renamed], course)
    assert {s.identity.lms_id for s in found.submissions} == set(CLASSROOM_STUDENTS)


def full_marks(out: Path) -> dict[str, float]:
    return {path.stem: json.loads(path.read_text(encoding="utf-8"))["score"] for path in out.glob("results/*.json")}


def test_a_blackboard_download_zip_graded_with_a_per_day_late_penalty(tmp_path: Path, course: Course) -> None:
    archive = download_zip(blackboard_download(tmp_path / "bb", course), tmp_path / "gradebook_persistlab.zip")
    out = tmp_path / "grades"
    result = grade(str(archive), "--out", str(out), "--due", BLACKBOARD_DUE, "--late-penalty", "10%/day",
                   "--late-cap", "15%", steps="1")
    assert result.exit_code == 1, result.output  # nofile's attempt has no file: listed
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "Nora_File_nofile: The submission was not graded" in said
    assert "an earlier attempt of Bo Chen's" in said
    book = rows(out)
    assert set(book) == {"Ann_Lee_alee", "Bo_Chen_bchen", "Иван_Петров_ipetrov", "Nora_File_nofile"}
    assert {name: r["total"] for name, r in book.items()} == {
        "Ann_Lee_alee": "4", "Bo_Chen_bchen": "3.4", "Иван_Петров_ipetrov": "4", "Nora_File_nofile": "0"}
    assert (book["Bo_Chen_bchen"]["late"], book["Bo_Chen_bchen"]["submitted"]) == ("yes", "2026-12-03 09:30:00")
    assert (book["Ann_Lee_alee"]["lms_id"], book["Ann_Lee_alee"]["late"]) == ("alee", "")
    late = json.loads((out / "results" / "Bo_Chen_bchen.json").read_text(encoding="utf-8"))
    [penalty] = late["extra_data"]["adjustments"]
    assert penalty["points"] == -0.6 and "2 days after the due date" in penalty["reason"]
    assert "capped at 15%" in penalty["reason"]  # 2 days at 10% is 20%; the cap is 15%
    assert "capped at 15%" in (out / "feedback" / "Bo_Chen_bchen.md").read_text(encoding="utf-8")


def test_a_d2l_download_graded_at_full_marks(tmp_path: Path, course: Course) -> None:
    out = tmp_path / "grades"
    result = grade(str(d2l_download(tmp_path / "d2l", course)), "--out", str(out), steps="1")
    assert result.exit_code == 0, result.output
    assert set(full_marks(out).values()) == {4.0} and len(full_marks(out)) == len(D2L_STUDENTS)
    book = rows(out)
    assert {r["lms_id"] for r in book.values()} == set(D2L_STUDENTS)
    assert book["Ann_Lee_300001"]["submitted"] == "2026-12-01 12:07:00"
    assert "index.html: the LMS's index of the download" in " ".join(result.output.split())
    assert d2l_name("300001").startswith("148001-300001 - Ann Lee")


def test_github_classroom_graded_and_matched_to_a_roster_by_username(tmp_path: Path, course: Course) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("name,github\nOcto Cat,octocat\nAnn Lee,ann-lee\nMona Lisa,mona\nVee Env,vee-env\n"
                      "Absent Al,al-absent\n", encoding="utf-8")
    out = tmp_path / "grades"
    result = grade(str(classroom_clone(tmp_path, course)), "--out", str(out), "--roster", str(roster), steps="1")
    assert result.exit_code == 0, result.output
    assert full_marks(out) == dict.fromkeys(CLASSROOM_STUDENTS, 4.0)
    assert 'On the roster with no submission (0, "no submission"): Absent Al.' in " ".join(result.output.split())
    assert "matching no one" not in result.output
    with open(out / "gradebook.csv", encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle))[:4] == ["student", "lms_id", "late", "submitted"]


def test_a_plain_class_folder_is_still_named_by_its_folders(tmp_path: Path, course: Course) -> None:
    workspace(tmp_path / "class" / "persistlab-notes-ann", "ann", course, 1)
    found = intake_class([tmp_path / "class"], course)
    assert [(s.name, s.identity.lms) for s in found.submissions] == [("persistlab-notes-ann", "")]


@pytest.mark.parametrize(("options", "says"), [
    (["--late-penalty", "10%/day"], "give --due"),
    (["--late-penalty", "10%", "--due", "next friday"], "is not a date and time"),
    (["--late-penalty", "10%/day", "--due", "2026-12-01", "--late-cap", "3"], "must both be in % or both in points"),
    (["--due", "2026-12-01"], "go with --late-penalty"),
])
def test_a_wrong_late_policy_is_refused_before_anything_changes(
    tmp_path: Path, course: Course, options: list[str], says: str
) -> None:
    workspace(tmp_path / "download" / "ann", "ann", course, 1)
    result = grade(str(tmp_path / "download"), "--out", str(tmp_path / "grades"), *options)
    assert result.exit_code == 2 and says in " ".join(result.output.split())
    assert not (tmp_path / "grades").exists()


def test_moodle_work_is_dated_by_its_grading_worksheet(tmp_path: Path, course: Course) -> None:
    """Moodle's folders carry no time: with --due, the worksheet's Last modified (submission) tells late work."""
    download = tmp_path / "download"
    for pid, name in (("1001", "Ann Lee"), ("1002", "Bo Chen")):
        workspace(download / f"{name}_{pid}_assignsubmission_file_" / "persistlab-notes", pid, course, 1)
    worksheet = tmp_path / "worksheet.csv"
    worksheet.write_text(
        'Identifier,"Full name","Email address",Status,Grade,"Maximum Grade","Grade can be changed",'
        '"Last modified (submission)","Last modified (grade)","Feedback comments"\n'
        '"Participant 1001","Ann Lee",ann@example.edu,"Submitted for grading",,100.00,Yes,'
        '"Monday, 30 November 2026, 9:14 PM",-,\n'
        '"Participant 1002","Bo Chen",bo@example.edu,"Submitted for grading",,100.00,Yes,'
        '"Wednesday, 2 December 2026, 1:05 AM",-,\n', encoding="utf-8")
    out = tmp_path / "grades"
    result = grade(str(download), "--out", str(out), "--roster", str(worksheet), "--due", "2026-11-30 23:59",
                   "--late-penalty", "1/day", steps="1")
    assert result.exit_code == 0, result.output
    book = rows(out)
    assert {name: (r["late"], r["submitted"], r["total"]) for name, r in book.items()} == {
        "Ann_Lee_1001": ("", "2026-11-30 21:14:00", "4"), "Bo_Chen_1002": ("yes", "2026-12-02 01:05:00", "2")}
    with open(out / "moodle.csv", encoding="utf-8", newline="") as handle:
        grades = {row["Identifier"]: row["Grade"] for row in csv.DictReader(handle)}
    assert grades == {"Participant 1001": "100", "Participant 1002": "50"}


def test_moodle_flat_download_names_each_file_after_its_student(tmp_path: Path, course: Course) -> None:
    """Moodle's download without "in folders": `Full Name_id_assignsubmission_file_original.zip`."""
    from tests.grade.lms_downloads import zipped_workspace

    flat = tmp_path / "flat"
    zipped_workspace(flat / "Ann Lee_1001_assignsubmission_file_persistlab-notes.zip", "ann", course)
    zipped_workspace(flat / "Иван Петров_1003_assignsubmission_file_persistlab-notes.zip", "ivan", course)
    (flat / "Ann Lee_1001_assignsubmission_onlinetext_onlinetext.html").write_text("<p>my work</p>")
    (flat / "Bo Chen_1002_assignsubmission_onlinetext_onlinetext.html").write_text("<p>late, sorry</p>")
    found = intake_class([flat], course)
    assert {(s.name, s.identity.lms, s.problem) for s in found.submissions} == {
        ("Ann_Lee_1001", "moodle", ""), ("Иван_Петров_1003", "moodle", ""),
        ("Bo_Chen_1002", "moodle", ("The submission was not graded: only online text was handed in, no file: "
                                   "persistlab grades a workspace."))}
    assert found.ignored == [] and [p.name for p, _ in found.noted] == [
        "Ann Lee_1001_assignsubmission_onlinetext_onlinetext.html"]
