"""`persistlab dev check`: what a course author must keep true, checked in one go."""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from grader.carry_check import carry_problems
from grader.check import check_module_path, run_checks
from grader.course import EXERCISES, SOLUTIONS, Course, CourseError
from grader.results import PASS

IGNORED = {"__pycache__", ".DS_Store"}


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.name not in IGNORED and p.suffix != ".db"}


def ends_with_explain_and_mastery(readme: str) -> bool:
    """The last two sections are "## Explain it" (a numbered list) and "## Mastery check" (a
    checklist)."""
    sections = readme.split("\n## ")
    if len(sections) < 3:
        return False
    explain, mastery = sections[-2], sections[-1]
    return (explain.startswith("Explain it\n") and "\n1. " in explain
            and mastery.startswith("Mastery check\n") and "\n- [ ] " in mastery)


def layout_problems(
    course: Course, exercises: Path = EXERCISES, solutions: Path = SOLUTIONS
) -> list[str]:
    """course.toml against the folders: every step's files there, no strays, TODOs, hints."""
    problems: list[str] = []
    folders = {s.folder for s in course.steps}
    for root in (exercises, solutions):
        if not root.is_dir():
            problems.append(f"{root} is missing.")
            continue
        strays = sorted(
            p.name for p in root.iterdir() if p.is_dir() and p.name not in folders | IGNORED
        )
        problems += [f"{root.name}/{name} is not a step in course.toml." for name in strays]
    for step in course.steps:
        label = f"step {step.number} ({step.folder})"
        starter, answer = exercises / step.folder, solutions / step.folder
        if not step.folder.startswith(f"{step.number:02d}-") or not step.folder.endswith(step.slug):
            problems.append(f"{label}: the folder should be named {step.number:02d}-{step.slug}.")
        if not starter.is_dir() or not answer.is_dir():
            problems.append(f"{label}: exercises/ and solutions/ must both have this folder.")
            continue
        if not (starter / "README.md").is_file():
            problems.append(f"{label}: the exercise has no README.md.")
        elif not ends_with_explain_and_mastery((starter / "README.md").read_text(encoding="utf-8")):
            problems.append(f"{label}: README.md must end with an '## Explain it' section of "
                            "questions, then a '## Mastery check' checklist.")
        if not (starter / "main.py").is_file():
            problems.append(f"{label}: the starter has no main.py.")
        missing = _files(answer) - _files(starter)
        if missing:
            problems.append(
                f"{label}: the starter lacks {', '.join(sorted(missing))} from the solution."
            )
        extra = _files(starter) - _files(answer) - {"README.md"}
        if extra:
            problems.append(
                f"{label}: the solution lacks {', '.join(sorted(extra))} from the starter."
            )
        if not any("TODO" in p.read_text(encoding="utf-8") for p in starter.glob("*.py")):
            problems.append(f"{label}: no starter file has a TODO.")
        if not step.hints or not all(h.strip() for h in step.hints):
            problems.append(f"{label}: every step needs at least one non-empty hint.")
        try:
            named = check_names(check_module_path(step))
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            problems.append(f"{label}: {exc}")
            continue
        unknown = sorted(check for check, _ in step.visibility if check not in named)
        if unknown:
            problems.append(f"{label}: course.toml sets the visibility of {', '.join(unknown)}, "
                            "which is no check of this step.")
    return problems


def readme_tasks(readme: str) -> set[int]:
    """The numbers of the tasks the "## Tasks" section of a step README lists (`1. ...`)."""
    section = readme.partition("\n## Tasks\n")[2].split("\n## ")[0]
    return {int(number) for number in re.findall(r"^(\d+)\. ", section, re.MULTILINE)}


def task_problems(label: str, readme: str, tested: set[int]) -> list[str]:
    """Every check names a task of the step's README, and every task there has a check."""
    tasks = readme_tasks(readme)
    problems = [f"{label}: a check tests task {number}, which README.md's Tasks do not list."
                for number in sorted(tested - tasks)]
    problems += [f"{label}: README.md's task {number} has no check." for number in sorted(tasks - tested)]
    return problems


def naming_problems(label: str, names: list[str]) -> list[str]:
    """Every check has a docstring, the line students read, and no two of a step share it."""
    problems = [f"{label}: {name} has no docstring; its first line is what students read."
                for name in names if name.startswith("test_")]
    problems += [f"{label}: {count} checks are named {name!r}; each needs a name of its own."
                 for name, count in sorted(Counter(names).items()) if count > 1]
    return problems


