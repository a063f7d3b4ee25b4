"""The class files: gradebook, results, feedback and junit, from outcomes that are data, and safe
for whoever reads them, whatever the student's code printed, raised or was named."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]
from rich.console import Console

from grader.course import Course
from grader.engine.limits import Limits
from grader.grade.batch import Graded, Options, cut_off, missing_report
from grader.grade.command import Request, grade
from grader.grade.gradebook import FORMULA_STARTS, read_gradebook, row, summarise_class
from grader.grade.junit import junit_xml
from grader.grade.outputs import prepare, write_class, write_student
from grader.grade.results_json import results_json
from grader.results import (
    CRASHED,
    GRADER_ERROR,
    PASSED,
    SANDBOX_ERROR,
    SKIPPED,
    TIMEOUT,
    TestResult,
    error_report,
    summarise,
)
from tests.grade.hostile import ODD, Hostile, write_odd_class

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("junit-10.xsd"))))
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def graded(name: str, course: Course) -> Graded:
    return Graded(name=name, reports=[missing_report(course.step(1))])


def valid_junit(text: str) -> etree._Element:
    """junit.xml read by libxml2, strictly, and checked against the JUnit schema."""
    root = etree.fromstring(text.encode("utf-8"), etree.XMLParser(recover=False))
    SCHEMA.assertValid(root)
    return root


@pytest.fixture(scope="module")
def odd_class(tmp_path_factory: pytest.TempPathFactory, course: Course) -> dict[str, Any]:
    """The ODD submissions graded as a class, with every output written."""
    root = tmp_path_factory.mktemp("odd")
    write_odd_class(root / "class")
    out = root / "out"
    grades, summary = grade(
        Request(inputs=(root / "class",), out=out, jobs=2, steps=(3,), timeout=1.5,
                submission_timeout=60, unsafe=True),
        course, Console(file=io.StringIO()),
    )
    return {"grades": {g.name: g for g in grades}, "summary": summary, "out": out}


def strings(value: object) -> list[str]:
    """Every string in a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [key, *strings(item)]]
    return [s for item in value for s in strings(item)] if isinstance(value, list) else []


