"""What an LMS imports: Canvas's gradebook CSV and Moodle's offline grading worksheet."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader.grade.gradebook import cell

CANVAS_HEADER = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
# Moodle's offline grading worksheet (mod/assign, feedback/offline): its importer needs
# Identifier ("Participant N"), Grade and Last modified (grade); the rest it shows or ignores
MOODLE_HEADER = ("Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                 "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                 "Feedback comments")
NO_SUBMISSION = "no submission"


@dataclass
class Mark:
    """One student's line in an LMS's import file."""

    name: str
    lms_id: str
    grade: float
    points: float
    note: str = ""  # why it is what it is, where that is not just the grade
    submitted: bool = True
    email: str = ""
    fields: dict[str, str] | None = None  # the roster row's own columns


def _number(value: float, decimal: str = ".") -> str:
    return f"{round(value, 2):g}".replace(".", decimal)


def _csv(header: tuple[str, ...] | list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[cell(value) for value in row] for row in rows])
    return out.getvalue()


def canvas_csv(marks: list[Mark], assignment: str) -> str:
    """Canvas's gradebook import: the five columns Canvas matches students by, then the
    assignment's column (`Name (id)` matches an existing assignment; a new name makes one);
    a Points Possible row, as Canvas's own export has."""
    points = max((m.points for m in marks), default=0.0)
    rows = [["Points Possible", "", "", "", "", _number(points)]]
    for mark in marks:
        fixed = mark.fields or {}
        rows.append([fixed.get("Student", mark.name), mark.lms_id, fixed.get("SIS User ID", ""),
                     fixed.get("SIS Login ID", ""), fixed.get("Section", ""), _number(mark.grade)])
    return _csv([*CANVAS_HEADER, assignment], rows)


def moodle_time(moment: datetime) -> str:
    """As Moodle writes times in its worksheet ("Tuesday, 1 December 2026, 12:07 PM")."""
    return f"{moment:%A}, {moment.day} {moment:%B %Y}, {int(moment.strftime('%I'))}:{moment:%M %p}"


def moodle_csv(marks: list[Mark], now: datetime, decimal: str = ".") -> str:
    """Moodle's offline grading worksheet, filled in: upload it with "Upload grading worksheet".
    Each row keeps the worksheet's own Identifier (Moodle reads the number after its first word,
    in the site's language) and its decimal point (`8,5` where the worksheet wrote `100,00`)."""
    rows = []
    for mark in marks:
        own = mark.fields or {}
        status = own.get("Status") or ("Submitted for grading" if mark.submitted else "No submission")
        grade, points = _number(mark.grade, decimal), _number(mark.points, decimal)
        note = mark.note or f"persistlab: {grade} / {points}"
        rows.append([own.get("Identifier") or f"Participant {mark.lms_id}", own.get("Full name", mark.name),
                     own.get("Email address", mark.email), status, grade, points, "Yes",
                     own.get("Last modified (submission)", "-"), moodle_time(now), note])
    return _csv(MOODLE_HEADER, rows)


FEEDBACK_FILE = "persistlab-feedback.md"


def moodle_feedback_name(full_name: str, participant: str) -> str:
    """The name Moodle's "Upload multiple feedback files in a zip" reads a student's feedback
    file from: `fullname_participantid_assignfeedback_file_FILE` at the zip's top, no underscore
    or slash in the name (as Moodle's own download writes it). Every Moodle's importer reads it:
    those before 4.1 split the whole path on its first four underscores, so a folder
    `..._assignfeedback_file/FILE` (4.1's own) is one they skip."""
    return f"{full_name.replace('_', ' ').replace('/', ' ')}_{participant}_assignfeedback_file_{FEEDBACK_FILE}"


def moodle_feedback_zip(feedback: list[tuple[str, str, bytes]], target: Path) -> None:
    """(full name, participant id, feedback file) for each student, zipped for that upload."""
    partial = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
        for full_name, participant, data in feedback:
            bundle.writestr(moodle_feedback_name(full_name, participant), data)
    partial.replace(target)


__all__ = [
    "CANVAS_HEADER", "FEEDBACK_FILE", "MOODLE_HEADER", "NO_SUBMISSION", "Mark", "canvas_csv", "moodle_csv",
    "moodle_feedback_name", "moodle_feedback_zip", "moodle_time",
]
