"""`persistlab dev check` finds what a course author got wrong."""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from rich.console import Console

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import grader.devcheck
import grader.quiz.bank
import grader.quiz.proofs
from grader.course import COURSE_FILE, Course, parse_course
from grader.devcheck import (
    layout_problems,
    lint_quizzes,
    naming_problems,
    run_dev_check,
    task_problems,
)
from grader.quiz.bank import Question, load_bank
from grader.quiz.proofs import SKIP, ProofResult, judge, proof_cases


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


def test_checks_and_the_readme_agree_on_the_tasks(course: Course) -> None:
    """A check's task names a numbered task of the README's Tasks, and each task has a check."""
    readme = course.steps[2].exercise_dir.joinpath("README.md").read_text(encoding="utf-8")
    assert task_problems("step 3", readme, {1, 2, 3}) == []
    assert task_problems("step 3", readme, {1, 3, 7}) == [
        "step 3: a check tests task 7, which README.md's Tasks do not list.",
        "step 3: README.md's task 2 has no check.",
    ]
    later = readme.replace("\n## Tasks\n", "\n## Tasks\n\n5. **Also this.**\n", 1)
    assert task_problems("step 3", later, {1, 2, 3}) == ["step 3: README.md's task 5 has no check."]


def test_every_check_has_a_name_of_its_own() -> None:
    """The docstring's first line is what a student reads: none missing, none twice in a step."""
    assert naming_problems("step 3", ["ids count up", "bad bodies get 422"]) == []
    assert naming_problems("step 3", ["ids count up", "test_bad_input", "ids count up"]) == [
        "step 3: test_bad_input has no docstring; its first line is what students read.",
        "step 3: 2 checks are named 'ids count up'; each needs a name of its own.",
    ]


def test_a_visibility_for_no_check_is_named(course: Course, tmp_path: Path) -> None:
    """A misspelt check in course.toml's visibility would leave the real one visible: named."""
    data = tomllib.loads(COURSE_FILE.read_text(encoding="utf-8"))
    data["steps"][2]["visibility"] = {"test_ids_count_up": "hidden", "test_ids_cuont_up": "hidden"}
    problems = layout_problems(parse_course(data, root=course.root), *_copy_course(course, tmp_path))
    assert problems == [(f"step 3 ({course.steps[2].folder}): course.toml sets the visibility of "
                        "test_ids_cuont_up, which is no check of this step.")]


def test_the_real_quiz_bank_is_linted_in_full(course: Course) -> None:
    quizzes = lint_quizzes(course, proofs=False)  # tests/quiz/test_proofs.py runs them
    assert quizzes.problems == []
    assert quizzes.questions == len(load_bank().questions) >= 45


def test_a_bank_that_does_not_load_is_a_problem(course: Course, tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('[[questions]]\nid = "q-one\n', encoding="utf-8")
    quizzes = lint_quizzes(course, tmp_path)
    assert quizzes.questions == 0
    [problem] = quizzes.problems
    assert problem.startswith("quiz bank: not linted, it does not load: Cannot read")
    assert "broken.toml" in problem


def _proofs_as_if_run(wrong: str | None = None) -> Callable[..., list[ProofResult]]:
    """The runner as it would report on the bank (tests/quiz/test_proofs.py runs it for real):
    PostgreSQL's proofs skipped, the rest printing their key's outcome, or, for the question
    `wrong`, printing something else."""

    def run(questions: Iterable[Question]) -> list[ProofResult]:
        results = []
        for q in proof_cases(questions):
            if q.proof is None:
                continue
            if "postgres" in q.proof.needs:
                results.append(ProofResult(q.id, SKIP, "no PostgreSQL at somewhere"))
            else:
                printed = "something else" if q.id == wrong else q.proof.outcome(q.answer.key)
                results.append(judge(q, printed or ""))
        return results

    return run


def _dev_check_output(
    course: Course, monkeypatch: pytest.MonkeyPatch, wrong: str | None = None
) -> tuple[list[str], str]:
    """run_dev_check with the slow parts (running every starter and solution) left out."""
    monkeypatch.setattr(grader.devcheck, "layout_problems", lambda course: [])
    monkeypatch.setattr(grader.devcheck, "grading_problems", lambda course: [])
    monkeypatch.setattr(grader.devcheck, "carry_problems", lambda course: [])
    monkeypatch.setattr(grader.quiz.proofs, "run_proofs", _proofs_as_if_run(wrong))
    out = io.StringIO()
    problems = run_dev_check(course, Console(file=out, width=200, color_system=None))
    return problems, out.getvalue()


def test_dev_check_says_how_many_questions_it_linted(
    course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    problems, output = _dev_check_output(course, monkeypatch)
    bank = load_bank()
    proven = proof_cases(bank.questions)  # a variant question's proof on a sample of variants
    skipped = [q.id for q in proven if q.proof is not None and "postgres" in q.proof.needs]
    assert problems == []
    assert (
        f"Quizzes: {len(bank.questions)} questions linted against {len(course.steps)} steps; "
        f"{len(proven)} proofs run, {len(skipped)} skipped."
    ) in output
    varied = [q for q in bank.questions if q.is_variant]
    rendered = f"{sum(len(q.all_values()) for q in varied):,} variants of {len(varied)} variant"
    assert rendered in output
    for qid in skipped:
        assert f"- quiz bank: question {qid!r}: proof skipped, no PostgreSQL at somewhere" in output
    assert "The course is consistent." in output


def test_dev_check_fails_on_a_proof_that_disagrees_with_its_key(
    course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = next(q for q in load_bank().questions if q.proof and not q.proof.needs)
    problems, output = _dev_check_output(course, monkeypatch, wrong=question.id)
    expected = question.proof.outcome(question.answer.key) if question.proof else None
    assert problems == [
        (
            f"quiz bank: question {question.id!r}: proof printed 'something else', which is no "
            f"option's outcome (the key {question.answer.key} expects {expected!r})"
        )
    ]
    assert "1 problem." in output


def test_dev_check_reports_a_variant_that_does_not_render(course: Course, tmp_path: Path) -> None:
    text = (grader.quiz.bank.QUIZ_DIR / "crud-http.toml").read_text(encoding="utf-8")
    broken = text.replace("DELETE /notes/{{note}} twice", "DELETE /notes/{{note + nothing}} twice")
    assert broken != text
    (tmp_path / "crud-http.toml").write_text(broken, encoding="utf-8")
    shutil.copytree(grader.quiz.bank.QUIZ_DIR / "proofs", tmp_path / "proofs")
    problems = lint_quizzes(course, tmp_path, proofs=False).problems
    assert (
        "quiz bank: question 'delete-twice': variant {\"note\": 2}: {{note + nothing}}: "
        "no parameter 'nothing'"
    ) in problems


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
