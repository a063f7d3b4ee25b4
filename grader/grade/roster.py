"""The class list, as an LMS exports it: Canvas's gradebook CSV or Moodle's grading worksheet
(or its participants or grades export), read into one shape and matched to submissions."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from grader.grade.lms import Identity

CANVAS_FIXED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
PLAIN_LOGINS = ("login", "username", "github")  # a plain roster's username column, by any of these names


class RosterError(Exception):
    """A roster file that cannot be read as any LMS's class list."""


@dataclass(frozen=True)
class Student:
    """One roster row; `fields` keeps the row's own columns for the export."""

    name: str
    lms_id: str = ""
    email: str = ""
    login: str = ""  # a username: Canvas's SIS Login ID, Moodle's Username, GitHub's or Blackboard's
    fields: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Roster:
    kind: str  # "canvas", "moodle" or "plain"
    students: list[Student]
    assignment: str = ""  # Canvas: the roster's persistlab column, "persistlab (NNN)", if any
    points: float | None = None  # the assignment's points in the LMS, where the roster says
    decimal: str = "."  # how the roster writes a decimal point ("," in Moodle's "8,50" where the site's language does)


def _number(text: str | None) -> float | None:
    """A number as an LMS writes it: `16.00`, or `8,50` where the decimal point is a comma."""
    text = (text or "").strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def _column(header: list[str], assignment: str | None) -> str:
    """The assignment's column in Canvas's export: `assignment` itself, or the one column named
    `assignment (id)`; without it, the one whose name starts with persistlab; "" if none."""
    if assignment:
        if assignment in header:
            return assignment
        named = [h for h in header if h.startswith(f"{assignment} (")]
    else:
        named = [h for h in header if h.casefold().startswith("persistlab")]
    if len(named) > 1:
        raise RosterError(f"the roster has {len(named)} columns that may be the assignment's ({', '.join(named)}): "
                          "name the one to fill in with --assignment")
    return named[0] if named else ""


def _canvas(rows: list[dict[str, str]], header: list[str], wanted: str | None) -> Roster:
    assignment = _column(header, wanted)
    students, points = [], None
    for row in rows:
        name = (row.get("Student") or "").strip()
        if name == "Points Possible":
            points = _number(row.get(assignment, "")) if assignment else None
            continue
        if name and (row.get("ID") or "").strip():
            students.append(Student(name, row["ID"].strip(), login=(row.get("SIS Login ID") or "").strip(),
                                    fields={k: row.get(k) or "" for k in CANVAS_FIXED}))
    return Roster("canvas", students, assignment, points)


def _moodle(rows: list[dict[str, str]], header: list[str]) -> Roster:
    students, points, decimal = [], None, "."
    for row in rows:
        identifier = (row.get("Identifier") or "").strip()
        if "Full name" in row:
            name = row["Full name"]
        else:
            name = f"{row.get('First name', '')} {row.get('Last name', row.get('Surname', ''))}"
        participant = re.search(r"\s(\d+)$", identifier)  # "Participant 1234567", in any language
        lms_id = participant[1] if participant else ""
        maximum = row.get("Maximum Grade") or ""
        points = _number(maximum) or points
        decimal = "," if re.fullmatch(r"\s*\d+,\d+\s*", maximum) else decimal
        students.append(Student(name.strip(), lms_id, (row.get("Email address") or "").strip(),
                                (row.get("Username") or "").strip(), fields={k: v or "" for k, v in row.items() if k is not None}))
    return Roster("moodle", [s for s in students if s.name or s.lms_id], points=points, decimal=decimal)


def read_roster(path: Path, assignment: str | None = None) -> Roster:
    """Canvas's gradebook export, Moodle's worksheet, participants or grades export, or a plain
    CSV with a `name` column (and `id`, `email`, `login` if known). `assignment`: the column of
    Canvas's export to fill in (--assignment)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path} cannot be read as a UTF-8 CSV file ({exc}): save it as CSV UTF-8") from None
    first = text.partition("\n")[0]
    # a spreadsheet set to a language with decimal commas saves its CSV with semicolons
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    rows = list(reader)
    if {"Student", "ID"} <= set(header):
        try:
            return _canvas(rows, header, assignment)
        except RosterError as exc:
            raise RosterError(f"{path}: {exc}") from None
    if "Identifier" in header or "Email address" in header:
        return _moodle(rows, header)
    if "name" in header:
        students = [Student(r["name"].strip(), (r.get("id") or "").strip(), (r.get("email") or "").strip(),
                            next((r[k].strip() for k in PLAIN_LOGINS if (r.get(k) or "").strip()), ""))
                    for r in rows if (r.get("name") or "").strip()]
        return Roster("plain", students)
    raise RosterError(f"{path} is not a roster persistlab knows: its header ({', '.join(header[:6])}) "
                      "is neither Canvas's gradebook export (Student, ID, ...), Moodle's grading "
                      "worksheet or participants export (Identifier or Email address, ...), nor a "
                      "plain CSV with a name column")


MOODLE_SUBMITTED = "Last modified (submission)"


def moodle_submitted(student: Student) -> datetime | None:
    """When a student handed in, from Moodle's worksheet ("Monday, 30 November 2026, 9:14 PM")."""
    text = student.fields.get(MOODLE_SUBMITTED, "").strip()
    try:
        return datetime.strptime(text, "%A, %d %B %Y, %I:%M %p")
    except ValueError:
        return None


def name_keys(name: str) -> set[str]:
    """Ways one name may be written: `Lee, Ann`, `Ann Lee` and Canvas's `leeann` all match."""
    text = unicodedata.normalize("NFC", name).casefold()
    if "," in text:
        last, _, first = text.partition(",")
        text = f"{first} {last}"
    words = re.findall(r"\w+", text)
    if not words:
        return set()
    return {" ".join(sorted(words)), "".join(words[-1:] + words[:-1]), "".join(words)}


def _same_ids(roster: Roster, identity: Identity) -> bool:
    """The roster's ids are the download's kind of id: the same LMS's, or a plain roster's."""
    return roster.kind == "plain" or roster.kind == identity.lms


def match(roster: Roster, identities: dict[str, Identity]) -> tuple[dict[Student, str], list[str]]:
    """Each roster student's submission key (by LMS id, then by login or email, then by name),
    and the keys of submissions that match no one. A name matches only one roster student, and
    never one whose id says they are someone else."""
    by_id = {s.lms_id: s for s in roster.students if s.lms_id}
    by_login: dict[str, Student] = {}
    for person in roster.students:
        for login in (person.login, person.email, person.email.partition("@")[0]):
            if login:
                by_login.setdefault(login.casefold(), person)
    matched: dict[Student, str] = {}
    for key, identity in sorted(identities.items()):
        same = _same_ids(roster, identity)
        student: Student | None = by_id.get(identity.lms_id) if identity.lms_id and same else None
        if student is None and identity.lms_id:
            student = by_login.get(identity.lms_id.casefold())
        if student is None and not (identity.lms_id and same and by_id):
            wanted = name_keys(identity.display)
            candidates = [s for s in roster.students if name_keys(s.name) & wanted and s not in matched]
            student = candidates[0] if len(candidates) == 1 else None
        if student is not None and student not in matched:
            matched[student] = key
    unmatched = sorted(set(identities) - set(matched.values()))
    return matched, unmatched


__all__ = ["Roster", "RosterError", "Student", "match", "moodle_submitted", "name_keys", "read_roster"]
