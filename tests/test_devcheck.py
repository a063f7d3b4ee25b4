"""`persistlab dev check` finds what a course author got wrong."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console

import grader.devcheck
import grader.quiz.bank
from grader.course import Course
from grader.devcheck import layout_problems, lint_quizzes, run_dev_check
from grader.quiz.bank import load_bank


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
    third = course.steps[2].folder
    readme = exercises / third / "README.md"
    readme.write_text(readme.read_text() + "\n## Next\n\nStep 4.\n")
    problems = "\n".join(layout_problems(course, exercises, solutions))
    assert f"step 3 ({third}): README.md must end with an '## Explain it' section" in problems
    assert f"step 1 ({first}): no starter file has a TODO" in problems
    assert f"step 2 ({second}): the exercise has no README.md" in problems
    assert f"step 2 ({second}): the starter lacks extra.py" in problems
    assert "exercises/99-stray is not a step" in problems


def test_the_real_quiz_bank_is_linted_in_full(course: Course) -> None:
    quizzes = lint_quizzes(course)
    assert quizzes.problems == []
    assert quizzes.questions == len(load_bank().questions) >= 45


def test_a_bank_that_does_not_load_is_a_problem(course: Course, tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('[[questions]]\nid = "q-one\n', encoding="utf-8")
    quizzes = lint_quizzes(course, tmp_path)
    assert quizzes.questions == 0
    [problem] = quizzes.problems
    assert problem.startswith("quiz bank: not linted, it does not load: Cannot read")
    assert "broken.toml" in problem


def _dev_check_output(course: Course, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], str]:
    """run_dev_check with the slow parts (running every starter and solution) left out."""
    monkeypatch.setattr(grader.devcheck, "layout_problems", lambda course: [])
    monkeypatch.setattr(grader.devcheck, "grading_problems", lambda course: [])
    monkeypatch.setattr(grader.devcheck, "carry_problems", lambda course: [])
    out = io.StringIO()
    problems = run_dev_check(course, Console(file=out, width=200, color_system=None))
    return problems, out.getvalue()


def test_dev_check_says_how_many_questions_it_linted(
    course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    problems, output = _dev_check_output(course, monkeypatch)
    count = len(load_bank().questions)
    assert problems == []
    assert f"Quizzes: {count} questions linted against {len(course.steps)} steps." in output
    assert "The course is consistent." in output


def test_dev_check_reports_a_bank_that_does_not_load(
    course: Course, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(grader.quiz.bank, "QUIZ_DIR", tmp_path)  # an empty folder
    problems, output = _dev_check_output(course, monkeypatch)
    assert problems == [
        f"quiz bank: not linted, it does not load: No quiz files (*.toml) in {tmp_path}."
    ]
    assert "Quizzes: no question linted; the bank did not load." in output
    assert "✗ quiz bank: not linted" in output and "1 problem." in output
