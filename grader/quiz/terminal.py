"""The terminal quiz: the web quiz's questions, feedback order and storage, over click prompts."""

from __future__ import annotations

import random
import textwrap
from collections.abc import Mapping

import click

from grader.course import Step
from grader.quiz.bank import Bank, Question
from grader.quiz.grading import (
    LABELS,
    Feedback,
    QuizChoice,
    displayed,
    grade,
    key_for,
    shuffled_order,
    steps_to_revisit,
)
from grader.quiz.store import QuizStore

STOP = "Q"


def counted(number: int, noun: str) -> str:
    """"1 question", "3 questions"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _ask(order: str) -> str | None:
    """The bank key the student picked, or None to stop; asks again on anything else."""

    def parse(text: str) -> str:
        if text.strip().upper() == STOP:
            return STOP
        try:
            return key_for(order, text)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    choices = f"{LABELS[0]}-{LABELS[len(order) - 1]}"
    picked = click.prompt(f"Your answer ({choices}, q to stop)", value_proc=parse)
    return None if picked == STOP else picked


def show_feedback(feedback: Feedback, steps: Mapping[str, Step]) -> None:
    """Verdict, misconception, hint, worked solution, linked steps: the web page's order."""
    if feedback.correct:
        click.secho("Right!", fg="green", bold=True)
    else:
        click.secho("Not quite.", fg="red", bold=True)
        click.echo(f"You chose {feedback.chosen_label}: {feedback.chosen.text}")
        click.echo(f"The answer is {feedback.answer_label}: {feedback.answer.text}")
    if feedback.misconception:
        click.echo(f"Misconception behind {feedback.chosen_label}: {feedback.misconception}")
    click.echo(f"Hint: {feedback.question.hint}")
    click.echo("Worked solution:")
    for number, line in enumerate(feedback.question.solution, start=1):
        click.echo(
            textwrap.fill(line, 78, initial_indent=f"  {number}. ", subsequent_indent="     ")
        )
    click.echo(f"Answer: {feedback.question.final_answer}")
    click.echo(f"Check yourself: {feedback.question.quick_check}")
    for slug in feedback.question.steps:
        step = steps.get(slug)
        where = f"step {step.number}: {step.title} (folder {step.folder})" if step else slug
        click.echo(f"Linked step: {where}")


def show_revisit(missed: list[tuple[int, Question]], steps: Mapping[str, Step]) -> None:
    """The summary's last part: the steps that practise what was missed, as on the web."""
    revisits = steps_to_revisit(missed, steps)
    if not revisits:
        click.echo("You missed no question, so there is no step to revisit.")
        return
    click.echo("Steps to revisit, for the questions you missed:")
    for revisit in revisits:
        step = revisit.step
        click.echo(
            f"  step {step.number}: {step.title} (folder {step.folder}), for {revisit.missed}"
        )


def run_quiz(
    *,
    bank: Bank,
    store: QuizStore,
    choice: QuizChoice,
    name: str,
    steps: Mapping[str, Step],
    rng: random.Random | None = None,
) -> int:
    """Ask every question of a new attempt, storing each answer as it is given; the attempt id."""
    rng = rng or random.SystemRandom()
    questions = choice.pick(bank, rng)
    orders = [shuffled_order(q, rng) for q in questions]
    student_id = store.student_named(name)
    store.keep_versions(questions)
    attempt_id = store.start_attempt(
        student_id=student_id,
        questions=[(q.id, order, q.version) for q, order in zip(questions, orders)],
        topic=choice.topic,
        level=choice.level,
    )
    click.echo(
        f"{choice.title}: {counted(len(questions), 'question')}. Answer with the option's letter; "
        "q stops (answers given so far are kept)."
    )
    missed: list[tuple[int, Question]] = []
    for position, (question, order) in enumerate(zip(questions, orders), start=1):
        click.echo()
        click.secho(f"Question {position} of {len(questions)} · {question.difficulty}", bold=True)
        click.echo(textwrap.fill(question.stem, 78))
        if question.code:
            click.echo(textwrap.indent(question.code.rstrip("\n"), "    "))
        for label, option in displayed(question, order):
            click.echo(f"  {label}. {option.text}")
        key = _ask(order)
        if key is None:
            click.echo(f"Stopped after {counted(position - 1, 'answer')}; attempt {attempt_id} is kept.")
            return attempt_id
        feedback = grade(question, order, key)
        store.record_answer(
            attempt_id=attempt_id, position=position, chosen=key, correct=feedback.correct
        )
        show_feedback(feedback, steps)
        if not feedback.correct:
            missed.append((position, question))
    attempt = store.attempt(attempt_id)
    assert attempt is not None and attempt.score is not None
    click.echo()
    click.secho(
        f"Score: {attempt.score} / {attempt.total} ({attempt.score / attempt.total:.0%}). "
        f"Saved as attempt {attempt_id}; run the command again to retake.",
        bold=True,
    )
    show_revisit(missed, steps)
    return attempt_id
