"""The two forms of a quiz run, start an attempt and answer a question: Starlette routes the
app matches before its FastAPI routes, since FastAPI's route matching and parameter solving
were the larger part of their time in the event loop (benchmarks/quiz_load.py). Each reads
its form and path itself; the checks that need the attempt and the writes go to the writer."""

from __future__ import annotations

import random
import secrets
from functools import partial

from fastapi import HTTPException
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from grader.quiz.answers import (
    AttemptsUsed,
    Slot,
    StartRefused,
    TimeUp,
    close_attempt_in,
    display_name,
)
from grader.quiz.bank import LEVELS, Bank
from grader.quiz.grading import (
    SELF_CHECK,
    SELF_CHECK_COUNT,
    QuizChoice,
    QuizChoiceError,
    grade,
    key_for,
    serve,
)
from grader.quiz.policy import when
from grader.quiz.versions import Versions
from grader.quiz.web.deps import (
    check_owner,
    current_student,
    no_attempt,
    no_position,
    no_question,
    path_int,
    served_question,
)
from grader.quiz.web.forms import field, posted_form


def _choice(form_quiz: str, form_level: str, bank: Bank) -> QuizChoice:
    if form_level and form_level not in LEVELS:
        raise HTTPException(400, f"There is no level {form_level!r}: choose {', '.join(LEVELS)}.")
    if form_quiz in ("", SELF_CHECK):  # with a level: that level's questions from every topic
        return QuizChoice(level=form_level, count=SELF_CHECK_COUNT) if form_level else QuizChoice()
    if form_quiz not in bank.topics():
        raise HTTPException(
            404, f"There is no quiz {form_quiz!r}. Quizzes: {', '.join(bank.topics())}."
        )
    return QuizChoice(topic=form_quiz, level=form_level or None, topic_title=bank.title(form_quiz))


async def start_attempt(request: Request) -> Response:
    """No thread hop: picking questions is quick, and the writes go to the writer."""
    form = await posted_form(request)
    bank: Bank = request.app.state.bank
    try:
        name = display_name(field(form, "name"))
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    choice = _choice(field(form, "quiz"), field(form, "level"), bank)
    try:
        rng = random.Random(secrets.randbits(64))  # seeded once; SystemRandom per draw is slow
        questions = choice.pick(bank, rng)
    except QuizChoiceError as exc:
        raise HTTPException(400, str(exc)) from None
    session_student = request.session.get("student")
    policy = request.app.state.policies.of(choice.topic)
    try:
        started = await request.app.state.writer.start_attempt(
            student_id=session_student if isinstance(session_student, int) else None,
            name=name,
            questions=[serve(q, rng) for q in questions],
            topic=choice.topic,
            level=choice.level,
            policy=policy,
        )
    except AttemptsUsed as used:
        raise HTTPException(
            409,
            f"You have used all {used.allowed} attempts allowed at {choice.title.lower()}; "
            "your results are listed on the home page. Ask your instructor if you need another.",
        ) from None
    except StartRefused as refused:
        raise HTTPException(409, f"{choice.title}: {refused}") from None
    request.session["student"] = started.student_id
    if started.resumed:  # the open attempt goes on where it was left
        return RedirectResponse(f"/attempts/{started.attempt_id}", status_code=303)
    return RedirectResponse(f"/attempts/{started.attempt_id}/questions/1", status_code=303)


class SameAnswer(Exception):
    """The question already holds this very answer."""


def _key_or_none(order: str, label: str) -> str | None:
    try:
        return key_for(order, label)
    except ValueError:
        return None


def _decide(
    slot: Slot | None,
    *,
    attempt_id: int,
    position: int,
    student: object,
    label: str,
    versions: Versions,
) -> tuple[str, bool]:
    """The bank key and its correctness for a submission, or the HTTP error refusing it.
    Runs in the answer writer, inside the transaction that then stores the answer."""
    if slot is None:
        raise no_attempt(attempt_id)
    check_owner(student, attempt_id, slot.student_id)
    if slot.chosen is not None and slot.chosen == _key_or_none(slot.option_order, label):
        raise SameAnswer()  # sent again (a reload, or a retry after a crash): it stands
    if slot.finished:
        raise HTTPException(
            409,
            f"Attempt {attempt_id} is finished, so its answers cannot change. "
            "To try again, start a new attempt from the results page.",
        )
    if slot.question_id is None:
        raise no_question(attempt_id, position, slot.total)
    if slot.chosen is not None:
        raise HTTPException(
            409, f"Question {position} was already answered (was the form sent twice?). "
            "The first answer stands.",
        )  # fmt: skip
    if position != slot.next_position:
        raise HTTPException(
            409, f"Answer question {slot.next_position} first: questions go in order."
        )
    question = served_question(versions, slot.question_id, slot.version)  # keys: any variant
    try:
        key = key_for(slot.option_order, label)
    except ValueError as exc:
        raise HTTPException(400, f"{exc} Pick an option, then submit.") from None
    return key, grade(question, slot.option_order, key).correct


async def _submit(request: Request, attempt_id: int, position: int, label: str) -> bool:
    """The answer, decided and stored by the writer as this browser's session student."""
    state = request.app.state
    student = request.session.get("student")
    decide = partial(
        _decide, attempt_id=attempt_id, position=position, student=student, label=label,
        versions=state.versions,
    )  # fmt: skip
    timed = None
    if state.deadlines is not None:  # some quiz has a deadline
        timed = partial(state.deadlines.check, attempt_id=attempt_id, student=student)
    try:
        return bool(await state.writer.answer(attempt_id, position, decide, first=timed))
    except SameAnswer:
        return True


async def _merged_since(request: Request) -> bool:
    """Whether an instructor merged this session's student into another since its last page:
    the session follows (a database read, on this refused path only)."""
    before = request.session.get("student")
    await run_in_threadpool(current_student, request, request.app.state.store)
    return request.session.get("student") != before


async def answer_question(request: Request) -> Response:
    form = await posted_form(request)  # the CSRF check comes first
    attempt_id = path_int(request, "attempt_id", no_attempt)
    position = path_int(request, "position", partial(no_position, attempt_id))
    state = request.app.state
    label = field(form, "choice")
    try:
        try:
            stored = await _submit(request, attempt_id, position, label)
        except HTTPException as refused:
            if refused.status_code != 404 or not await _merged_since(request):
                raise
            stored = await _submit(request, attempt_id, position, label)
    except TimeUp as up:
        await state.writer.write(partial(close_attempt_in, attempt_id=attempt_id, at=up.deadline))
        raise HTTPException(
            409,
            f"The time for attempt {attempt_id} ended at {when(up.deadline, seconds=True)}, so "
            "this answer was not saved. The attempt is submitted with the answers given before "
            "then; its results are listed on the home page.",
        ) from None
    if not stored:
        raise HTTPException(
            409,
            f"Question {position} was answered by another request just now; that answer stands.",
        )
    # No #feedback fragment: a fragment target stops the browser from honouring autofocus.
    return RedirectResponse(f"/attempts/{attempt_id}/questions/{position}", 303)


routes = [
    Route("/attempts/{attempt_id}/questions/{position}", answer_question, methods=["POST"]),
    Route("/attempts", start_attempt, methods=["POST"]),
]
