"""Steps 1 and 2 are judged from outside: main.py's syntax tree, read in the grader, and the app
served over HTTP. Nothing the student's process says about itself gives a point."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.check import run_checks
from grader.course import Course
from grader.results import PASS
from tests.checks.test_variants import QUICK
from tests.checks.variants import FORGERS, Variant

FAIR_STEP_1 = {
    "dict-call": "notes_db = dict()\nnext_id = 1\n",
    "annotated": "notes_db: dict[int, str] = {}\nnext_id: int = 1\n",
    "printed": "notes_db = {}\nnext_id = 1\nprint(notes_db, len(notes_db), next_id)\n",
    "main-guard": "notes_db = {}\nnext_id = 1\n\nif __name__ == '__main__':\n    notes_db[1] = 'try'\n",
    "function-changes-later": (
        "notes_db = {}\nnext_id = 1\n\n\ndef add(text):\n    global next_id\n"
        "    notes_db[next_id] = text\n    next_id += 1\n"
    ),
    "declared-then-made": "notes_db: dict[int, str]\nnotes_db = {}\nnext_id: int\nnext_id = 1\n",
    "one-line": "notes_db, next_id = {}, 1\n",
    "bom-and-coding-line": "\ufeff# -*- coding: utf-8 -*-\nnotes_db = {}  # é\nnext_id = 1\n",
}


@pytest.mark.parametrize("source", FAIR_STEP_1.values(), ids=FAIR_STEP_1.keys())
def test_fair_ways_to_write_step_1_pass(source: str, course: Course, tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(source, encoding="utf-8")
    report = run_checks(course.step(1), tmp_path, QUICK)
    assert report.status == PASS, report.first_failure


@pytest.mark.parametrize("base", ["02-fastapi-app", "03-add-note", "04-list-notes"])
def test_a_fastapi_app_with_or_without_routes_passes_step_2(
    base: str, course: Course, tmp_path: Path
) -> None:
    edits = [("from fastapi import FastAPI", "import fastapi\nfrom fastapi import FastAPI"),
             ("app = FastAPI()", "app = fastapi.FastAPI(title='Notes')")]
    folder = Variant("later", 2, base, {"main.py": edits}).write(tmp_path / "s")
    report = run_checks(course.step(2), folder, QUICK)
    assert report.status == PASS, report.first_failure


@pytest.mark.parametrize("forger", FORGERS, ids=[v.name for v in FORGERS])
def test_a_submission_that_forges_its_facts_gets_nothing(
    forger: Variant, course: Course, tmp_path: Path
) -> None:
    report = run_checks(course.step(forger.step), forger.write(tmp_path / "s"), QUICK)
    assert report.score == 0, [(t.name, t.status, t.message) for t in report.tests]


def test_main_py_is_read_before_it_runs(course: Course, tmp_path: Path) -> None:
    """A main.py that rewrites itself when imported is judged as it was handed in."""
    rewrite = (
        "from pathlib import Path\n"
        "Path(__file__).write_text('notes_db = {}\\nnext_id = 1\\n')\n"
        "notes_db = []\nnext_id = 1\n"
    )
    (tmp_path / "main.py").write_text(rewrite)
    report = run_checks(course.step(1), tmp_path, QUICK)
    assert [t.status for t in report.tests] == ["fail", PASS], report.tests
