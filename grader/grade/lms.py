"""What an LMS's bulk download names tell us: the student, the LMS's own id, late or when.

- Canvas: `lastfirst_userid_submissionid_original.ext` (`lastfirst_LATE_...` or `lastfirst_late_...`
  when late), one such file per file the student handed in.
- Moodle, "download submissions in folders": `Full Name_participantid_assignsubmission_file_`
  (`..._onlinetext_`) per student, without the last `_` since Moodle 4.1; its flat variant puts
  the original file name after that.
- Blackboard: `Assignment_username_attempt_YYYY-MM-DD-HH-MM-SS_original.ext`, beside a receipt
  `..._attempt_YYYY-MM-DD-HH-MM-SS.txt` whose "Name: Full Name (username)" line names the student.
- Brightspace (D2L): `submissionid-userid - Full Name - Mon D, YYYY HMM AM - original.ext` (a file,
  or a folder so named), and an index.html of the download.
- GitHub Classroom: a folder of repositories `assignment-username`, as `gh classroom clone
  student-repos` writes them into `assignment-submissions`.
Anything else is named by itself.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar")

# DOTALL: what a student named their file is theirs, a newline included
_CANVAS = re.compile(r"^(?P<name>[^_]+?)(?P<late>_LATE|_late)?_(?P<id>\d+)_(?P<submission>\d+)_(?P<rest>.+)\Z",
                     re.DOTALL)
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>file|onlinetext)(?:_(?P<rest>.*))?\Z",
                     re.DOTALL)
_BLACKBOARD = re.compile(r"^(?P<assignment>.+)_(?P<id>[^_]+)_attempt_"
                         r"(?P<time>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<rest>.+)|\.txt)\Z", re.DOTALL)
_D2L = re.compile(r"^(?P<submission>\d+)-(?P<id>\d+) - (?P<name>.+?)\s*-\s*"
                  r"(?P<time>[A-Z][a-z]{2} \d{1,2}, \d{4} \d{3,4} [AP]M)(?: - (?P<rest>.+))?\Z", re.DOTALL)
_RECEIPT_NAME = re.compile(r"^Name:\s*(?P<name>.+?)\s*\((?P<id>[^()\s]+)\)\s*$", re.MULTILINE)
MOODLE_FILES = "file"  # Moodle's plugin of a student's files
MOODLE_TEXT = "onlinetext"  # and of their online text
CLASSROOM_FOLDER = "-submissions"  # `gh classroom clone student-repos` clones into ASSIGNMENT-submissions
D2L_INDEX = "index.html"
RECEIPT_BYTES = 64 << 10


def moodle_id(name: str) -> str:
    match = _MOODLE.match(unicodedata.normalize("NFC", name))
    return match["id"] if match else ""


def moodle_plugin(name: str) -> str:
    """The Moodle submission plugin a downloaded name comes from (MOODLE_FILES, MOODLE_TEXT), or ""."""
    match = _MOODLE.match(unicodedata.normalize("NFC", name))
    return match["plugin"] if match else ""


@dataclass(frozen=True)
class Identity:
    """Who a submission belongs to, as the download names them."""

    display: str  # the name as the LMS wrote it, Unicode kept (NFC)
    lms: str = ""  # "canvas", "moodle", "blackboard", "d2l", "github" or "" (a plain name)
    lms_id: str = ""  # Canvas's user id, Moodle's participant id, Blackboard's or GitHub's username, D2L's user id
    late: bool = False  # the LMS itself flagged the submission late (Canvas)
    submitted: datetime | None = None  # when it was handed in, where the name says (Blackboard, D2L)

    @property
    def key(self) -> str:
        """The file name the student's results go under: the name, made safe, then the LMS id,
        so two students never share one (`José García` and `Jose Garcia` differ by their ids)."""
        base = safe_name(self.display)
        if not self.lms_id or self.lms_id == self.display:
            return base
        return f"{base}_{safe_name(self.lms_id)}"


def strip_archive(name: str) -> str:
    lowered = name.lower()
    for suffix in ARCHIVES + (".py",):
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def safe_name(text: str) -> str:
    """A safe file name: ASCII letters, digits and ._@+- for a name in Latin letters (accents
    dropped: `Zoë Ünal` is Zoe_Unal); a name in other scripts keeps its letters (`Иван_Петров`),
    so it stays readable and distinct. "unnamed" when nothing is left."""
    text = unicodedata.normalize("NFC", text)
    decomposed = unicodedata.normalize("NFKD", text)
    latin = all(ord(c) < 128 or unicodedata.combining(c) or not c.isalpha() for c in decomposed)
    if latin:
        cleaned = re.sub(r"[^A-Za-z0-9._@+-]+", "_", decomposed.encode("ascii", "ignore").decode())
    else:
        cleaned = re.sub(r"[^\w.@+-]+", "_", text)
    return cleaned.strip("._-")[:100] or "unnamed"


def _d2l_time(text: str) -> datetime | None:
    """D2L writes `Dec 1, 2026 1207 PM` (no colon: a file name cannot hold one everywhere)."""
    try:
        return datetime.strptime(text.replace("  ", " "), "%b %d, %Y %I%M %p")
    except ValueError:
        return None


def recognise(name: str, folder: bool) -> Identity:
    """The identity in a downloaded file or folder's name (`folder`: it is a folder)."""
    name = unicodedata.normalize("NFC", name)
    moodle = _MOODLE.match(name)
    if moodle:
        return Identity(moodle["name"].strip(), "moodle", moodle["id"])
    d2l = _D2L.match(name)
    if d2l and (moment := _d2l_time(d2l["time"])) is not None:
        return Identity(d2l["name"].strip(), "d2l", d2l["id"], submitted=moment)
    blackboard = None if folder else _BLACKBOARD.match(name)
    if blackboard:
        moment = datetime.strptime(blackboard["time"], "%Y-%m-%d-%H-%M-%S")
        return Identity(blackboard["id"], "blackboard", blackboard["id"], submitted=moment)
    canvas = None if folder else _CANVAS.match(name)
    if canvas:
        return Identity(canvas["name"], "canvas", canvas["id"], late=bool(canvas["late"]))
    return Identity(name if folder else strip_archive(name))


