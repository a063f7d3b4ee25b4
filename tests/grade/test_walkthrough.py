"""The README's walk-through, run as written: its commands, on a Canvas download, end in the
files Canvas imports."""

from __future__ import annotations

import csv
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import cli
from grader.course import ROOT, Course
from grader.grade.exports import CANVAS_HEADER
from tests.grade.lms_downloads import canvas_flat, canvas_roster, download_zip
from tests.grade.test_command import SAFETY

QUICK = ["--steps", "1", "--timeout", "2", *SAFETY]  # the README grades every step; one is enough here


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("**Walk-through")
    return readme[start:readme.index("\n**", start + 10)]


def commands() -> list[list[str]]:
    """The walk-through's persistlab commands, in order, as a shell would split them."""
    text = walkthrough()
    block = re.search(r"```sh\n(.*?)```", text, re.DOTALL)
    assert block is not None
    found = [" ".join(block[1].replace("\\\n", " ").split())]
    found += [" ".join(c.split()) for c in re.findall(r"`(persistlab (?:similarity|grade) [^`]+)`", text)]
    return [shlex.split(c)[1:] for c in found]


def test_the_walkthrough_runs_from_the_download_to_canvas_csv(
    tmp_path: Path, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    download_zip(canvas_flat(tmp_path / "download", course), tmp_path / "submissions.zip")
    canvas_roster(tmp_path / "gradebook.csv")
    (tmp_path / "adjustments.csv").write_text("student,points,reason\n2005,-2,README copied\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    ran = []
    for args in commands():
        extra = QUICK if args[0] == "grade" else []
        result = CliRunner().invoke(cli, [*args, *extra], catch_exceptions=False)
        ran.append((args[0], "--only" in args, result.exit_code))
        assert result.exit_code in (0, 1), result.output
    assert ran == [("grade", False, 1), ("similarity", False, 0), ("grade", True, 0)]
    with open(tmp_path / "grades" / "canvas.csv", encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == [*CANVAS_HEADER, "persistlab (4821)"]
    assert {row[1]: row[5] for row in table[2:]}["2001"] == "16"
    assert (tmp_path / "grades" / "similarity.html").is_file()
