"""The class files: gradebook.csv replaced whole, and a summary that reads right for one student."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.course import Course
from grader.grade.batch import Graded, missing_report
from grader.grade.gradebook import summarise_class
from grader.grade.outputs import prepare, write_class
from grader.results import FAIL, StepReport, error_report


def graded(name: str, course: Course) -> Graded:
    return Graded(name=name, reports=[missing_report(course.step(1))])


def test_one_submission_is_singular(course: Course) -> None:
    assert summarise_class([graded("ann", course)]).lines()[0] == "1 submission graded."
    assert summarise_class([graded("ann", course), graded("bo", course)]).lines()[0] == "2 submissions graded."


def test_the_summary_names_who_hit_a_time_limit_or_could_not_be_graded(course: Course) -> None:
    slow = [Graded(name=f"s{i:02d}", reports=[
        StepReport(step=1, status=FAIL, max_score=4, message="POST /add_note got no answer within 2 s.")])
        for i in range(10)]
    broken = Graded(name="cy", reports=[error_report(1, 4, "The grader failed.")])
    last = summarise_class([*slow, broken, graded("ann", course)]).lines()[-1]
    assert last == ("  10 (s00, s01, s02, s03, s04, s05, s06, s07, and 2 more) hit a time limit; "
                    "1 (cy) had a step that could not be graded.")


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
