"""The student's pages: home, start an attempt, answer question by question, score, review."""

from __future__ import annotations

import random
import secrets
from functools import partial
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from starlette.routing import Route

from grader.progress import load_progress
from grader.quiz.bank import LEVELS, Bank, Question
from grader.quiz.grading import (
    LABELS,
    SELF_CHECK,
    QuizChoice,
    QuizChoiceError,
    displayed,
    grade,
    key_for,
    shuffled_order,
    steps_to_revisit,
)
from grader.quiz.store import NAME_MAX, Answer, Attempt, Slot
from grader.quiz.web.deps import (
    BankDep,
    CourseDep,
    SettingsDep,
    StoreDep,
    check_owner,
    current_student,
    no_attempt,
    owned_attempt,
    path_int,
    render,
)
from grader.quiz.web.forms import FormDep, field, posted_form

router = APIRouter()


@router.get("/")
def home(
    request: Request, store: StoreDep, bank: BankDep, course: CourseDep, settings: SettingsDep
) -> Response:
    progress = load_progress(settings.workspace) if settings.workspace else {}
    student = current_student(request, store)
    topics = {
        topic: {level: len(bank.select(topic=topic, level=level)) for level in LEVELS}
        for topic in bank.topics()
    }
    context = {
        "course": course,
        "progress": progress,
        "workspace": settings.workspace,
        "topics": topics,
        "levels": LEVELS,
        "student": student,
        "attempts": store.attempts_of(student.id) if student else [],
        "choice_title": lambda a: QuizChoice(topic=a.topic, level=a.level).title,
    }
    return render(request, "home.html", context)


def _choice(form_quiz: str, form_level: str, bank: Bank) -> QuizChoice:
    if form_level and form_level not in LEVELS:
        raise HTTPException(400, f"There is no level {form_level!r}: choose {', '.join(LEVELS)}.")
    if form_quiz in ("", SELF_CHECK):
        return QuizChoice()
    if form_quiz not in bank.topics():
        raise HTTPException(
            404, f"There is no quiz {form_quiz!r}. Quizzes: {', '.join(bank.topics())}."
        )
    return QuizChoice(topic=form_quiz, level=form_level or None)


@router.post("/attempts")
async def start_attempt(request: Request, form: FormDep, bank: BankDep) -> Response:
    """No thread hop: picking questions is quick, and the writes go to the writer."""
    name = " ".join(field(form, "name").split())
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise HTTPException(400, f"Give a display name of 1 to {NAME_MAX} characters.")
    choice = _choice(field(form, "quiz"), field(form, "level"), bank)
    try:
        rng = random.Random(secrets.randbits(64))  # seeded once; SystemRandom per draw is slow
        questions = choice.pick(bank, rng)
    except QuizChoiceError as exc:
        raise HTTPException(400, str(exc)) from None
    session_student = request.session.get("student")
    student_id, attempt_id = await request.app.state.writer.start_attempt(
        student_id=session_student if isinstance(session_student, int) else None,
        name=name,
        questions=[(q.id, shuffled_order(q, rng)) for q in questions],
        topic=choice.topic,
        level=choice.level,
    )
    request.session["student"] = student_id
    return RedirectResponse(f"/attempts/{attempt_id}/questions/1", status_code=303)


def _question(bank: Bank, question_id: str) -> Question:
    try:
        return bank.get(question_id)
    except KeyError:
        raise HTTPException(
            410, f"Question {question_id!r} is no longer in the bank; start a new attempt."
        ) from None


def _no_question(attempt_id: int, position: int, total: int) -> HTTPException:
    return HTTPException(
        404,
        f"There is no question {position} in attempt {attempt_id}: it has questions 1 to {total}.",
    )


def _item(attempt: Attempt, position: int) -> Answer:
    if not 1 <= position <= attempt.total:
        raise _no_question(attempt.id, position, attempt.total)
    return attempt.answers[position - 1]


def _view(attempt: Attempt, answer: Answer, bank: Bank) -> dict[str, Any]:
    """A question as shown: display-ordered options, and feedback once it is answered."""
    question = _question(bank, answer.question_id)
    feedback = grade(question, answer.option_order, answer.chosen) if answer.chosen else None
    return {
        "position": answer.position,
        "question": question,
        "options": displayed(question, answer.option_order),
        "feedback": feedback,
    }


@router.get("/attempts/{attempt_id}")
def resume(request: Request, attempt_id: int, store: StoreDep) -> Response:
    attempt = owned_attempt(request, store, attempt_id)
    position = attempt.next_position
    target = f"questions/{position}" if position else "results"
    return RedirectResponse(f"/attempts/{attempt_id}/{target}", status_code=303)


