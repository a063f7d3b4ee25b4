"""The similarity report: a copy with renamed variables is flagged; sharing the starter is not."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import lxml.html
from click.testing import CliRunner

from grader.cli import cli
from grader.course import Course
from grader.grade.similarity import CSV_HEADER, marked_html
from grader.workspace import create_workspace
from tests.grade.classroom import solve

RENAMES = [("note_id", "nid"), ("notes", "items"), ("note", "item"), ("body", "payload"), ("db", "session"),
           ("find_note", "lookup"), ("field", "key"), ("value", "val")]
HOSTILE = "# </pre><script>alert(1)</script>\n"


def step7_class(root: Path, course: Course) -> Path:
    """ann solved step 7; bo copied ann's and renamed its variables; cy and dee handed back the
    starter (dee with one comment added); eve wrote step 7 her own way."""
    folder = course.step(7).folder
    for name in ("ann", "bo", "cy", "dee", "eve"):
        create_workspace(course, root / name)
    solve(root / "ann", course, 7)
    solve(root / "bo", course, 7)
    main = root / "bo" / folder / "main.py"
    text = main.read_text(encoding="utf-8")
    for old, new in RENAMES:
        text = re.sub(rf"\b{old}\b", new, text)
    main.write_text(HOSTILE + text, encoding="utf-8")
    dee = root / "dee" / folder / "main.py"
    dee.write_text("# I did not get to this step\n" + dee.read_text(encoding="utf-8"), encoding="utf-8")
    eve = root / "eve" / folder / "main.py"
    setup = eve.read_text(encoding="utf-8").split("# TODO 2: find_note")[0]
    eve.write_text(setup + (Path(__file__).parent / "honest_step7_routes.txt").read_text(encoding="utf-8"), encoding="utf-8")
    return root


def test_a_renamed_copy_is_flagged_and_the_starter_is_not(tmp_path: Path, course: Course) -> None:
    out = tmp_path / "grades"
    result = CliRunner().invoke(cli, ["similarity", str(step7_class(tmp_path / "class", course)), "--out", str(out),
                                      "--steps", "6-7"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with open(out / "similarity.csv", encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert tuple(table[0]) == CSV_HEADER
    flagged = [(r["step"], r["student_a"], r["student_b"]) for r in table if r["flagged"] == "yes"]
    assert flagged == [("7", "ann", "bo")], table
    assert float(table[0]["similarity_a"]) > 0.95 and float(table[0]["similarity_b"]) > 0.95
    pairs = {(r["student_a"], r["student_b"]) for r in table}
    assert not {p for p in pairs if {"cy", "dee"} & set(p)}  # the starter alone shares nothing
    assert "step 7: ann and bo" in result.output
    page = (out / "similarity.html").read_text(encoding="utf-8")
    tree = lxml.html.fromstring(page)
    assert not tree.xpath("//script") and "&lt;/pre&gt;&lt;script&gt;" in page  # the student's text stays text
    [section] = [s for s in tree.xpath("//section") if "ann and bo" in s.text_content()]
    assert len(section.xpath(".//pre")) == 2 and len(section.xpath(".//mark")) >= 2


def test_marked_regions_are_escaped_and_do_not_overlap() -> None:
    assert marked_html("a<b>c&d", [(1, 4), (2, 5)]) == "a<mark>&lt;b&gt;</mark><mark>c</mark>&amp;d"
