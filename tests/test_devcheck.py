"""`persistlab dev check` finds what a course author got wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.course import Course
from grader.devcheck import layout_problems


def _copy_course(course: Course, tmp_path: Path) -> tuple[Path, Path]:
    exercises, solutions = tmp_path / "exercises", tmp_path / "solutions"
    for step in course.steps:
        shutil.copytree(step.exercise_dir, exercises / step.folder)
        shutil.copytree(step.solution_dir, solutions / step.folder)
    return exercises, solutions


def test_the_real_layout_is_clean(course: Course, tmp_path: Path) -> None:
    assert layout_problems(course, *_copy_course(course, tmp_path)) == []


def test_layout_problems_are_named(course: Course, tmp_path: Path) -> None:
    exercises, solutions = _copy_course(course, tmp_path)
    first, second = course.steps[0].folder, course.steps[1].folder
    (exercises / first / "main.py").write_text("notes_db = {}\n")
    (exercises / second / "README.md").unlink()
    (solutions / second / "extra.py").write_text("x = 1\n")
    (exercises / "99-stray").mkdir()
    problems = "\n".join(layout_problems(course, exercises, solutions))
    assert f"step 1 ({first}): no starter file has a TODO" in problems
    assert f"step 2 ({second}): the exercise has no README.md" in problems
    assert f"step 2 ({second}): the starter lacks extra.py" in problems
    assert "exercises/99-stray is not a step" in problems
