"""One submission's grading in a worker: each step folder staged first, symlinks never followed."""

from __future__ import annotations

from pathlib import Path

from grader.course import Course
from grader.grade.batch import grade_work
from grader.grade.sources import Folder
from grader.runner import Limits
from grader.workspace import create_workspace


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