@router.get("/attempts/{attempt_id}/questions/{position}")
def show_question(
    request: Request,
    attempt_id: int,
    position: int,
    store: StoreDep,
    bank: BankDep,
    course: CourseDep,
) -> Response:
    attempt = owned_attempt(request, store, attempt_id)
    answer = _item(attempt, position)
    next_position = attempt.next_position
    if answer.chosen is None and position != next_position:
        return RedirectResponse(f"/attempts/{attempt_id}/questions/{next_position}", 303)
    context = {
        "attempt": attempt,
        "title": QuizChoice(topic=attempt.topic, level=attempt.level).title,
        "course": course,
        **_view(attempt, answer, bank),
    }
    return render(request, "question.html", context)


def _decide(
    slot: Slot | None,
    *,
    attempt_id: int,
    position: int,
    student: object,
    label: str,
    bank: Bank,
) -> tuple[str, bool]:
    """The bank key and its correctness for a submission, or the HTTP error refusing it.
    Runs in the answer writer, inside the transaction that then stores the answer."""
    if slot is None:
        raise no_attempt(attempt_id)
    check_owner(student, attempt_id, slot.student_id)
    if slot.finished:
        raise HTTPException(
            409,
            f"Attempt {attempt_id} is finished, so its answers cannot change. "
            "To try again, start a new attempt from the results page.",
        )
    if slot.question_id is None:
        raise _no_question(attempt_id, position, slot.total)
    if slot.chosen is not None:
        raise HTTPException(
            409, f"Question {position} was already answered (was the form sent twice?). "
            "The first answer stands.",
        )  # fmt: skip
    if position != slot.next_position:
        raise HTTPException(
            409, f"Answer question {slot.next_position} first: questions go in order."
        )
    question = _question(bank, slot.question_id)
    try:
        key = key_for(slot.option_order, label)
    except ValueError as exc:
        raise HTTPException(400, f"{exc} Pick an option, then submit.") from None
    return key, grade(question, slot.option_order, key).correct


async def answer_question(request: Request) -> Response:
    """The hot path, a Starlette route ahead of the FastAPI ones (see `answer_route`): the form
    and the path are read here, and the checks and the write go to the writer."""
    form = await posted_form(request)  # the CSRF check comes first, as with FormDep
    attempt_id, position = path_int(request, "attempt_id"), path_int(request, "position")
    state = request.app.state
    decide = partial(
        _decide,
        attempt_id=attempt_id,
        position=position,
        student=request.session.get("student"),
        label=field(form, "choice"),
        bank=state.bank,
    )
    if not await state.writer.answer(attempt_id, position, decide):
        raise HTTPException(
            409,
            f"Question {position} was answered by another request just now; that answer stands.",
        )
    # No #feedback fragment: a fragment target stops the browser from honouring autofocus.
    return RedirectResponse(f"/attempts/{attempt_id}/questions/{position}", 303)


# Matched before the app's FastAPI routes: their route matching and parameter solving were the
# larger part of an answer's time in the event loop (benchmarks/quiz_load.py).
answer_route = Route(
    "/attempts/{attempt_id}/questions/{position}", answer_question, methods=["POST"]
)


def _finished(request: Request, store: StoreDep, attempt_id: int) -> Attempt | Response:
    attempt = owned_attempt(request, store, attempt_id)
    if not attempt.finished:
        where = f"/attempts/{attempt_id}/questions/{attempt.next_position}"
        return RedirectResponse(where, status_code=303)
    return attempt


@router.get("/attempts/{attempt_id}/results")
def results(
    request: Request, attempt_id: int, store: StoreDep, bank: BankDep, course: CourseDep
) -> Response:
    attempt = _finished(request, store, attempt_id)
    if isinstance(attempt, Response):
        return attempt
    by_level = {level: [0, 0] for level in LEVELS}
    missed = []
    for answer in attempt.answers:
        question = _question(bank, answer.question_id)
        by_level[question.difficulty][0] += bool(answer.correct)
        by_level[question.difficulty][1] += 1
        if not answer.correct:
            missed.append((answer.position, question))
    context = {
        "attempt": attempt,
        "title": QuizChoice(topic=attempt.topic, level=attempt.level).title,
        "by_level": {k: v for k, v in by_level.items() if v[1]},
        "revisit": steps_to_revisit(missed, {step.slug: step for step in course.steps}),
        "quiz_value": attempt.topic or SELF_CHECK,
    }
    return render(request, "results.html", context)


@router.get("/attempts/{attempt_id}/review")
def review(
    request: Request, attempt_id: int, store: StoreDep, bank: BankDep, course: CourseDep
) -> Response:
    attempt = _finished(request, store, attempt_id)
    if isinstance(attempt, Response):
        return attempt
    context = {
        "attempt": attempt,
        "title": QuizChoice(topic=attempt.topic, level=attempt.level).title,
        "course": course,
        "items": [_view(attempt, answer, bank) for answer in attempt.answers],
        "labels": LABELS,
    }
    return render(request, "review.html", context)
