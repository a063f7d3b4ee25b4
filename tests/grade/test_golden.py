"""Golden files: results/NAME.json, feedback/NAME.md, junit.xml and gradebook.csv for a fixed
class (a pass, a failure with a hint, hidden checks, a late penalty, code Python cannot read, a
grader fault, a refused submission), byte for byte. A format change shows up as a diff here;
PERSISTLAB_REGOLD=1 writes the files anew, to be read before they are committed."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from junitparser import Error, Failure, JUnitXml
from lxml import etree

from grader.course import COURSE_FILE, Course, parse_course
from grader.grade.adjustments import Adjustment
from grader.grade.batch import Graded
from grader.grade.outputs import prepare, write_class, write_student
from grader.results import (
    GRADER_ERROR,
    PASSED,
    REFUSED,
    SYNTAX_ERROR,
    TestResult,
    error_report,
    summarise,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

GOLDEN = Path(__file__).with_name("golden")
NOW = datetime(2026, 12, 1, 12, 0)
STEPS = (1, 3)
GRADESCOPE = Draft202012Validator(json.loads(Path(__file__).with_name("gradescope-results.schema.json").read_text()))
JUNIT = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("junit-10.xsd"))))


def hidden_course(course: Course) -> Course:
    """The course, with one check of step 3 hidden and one hidden until a date after NOW."""
    data = tomllib.loads(COURSE_FILE.read_text(encoding="utf-8"))
    data["steps"][2]["visibility"] = {"test_ids_count_up": "hidden", "test_rejects_a_body_without_text": "2026-12-15"}
    return parse_course(data, root=course.root)


def check(name: str, function: str, points: float, outcome: str = PASSED, message: str = "", hint: str = "") -> TestResult:
    test = TestResult(name=name, status="pass", max_score=points, check=function)
    test.record(outcome, message, hint)
    return test


def fixed_class() -> list[Graded]:
    step1 = [check("notes_db is an empty dict", "test_notes_db_is_empty_dict", 2),
             check("next_id starts at 1", "test_next_id_starts_at_one", 2)]
    step3 = [check("the first note gets id 1", "test_first_note_gets_id_one", 3),
             check("ids count up", "test_ids_count_up", 3),
             check("a body without text is refused", "test_rejects_a_body_without_text", 2, "failed",
                   "POST /add_note with {} answered 200, not 422.", "Use a Pydantic model <NoteIn> as the body.")]
    ann = Graded("ann", [summarise(1, 4, step1), summarise(3, 8, step3)], seconds=1.25)
    unreadable = [check("notes_db is an empty dict", "test_notes_db_is_empty_dict", 2, SYNTAX_ERROR,
                        "Python cannot read main.py line 4: SyntaxError: invalid syntax.", "Look at that line."),
                  check("next_id starts at 1", "test_next_id_starts_at_one", 2, SYNTAX_ERROR,
                        "Python cannot read main.py line 4: SyntaxError: invalid syntax.", "Look at that line.")]
    bo = Graded("bo", [summarise(1, 4, unreadable),
                       error_report(3, 8, "The grader failed on this submission (OSError: disk full).", GRADER_ERROR)],
                seconds=0.5)
    why = "The submission is empty: it holds no Python file."
    cy = Graded("cy", [error_report(n, p, why, REFUSED) for n, p in ((1, 4), (3, 8))], problem=why)
    return [ann, bo, cy]


def write_fixed_class(out: Path, course: Course) -> None:
    prepare(out)
    late = Adjustment(-0.1, "late: the LMS marked this submission late (-10%)", fraction=True)
    changes = {"ann": [late, Adjustment(1.0, "regraded by hand: the README explains the 422")]}
    who = {"ann": {"lms_id": "2001", "late": "yes", "submitted": ""}, "bo": {"lms_id": "2002"}}
    grades = fixed_class()
    for graded in grades:
        write_student(out, graded, course, changes.get(graded.name),
                      {"lms_id": who.get(graded.name, {}).get("lms_id", ""), "submission_sha256": "0" * 64}, now=NOW)
    write_class(out, grades, course, STEPS, replace_all=True, who=who)


def produced(out: Path) -> dict[str, str]:
    files = [*sorted(out.glob("results/*.json")), *sorted(out.glob("feedback/*.md")), out / "junit.xml",
             out / "gradebook.csv"]
    text = {path.relative_to(out).as_posix(): path.read_text(encoding="utf-8") for path in files}
    text["gradebook.csv"] = "\n".join(line.rsplit(",", 1)[0] for line in text["gradebook.csv"].splitlines()) + "\n"
    return text  # the gradebook's last column, seconds, is the grader's own timing


def test_outputs_match_the_golden_files(tmp_path: Path, course: Course) -> None:
    write_fixed_class(tmp_path, hidden_course(course))
    files = produced(tmp_path)
    if os.environ.get("PERSISTLAB_REGOLD"):
        for name, text in files.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_text(text, encoding="utf-8")
    golden = {path.relative_to(GOLDEN).as_posix(): path.read_text(encoding="utf-8")
              for path in GOLDEN.rglob("*") if path.is_file()}
    assert files == golden


def test_the_golden_results_are_gradescopes_format(course: Course) -> None:
    for path in sorted((GOLDEN / "results").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        GRADESCOPE.validate(data)
    ann = json.loads((GOLDEN / "results" / "ann.json").read_text(encoding="utf-8"))
    shown = {t["name"]: t["visibility"] for t in ann["tests"]}
    assert shown == {"Step 1: notes_db is an empty dict": "visible", "Step 1: next_id starts at 1": "visible",
                     "Step 3: the first note gets id 1": "visible", "Step 3: ids count up": "hidden",
                     "Step 3: a body without text is refused": "after_due_date"}
    assert ann["score"] == 9.8 and [a["points"] for a in ann["extra_data"]["adjustments"]] == [-1.2, 1.0]
    feedback = (GOLDEN / "feedback" / "ann.md").read_text(encoding="utf-8")
    assert "ids count up" not in feedback and "without text" not in feedback and "hidden checks: 1 of 2" in feedback
    assert "late: the LMS marked this submission late" in feedback


def test_the_golden_junit_is_read_by_junitparser_and_the_schema() -> None:
    JUNIT.assertValid(etree.parse(str(GOLDEN / "junit.xml")))
    suites = {suite.name: suite for suite in JUnitXml.fromfile(str(GOLDEN / "junit.xml"))}
    assert set(suites) == {"ann", "bo", "cy"}
    kinds = {name: [type(r).__name__ for case in suite for r in case.result] for name, suite in suites.items()}
    assert kinds["ann"] == ["Failure"]
    assert kinds["bo"] == ["Failure", "Failure", "Error"]  # code that cannot be read is the student's; a crash is ours
    assert kinds["cy"] == ["Failure", "Failure"]  # an empty submission is the student's, not a grader error
    assert next(r for case in suites["bo"] for r in case.result if isinstance(r, Error)).type == GRADER_ERROR
    properties = {p.name: p.value for p in suites["ann"].properties()}
    assert (properties["score"], properties["max_score"], properties["points 3.3"]) == ("9.8", "12", "0/2")
    assert not any(isinstance(r, Failure) and r.type == GRADER_ERROR for s in suites.values() for c in s for r in c.result)


@pytest.mark.parametrize("visibility", [{"test_x": "sometimes"}, ["test_x"]])
def test_a_wrong_visibility_in_course_toml_is_refused(visibility: object) -> None:
    from grader.course import CourseError

    data = tomllib.loads(COURSE_FILE.read_text(encoding="utf-8"))
    data["steps"][0]["visibility"] = visibility
    with pytest.raises(CourseError, match="visibility"):
        parse_course(data)