def check_names(module: Path) -> set[str]:
    """The check functions a step's module defines or imports (test_...)."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    names = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    names |= {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              for alias in node.names}
    return {name for name in names if name.startswith("test_")}


def grading_problems(course: Course) -> list[str]:
    """Every solution passes with full points; every starter fails, its first failure with a
    message and a hint."""
    problems: list[str] = []
    for step in course.steps:
        label = f"step {step.number} ({step.folder})"
        if not step.solution_dir.is_dir() or not step.exercise_dir.is_dir():
            continue
        solved = run_checks(step, step.solution_dir)
        if solved.status != PASS or solved.score != step.points:
            first = solved.first_failure
            reason = first.message if first else solved.message
            problems.append(f"{label}: the solution does not pass ({solved.status}): {reason}")
        problems += naming_problems(label, [t.name for t in solved.tests])
        readme = step.exercise_dir / "README.md"
        if readme.is_file():
            tested = {t.task_id for t in solved.tests if t.task_id is not None}
            problems += task_problems(label, readme.read_text(encoding="utf-8"), tested)
        started = run_checks(step, step.exercise_dir, until_failure=True)  # its first failure is all
        first = started.first_failure
        if started.status == PASS:
            problems.append(f"{label}: the starter already passes its checks.")
        elif first is None or not first.message or not first.hint:
            problems.append(
                f"{label}: the starter fails without a message and a hint for its "
                f"first failure ({started.message or 'no failing check'})."
            )
    return problems


@dataclass(frozen=True)
class QuizLint:
    """What linting the question bank found: how many questions were read, and the problems."""

    questions: int
    problems: list[str]
    proofs: int = 0  # how many proofs ran (skipped ones included), variants' samples included
    skipped: tuple[str, ...] = ()  # proofs that could not run here, with the reason
    variant_questions: int = 0
    variants: int = 0  # every variant of every variant question, each rendered and linted


def lint_quizzes(course: Course, quiz_dir: Path | None = None, proofs: bool = True) -> QuizLint:
    """The bank linted against course.toml, and every question's proof run against its key;
    a bank that cannot be loaded is a problem too."""
    try:
        from grader.quiz import proofs as proof_runner
        from grader.quiz.bank import QUIZ_DIR, BankError, lint_bank, load_bank
    except ImportError as exc:
        return QuizLint(0, [f"quiz bank: not linted, grader.quiz.bank cannot be imported: {exc}"])
    try:
        bank = load_bank(quiz_dir or QUIZ_DIR)
    except BankError as exc:
        return QuizLint(0, [f"quiz bank: not linted, it does not load: {exc}"])
    problems = [f"quiz bank: {p}" for p in lint_bank(bank, course)]
    varied = [q for q in bank.questions if q.is_variant]
    try:
        variants = sum(len(q.all_values()) for q in varied)
    except ValueError:  # the lint has said which question's parameters fail
        variants = 0
    if not proofs:
        return QuizLint(len(bank.questions), problems, variant_questions=len(varied),
                        variants=variants)  # fmt: skip
    results = proof_runner.run_proofs(bank.questions)
    problems += [f"quiz bank: {p}" for p in proof_runner.proof_problems(results)]
    skipped = tuple(f"quiz bank: {s}" for s in proof_runner.proof_skips(results))
    return QuizLint(len(bank.questions), problems, len(results), skipped, len(varied), variants)


def run_dev_check(course: Course, console: Console) -> list[str]:
    problems = layout_problems(course)
    console.print(f"Layout: {len(course.steps)} steps checked against exercises/ and solutions/.")
    problems += grading_problems(course)
    console.print("Grading: every solution run, every starter run.")
    problems += carry_problems(course)
    console.print(f"Carrying forward: a student's own code of steps 1-{len(course.steps) - 1}, each "
                  "carried to the next step, run before and after that step's tasks.")
    quizzes = lint_quizzes(course)
    problems += quizzes.problems
    if quizzes.questions:
        console.print(
            f"Quizzes: {quizzes.questions} questions linted against {len(course.steps)} steps; "
            f"{quizzes.proofs} proofs run, {len(quizzes.skipped)} skipped. "
            f"{quizzes.variants:,} variants of {quizzes.variant_questions} variant questions "
            "rendered."
        )
        for skip in quizzes.skipped:
            console.print(f"[yellow]- {escape(skip)}[/]")
    else:
        console.print("[red]Quizzes: no question linted; the bank did not load.[/]")
    for problem in problems:
        console.print(f"[red]✗[/] {escape(problem)}")
    if problems:
        console.print(f"[red]{len(problems)} problem{'s' if len(problems) > 1 else ''}.[/]")
    else:
        console.print("[green]The course is consistent.[/]")
    return problems


__all__ = [
    "CourseError", "QuizLint", "grading_problems", "layout_problems", "lint_quizzes",
    "run_dev_check",
]  # fmt: skip
