"""What the LMSs' importers read from the files `grade` writes, as their own code reads them:
Moodle's "Upload multiple feedback files in a zip" (mod/assign/feedback/file/importziplib.php,
before and since 4.1) and its "Upload grading worksheet" (feedback/offline/importgradeslib.php)."""

from __future__ import annotations

import csv
import io
import re


def _stored(member: str) -> tuple[str, str]:
    """A zip member as Moodle stores it once unzipped: its filepath ("/", "/a/") and filename."""
    folder, _, name = member.rpartition("/")
    return (f"/{folder}/" if folder else "/"), name


def moodle_feedback_before_41(member: str) -> tuple[str, str, str, str] | None:
    """(participant id, plugin subtype, plugin type, file name) as Moodle 3.1 to 4.0 reads a
    member: the whole path split on its first four underscores; None if it skips it."""
    filepath, filename = _stored(member)
    if filename.startswith((".", "~")):
        return None
    info = (filepath + filename).split("_", 4)
    if len(info) < 5 or not info[1].isdigit():
        return None
    return info[1], info[2], info[3], info[4]


def moodle_feedback_since_41(member: str) -> tuple[str, str, str, str] | None:
    """The same as Moodle 4.1 and later read it: the first part of the path with four fields."""
    filepath, filename = _stored(member)
    if filename.startswith((".", "~")):
        return None
    parts = (filepath + filename).split("/")
    while parts:
        info = parts.pop(0).split("_", 4)
        if len(info) < 4 or not info[1].isdigit():
            continue
        rest = info[4] if len(info) == 5 else ""
        return info[1], info[2], info[3], "/".join([rest, *parts])
    return None


def moodle_worksheet_grades(text: str, hidden_user: str = "Participant ", decimal: str = ".") -> dict[str, float]:
    """Each participant id's grade, as Moodle's worksheet importer reads them: the columns found by
    their names, the id what follows `hidden_user` in Identifier, the grade by unformat_float."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert len(set(header)) == len(header), "Moodle's CSV reader refuses a repeated column"
    ident, grade, modified = (header.index(name) for name in ("Identifier", "Grade", "Last modified (grade)"))
    grades = {}
    for row in rows[1:]:
        assert row[modified].strip(), "an empty Last modified (grade) reads as 1970: the grade is skipped as stale"
        number = row[grade].strip().replace(" ", "").replace(decimal, ".")
        assert re.fullmatch(r"-?\d+(\.\d+)?", number), f"unformat_float cannot read {row[grade]!r}"
        grades[row[ident][len(hidden_user):]] = float(number)
    return grades