def results_of(odd_class: dict[str, Any], name: str) -> dict[str, Any]:
    return json.loads((odd_class["out"] / "results" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("odd", ODD, ids=lambda odd: odd.name)
def test_each_odd_submission_gets_its_outcome(odd_class: dict[str, Any], odd: Hostile) -> None:
    [report] = odd_class["grades"][odd.name].reports
    tests = results_of(odd_class, odd.name)["tests"]
    if odd.outcome == PASSED:
        assert report.status == "pass" and all(t["extra_data"]["outcome"] == PASSED for t in tests)
        return
    first = report.first_failure
    assert first is not None and (first.outcome, report.outcome) == (odd.outcome, odd.outcome)
    assert all(word in first.message for word in odd.says), first.message
    assert next(t for t in tests if t["status"] == "failed")["extra_data"]["outcome"] == odd.outcome


def test_only_a_real_hang_counts_as_a_time_limit(odd_class: dict[str, Any]) -> None:
    """The student's own "not within", "timed out", "no answer", "time limit" are not ours."""
    assert odd_class["summary"].timeouts == ["hangs"]
    timed = {n for n in odd_class["grades"] if results_of(odd_class, n)["extra_data"]["timed_out"]}
    assert timed == {"hangs"}


def test_a_signal_death_names_the_signal(odd_class: dict[str, Any]) -> None:
    for name, signal in (("segfault", "SIGSEGV"), ("abort", "killed by SIG"), ("segfault-in-handler", "SIGSEGV")):
        first = odd_class["grades"][name].reports[0].first_failure
        assert first is not None and signal in first.message
        assert "sys.exit" not in first.message + first.hint and "exit status" not in first.message


def test_junit_is_valid_xml_under_the_junit_schema(odd_class: dict[str, Any]) -> None:
    text = (odd_class["out"] / "junit.xml").read_text(encoding="utf-8")
    root = valid_junit(text)
    assert len(root.findall("testsuite")) == len(ODD)
    [suite] = root.findall("testsuite[@name='control-characters']")
    assert "\\x07" in suite.find("testcase/failure").text  # shown, not dropped
    assert root.find("testsuite[@name='hangs']/testcase/failure").get("type") == TIMEOUT


def test_student_text_reaches_every_file_as_text(odd_class: dict[str, Any]) -> None:
    """No control character in any file; no Markdown or HTML of the student's in feedback.md."""
    out: Path = odd_class["out"]
    for path in [*out.glob("feedback/*.md"), *out.glob("results/*.json"), out / "junit.xml"]:
        assert not CONTROL.search(path.read_text(encoding="utf-8")), path.name
    for odd in ODD:  # nor in what the JSON decodes to
        assert not [s for s in strings(results_of(odd_class, odd.name)) if CONTROL.search(s)], odd.name
    markup = (out / "feedback" / "markup.md").read_text(encoding="utf-8")
    for raw in ("<script", "<img", "<!--", "**bold**", "[click](", "`code`"):
        assert raw not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup and r"\*\*bold\*\*" in markup


def test_a_huge_message_is_capped_everywhere(odd_class: dict[str, Any]) -> None:
    out: Path = odd_class["out"]
    assert (out / "feedback" / "huge-message.md").stat().st_size < 16_000
    assert (out / "results" / "huge-message.json").stat().st_size < 32_000
    assert (out / "junit.xml").stat().st_size < 200_000
    cut = re.search(r"(\d+) characters cut", (out / "feedback" / "huge-message.md").read_text())
    assert cut is not None and int(cut.group(1)) > 1_000_000  # said once, and truly


def test_gradebook_cells_cannot_run_as_formulas(odd_class: dict[str, Any], course: Course) -> None:
    out: Path = odd_class["out"]
    cells = [c for r in csv.reader(io.StringIO((out / "gradebook.csv").read_text())) for c in r]
    assert "'+1+1" in cells and "'@SUM" in cells
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    rows = read_gradebook(out / "gradebook.csv")
    assert {"+1+1", "@SUM"} <= set(rows) and rows["+1+1"]["total"] == "8"
    before = (out / "gradebook.csv").read_text()
    write_class(out, [], course, (3,), replace_all=False)  # as a regrade of someone else does
    assert (out / "gradebook.csv").read_text() == before


def check(name: str, outcome: str, points: float = 2, message: str = "") -> TestResult:
    result = TestResult(name=name, status="error", max_score=points)
    result.record(outcome, message or f"{name} went {outcome}")
    return result


def test_junit_gives_grader_faults_as_errors_and_skips_as_skipped(tmp_path: Path, course: Course) -> None:
    failing = [check("fine", PASSED), check("wrong", "failed"), check("slow", TIMEOUT)]
    skips = [check(f"pg{n}", SKIPPED, message="skipped: no PostgreSQL server") for n in range(8)]
    grades = [
        Graded(name="ann", reports=[summarise(3, 6, failing)]),
        Graded(name="bo", reports=[error_report(1, 4, "The grader failed (KeyError: 'x').")]),
        Graded(name="cy", reports=[summarise(10, 16, skips)]),
        Graded(name="dee", reports=[summarise(3, 4, [check("fine", PASSED), check("jail", SANDBOX_ERROR)])]),
    ]
    prepare(tmp_path)
    for one in grades:
        write_student(tmp_path, one, course)
    write_class(tmp_path, grades, course, (1, 3, 10), replace_all=True)
    root = valid_junit((tmp_path / "junit.xml").read_text(encoding="utf-8"))

    def suite(name: str) -> tuple[list[str], dict[str, str]]:
        [found] = root.findall(f"testsuite[@name='{name}']")
        return [child.tag for case in found.findall("testcase") for child in case], dict(found.attrib)

    tags, ann = suite("ann")
    assert tags == ["failure", "failure"] and (ann["errors"], ann["failures"]) == ("0", "2")
    assert suite("bo")[0] == ["error"]
    assert suite("cy")[0] == ["skipped"] * 8 and suite("cy")[1]["skipped"] == "8"
    tags, dee = suite("dee")  # a check that passed earns nothing in a step the grader failed
    assert tags == ["error", "error"] and (dee["errors"], dee["failures"]) == ("2", "0")


def test_junit_from_results_written_before_outcomes_still_validates() -> None:
    old = {"ann": {"execution_time": 1.5, "tests": [
        {"name": "Step 1: x", "status": "failed", "output": "bad\x07 \x00 news"},
        {"name": "Step 1: y", "status": "passed", "output": ""}]}}
    root = valid_junit(junit_xml(old))
    assert root.find("testsuite/testcase/failure").get("message") == "bad\\x07 \\x00 news"


def test_one_submission_is_singular(course: Course) -> None:
    assert summarise_class([graded("ann", course)]).lines()[0] == "1 submission graded."
    assert summarise_class([graded("ann", course), graded("bo", course)]).lines()[0] == "2 submissions graded."


def test_the_summary_reads_outcomes_not_wording(course: Course) -> None:
    slow = [Graded(name=f"s{i:02d}", reports=[summarise(3, 2, [check("first", TIMEOUT)])])
            for i in range(10)]
    worded = Graded(name="dee", reports=[summarise(3, 2, [check(
        "first", CRASHED, message="main.py raised RuntimeError: no answer within the time limit, timed out")])])
    broken = Graded(name="cy", reports=[error_report(1, 4, "The grader failed.")])
    last = summarise_class([*slow, worded, broken, graded("ann", course)]).lines()[-1]
    assert last == ("  10 (s00, s01, s02, s03, s04, s05, s06, s07, and 2 more) hit a time limit; "
                    "1 (cy) had a step that could not be graded.")


def test_a_submission_cut_off_at_the_hard_limit_hit_a_time_limit(course: Course) -> None:
    cut = cut_off("ann", course, Options(steps=(3, 4), limits=Limits()))
    assert cut.timed_out and [r.outcome for r in cut.reports] == [TIMEOUT, TIMEOUT]
    assert summarise_class([cut]).timeouts == ["ann"] and not cut.reports[0].settled
    assert not error_report(3, 8, "boom").settled and error_report(3, 8, "x").outcome == GRADER_ERROR


def test_a_write_that_fails_leaves_the_old_gradebook_whole(
    tmp_path: Path, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(tmp_path)
    write_class(tmp_path, [graded("ann", course)], course, (1,), replace_all=True)
    before = (tmp_path / "gradebook.csv").read_text()
    real = Path.write_text

    def half_then_full_disk(self: Path, text: str, *args, **kwargs) -> int:  # type: ignore[no-untyped-def]
        real(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_full_disk)
    with pytest.raises(OSError):
        write_class(tmp_path, [graded("bo", course)], course, (1,), replace_all=False)
    monkeypatch.undo()
    assert (tmp_path / "gradebook.csv").read_text() == before


def test_results_carry_each_outcome_in_extra_data(course: Course) -> None:
    one = Graded(name="ann", reports=[summarise(3, 4, [check("fine", PASSED), check("slow", TIMEOUT)])])
    data = results_json(one, course)
    assert [t["extra_data"]["outcome"] for t in data["tests"]] == [PASSED, TIMEOUT]
    assert data["extra_data"] == {"status": "fail", "timed_out": True}
    assert row(one)["status"] == "fail"
