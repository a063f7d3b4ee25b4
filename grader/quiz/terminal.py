"""The terminal quiz: the web quiz's questions, feedback order and storage, over click prompts."""

from __future__ import annotations

import random
import textwrap
import time
from collections.abc import Mapping

import click

from grader.course import Step
from grader.quiz.answers import DEFAULT_POLICY, display_name
from grader.quiz.bank import Bank, Question
from grader.quiz.grading import (
    LABELS,
    Feedback,
    QuizChoice,
    displayed,
    grade,
    key_for,
    serve,
    steps_to_revisit,
)
from grader.quiz.policy import QuizPolicy, when
from grader.quiz.store import QuizStore
from grader.quiz.versions import Versions

STOP = "Q"
HELD_FEEDBACK = (
    "Your answer is saved. Its feedback waits until you finish your other open attempt that "
    "asks this question too, so that one is not answered from this one's key."
)


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


def _served(
    store: QuizStore, versions: Versions, attempt_id: int
) -> list[tuple[int, Question, str]]:
    """The attempt's unanswered questions as served (a variant with its stored parameters):
    (position, question, option order)."""
    attempt = store.attempt(attempt_id)
    assert attempt is not None
    return [
        (a.position, versions.question(a.question_id, a.version, a.params),
         a.option_order)
        for a in attempt.answers
        if a.chosen is None
    ]


def run_quiz(
    *,
    bank: Bank,
    store: QuizStore,
    choice: QuizChoice,
    name: str,
    steps: Mapping[str, Step],
    rng: random.Random | None = None,
    policy: QuizPolicy = DEFAULT_POLICY,
) -> int:
    """Ask the questions of the student's open attempt at this quiz, or of a new one, storing
    each answer as it is given, under the instructor's `policy` as the web quiz keeps it (a
    StartRefused when it cannot start, the time limit checked before each answer is stored,
    feedback when the policy shows it); the attempt id."""
    rng = rng or random.SystemRandom()
    questions = choice.pick(bank, rng)
    versions = Versions(bank, store)
    started = store.begin_attempt(
        name=display_name(name),
        questions=[serve(q, rng) for q in questions],
        topic=choice.topic,
        level=choice.level,
        policy=policy,
    )
    attempt_id = started.attempt_id
    todo = _served(store, versions, attempt_id)
    attempt = store.attempt(attempt_id)
    assert attempt is not None
    total = attempt.total
    if started.resumed:
        click.echo(
            f"{choice.title}: you have attempt {attempt_id} open, at question {todo[0][0]} of "
            f"{total}; it goes on from there."
        )
    else:
        click.echo(
            f"{choice.title}: {counted(total, 'question')}. Answer with the option's letter; "
            "q stops (answers given so far are kept)."
        )
    deadline = policy.deadline(attempt.started_at)
    if deadline is not None:
        click.echo(f"This attempt takes answers until {when(deadline, seconds=True)}.")
    immediate = policy.shows_feedback(time.time(), finished=False)
    for position, question, order in todo:
        click.echo()
        click.secho(f"Question {position} of {total} · {question.difficulty}", bold=True)
        click.echo(textwrap.fill(question.stem, 78))
        if question.code:
            click.echo(textwrap.indent(question.code.rstrip("\n"), "    "))
        for label, option in displayed(question, order):
            click.echo(f"  {label}. {option.text}")
        key = _ask(order)
        if key is None:
            click.echo(f"Stopped after {counted(position - 1, 'answer')}; attempt {attempt_id} is kept.")
            return attempt_id
        if deadline is not None and time.time() >= deadline:
            store.close_attempt(attempt_id, deadline)
            click.echo(
                f"The time ended at {when(deadline, seconds=True)}, so this answer was not "
                "saved; the attempt is submitted with the answers given before then."
            )
            break
        feedback = grade(question, order, key)
        if not store.record_answer(
            attempt_id=attempt_id, position=position, chosen=key, correct=feedback.correct
        ):
            click.echo(
                f"This answer was not saved: question {position} of attempt {attempt_id} was "
                "answered elsewhere (in a browser?) first, or the attempt was submitted there; "
                "the answer given there stands. Run the command again to go on."
            )
            return attempt_id
        if immediate and question.id in store.pending_elsewhere(attempt):
            click.echo(HELD_FEEDBACK)
        elif immediate:
            show_feedback(feedback, steps)
    _summary(store, versions, attempt_id, policy, steps, deferred=not immediate)
    return attempt_id


def _summary(
    store: QuizStore,
    versions: Versions,
    attempt_id: int,
    policy: QuizPolicy,
    steps: Mapping[str, Step],
    *,
    deferred: bool,
) -> None:
    """The score and the steps to revisit, and first the feedback held back till the end."""
    attempt = store.attempt(attempt_id)
    assert attempt is not None and attempt.score is not None
    click.echo()
    if not policy.shows_feedback(time.time(), finished=True):
        click.secho(
            f"Attempt {attempt_id} is submitted. Your score and the feedback come when the quiz "
            f"closes, at {when(policy.timeclose or 0)}.",
            bold=True,
        )
        return
    missed: list[tuple[int, Question]] = []
    pending = store.pending_elsewhere(attempt)
    held = False
    for answer in attempt.answers:
        question = versions.question(answer.question_id, answer.version, answer.params)
        if not answer.correct:
            missed.append((answer.position, question))
        if answer.chosen is not None and answer.question_id in pending:
            held = True
            if deferred:
                click.secho(f"Question {answer.position}", bold=True)
                click.echo(HELD_FEEDBACK + "\n")
        elif deferred and answer.chosen is not None:
            click.secho(f"Question {answer.position}", bold=True)
            show_feedback(grade(question, answer.option_order, answer.chosen), steps)
            click.echo()
    if held:
        click.secho(
            f"Attempt {attempt_id} is submitted. Your score waits until you finish your other "
            "open attempt that asks some of these questions too, so that one is not answered "
            "from this one's score.",
            bold=True,
        )
        return
    click.secho(
        f"Score: {attempt.score} / {attempt.total} ({attempt.score / attempt.total:.0%}). "
        f"Saved as attempt {attempt_id}; run the command again to retake.",
        bold=True,
    )
    show_revisit(missed, steps)