def blackboard_receipt(path: Path) -> Path | None:
    """The receipt Blackboard writes beside an attempt's file (`..._attempt_TIME.txt`), if any;
    None for the receipt itself."""
    match = _BLACKBOARD.match(unicodedata.normalize("NFC", path.name))
    if match is None or match["rest"] is None:
        return None
    return path.with_name(f"{match['assignment']}_{match['id']}_attempt_{match['time']}.txt")


def is_blackboard_receipt(name: str) -> bool:
    match = _BLACKBOARD.match(unicodedata.normalize("NFC", name))
    return match is not None and match["rest"] is None


def receipt_name(receipt: Path, attempt: str) -> tuple[str, str]:
    """The student's full name and username from a Blackboard receipt's `Name: Full Name
    (username)` line, if the attempt's name `attempt` (`Assignment_username_attempt_TIME`) holds
    that username; ("", "") if not (a receipt is the student's to word, up to its Name line).
    A username may hold underscores (`a_lee`), which the attempt's name alone cannot tell."""
    try:
        with open(receipt, "rb") as handle:
            text = handle.read(RECEIPT_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return "", ""
    match = _RECEIPT_NAME.search(text)
    if match is None or f"_{match['id']}_attempt_" not in attempt:
        return "", ""
    return match["name"], match["id"]


def _is_repository(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and (path / ".git").exists()


def classroom_prefix(folder: Path) -> str:
    """The `assignment-` every repository in a GitHub Classroom folder starts with: from the
    folder's own name (`assignment-submissions`), else the longest ending in "-" the folder's
    repositories (two or more) share; "" if it is not such a folder."""
    name = unicodedata.normalize("NFC", folder.name)
    if name.endswith(CLASSROOM_FOLDER) and len(name) > len(CLASSROOM_FOLDER):
        return name[: -len(CLASSROOM_FOLDER)] + "-"
    try:
        repositories = [unicodedata.normalize("NFC", p.name) for p in folder.iterdir() if _is_repository(p)]
    except OSError:
        return ""
    if len(repositories) < 2:
        return ""
    shared = os.path.commonprefix(repositories)
    return shared[: shared.rfind("-") + 1]


def identify(path: Path, prefixes: dict[Path, str] | None = None) -> Identity:
    """The identity of a downloaded entry, from its name and its neighbours: a Blackboard file's
    receipt, a GitHub Classroom repository's folder (`prefixes` caches each folder's prefix)."""
    identity = recognise(path.name, path.is_dir())
    if identity.lms == "blackboard":
        receipt = path if is_blackboard_receipt(path.name) else blackboard_receipt(path)
        full, username = receipt_name(receipt, receipt.name) if receipt is not None else ("", "")
        if full:
            return Identity(unicodedata.normalize("NFC", full), "blackboard", username, submitted=identity.submitted)
        return identity
    if identity.lms or not _is_repository(path):
        return identity
    cache = {} if prefixes is None else prefixes
    if path.parent not in cache:
        cache[path.parent] = classroom_prefix(path.parent)
    prefix, name = cache[path.parent], unicodedata.normalize("NFC", path.name)
    if prefix and name.startswith(prefix) and len(name) > len(prefix):
        username = name[len(prefix):]
        return Identity(username, "github", username)
    return identity


__all__ = [
    "ARCHIVES", "CLASSROOM_FOLDER", "D2L_INDEX", "MOODLE_FILES", "MOODLE_TEXT", "Identity", "blackboard_receipt",
    "classroom_prefix", "identify", "is_blackboard_receipt", "moodle_id", "moodle_plugin", "recognise", "safe_name", "strip_archive",
]
