"""What an LMS's bulk download names tell us: the student, the LMS's own id, a late flag.

Canvas names each file `lastfirst_userid_submissionid_original.ext` (`lastfirst_LATE_...` when
late); Moodle's "download submissions in folders" makes a folder per student,
`Full Name_participantid_assignsubmission_file_` (`..._onlinetext_`), and its flat variant puts
the original file name after that. Anything else is named by itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar")

_CANVAS = re.compile(r"^(?P<name>[^_]+?)(?P<late>_LATE)?_(?P<id>\d+)_(?P<submission>\d+)_(?P<rest>.+)$")
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?:file|onlinetext)_(?P<rest>.*)$")
MOODLE_FILES = "_assignsubmission_file_"  # Moodle's folder of a student's files ends so
MOODLE_TEXT = "_assignsubmission_onlinetext_"  # and the folder of their online text


def moodle_id(name: str) -> str:
    match = _MOODLE.match(unicodedata.normalize("NFC", name))
    return match["id"] if match else ""


@dataclass(frozen=True)
class Identity:
    """Who a submission belongs to, as the download names them."""

    display: str  # the name as the LMS wrote it, Unicode kept (NFC)
    lms: str = ""  # "canvas", "moodle" or "" (a plain folder or file name)
    lms_id: str = ""  # Canvas's user id, Moodle's participant id
    late: bool = False

    @property
    def key(self) -> str:
        """The file name the student's results go under: the name, made safe, then the LMS id,
        so two students never share one (`José García` and `Jose Garcia` differ by their ids)."""
        base = safe_name(self.display)
        return f"{base}_{self.lms_id}" if self.lms_id else base


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


def recognise(name: str, folder: bool) -> Identity:
    """The identity in a downloaded file or folder's name (`folder`: it is a folder)."""
    name = unicodedata.normalize("NFC", name)
    moodle = _MOODLE.match(name)
    if moodle:
        return Identity(moodle["name"].strip(), "moodle", moodle["id"])
    canvas = None if folder else _CANVAS.match(name)
    if canvas:
        return Identity(canvas["name"], "canvas", canvas["id"], late=bool(canvas["late"]))
    return Identity(name if folder else strip_archive(name))





__all__ = [
    "ARCHIVES", "MOODLE_FILES", "MOODLE_TEXT", "Identity", "moodle_id", "recognise", "safe_name", "strip_archive",
]
