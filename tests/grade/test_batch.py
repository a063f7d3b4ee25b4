"""One submission's grading in a worker: each step folder staged first, symlinks never followed."""

from __future__ import annotations

from pathlib import Path

from grader.course import Course
from grader.engine.limits import Limits
from grader.grade.batch import content_key, grade_work
from grader.grade.sources import Folder
from grader.results import StepReport
from grader.workspace import create_workspace
from tests.grade.hostile import ODD

QUICK = Limits(startup=5.0, request=1.0, stop=1.0)


def test_a_step_folder_that_links_to_the_solution_is_missing_work(tmp_path: Path, course: Course) -> None:
    workspace = tmp_path / "mallory"
    create_workspace(course, workspace)
    step = course.step(5)
    (workspace / step.folder).rename(tmp_path / "starter")
    (workspace / step.folder).symlink_to(step.solution_dir, target_is_directory=True)
    graded = grade_work("mallory", Folder(workspace), [step], Limits(), budget=60)
    [report] = graded.reports
    assert (report.status, report.score) == ("fail", 0)
    assert f"no folder {step.folder}" in report.message
    assert (workspace / step.folder).is_symlink()  # the submission is never changed


def test_a_starter_handed_back_unchanged_earns_nothing(tmp_path: Path, course: Course) -> None:
    """Steps 2, 5 and 8's starters already pass a check each; untouched, they score zero."""
    workspace = tmp_path / "sam"
    create_workspace(course, workspace)
    steps = [course.step(n) for n in (2, 5, 8)]
    graded = grade_work("sam", Folder(workspace), steps, Limits(), budget=60)
    for step, report in zip(steps, graded.reports):
        assert (report.status, report.score) == ("fail", 0)
        assert f"{step.folder} is the starter as handed out, unchanged" in report.message
    (workspace / steps[0].folder / "main.py").write_text(
        (workspace / steps[0].folder / "main.py").read_text() + "\n# started\n")
    [begun] = grade_work("sam", Folder(workspace), steps[:1], Limits(), budget=60).reports
    assert begun.score == 1 and not begun.message.startswith(steps[0].folder)  # graded as it is


def test_a_step_handed_back_as_it_opened_from_the_students_own_code_earns_nothing(
    tmp_path: Path, course: Course
) -> None:
    """Step 5 opened from the student's own step 4 already passes a check; untouched, it scores zero."""
    from grader.carry import open_step

    workspace = tmp_path / "kim"
    create_workspace(course, workspace, every_step=False)
    four, five = course.step(4), course.step(5)
    (workspace / four.folder).mkdir()
    solution = (four.solution_dir / "main.py").read_text()
    (workspace / four.folder / "main.py").write_text("# Kim's notes API\n" + solution)
    opened = open_step(course, workspace, five)
    assert opened.carried and "# Kim's notes API" in (opened.folder / "main.py").read_text()
    graded = grade_work("kim", Folder(workspace), [four, five], Limits(), budget=60)
    assert graded.reports[0].score == four.points
    assert (graded.reports[1].status, graded.reports[1].score) == ("fail", 0)
    assert "05-database-swap is your step-4 code with step 5's TODOs, as it opened, unchanged" in graded.reports[1].message
    (opened.folder / "main.py").write_text((opened.folder / "main.py").read_text() + "# started\n")
    [begun] = grade_work("kim", Folder(workspace), [four, five], Limits(), budget=60).reports[1:]
    assert begun.score > 0, "graded as it is once work has begun"


def test_only_settled_verdicts_are_reused(tmp_path: Path, course: Course) -> None:
    """The student's own "not within this folder" is a crash, reused for the same files; a real
    hang may depend on load, and is graded again."""
    step = course.step(3)
    seen: dict[str, StepReport] = {}
    for odd in ("not-within", "time-words", "hangs"):
        [hostile] = [h for h in ODD if h.name == odd]
        folder = tmp_path / odd / step.folder
        folder.mkdir(parents=True)
        (folder / "main.py").write_text(hostile.main_py(), encoding="utf-8")
        [report] = grade_work(odd, Folder(tmp_path / odd), [step], QUICK, 60, seen).reports
        assert report.outcome == hostile.outcome
        assert (content_key(step, folder) in seen) == (odd != "hangs"), odd
