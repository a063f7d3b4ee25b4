"""The student's pages: home, question by question, score, review (the forms that start an
attempt and answer a question are in submissions.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from grader.progress import load_progress
from grader.quiz.bank import LEVELS
from grader.quiz.grading import (
    LABELS,
    SELF_CHECK,
    SELF_CHECK_COUNT,
    QuizChoice,
    displayed,
    grade,
    steps_to_revisit,
)
from grader.quiz.store import Answer, Attempt
from grader.quiz.versions import Versions
from grader.quiz.web.deps import (
    BankDep,
    CourseDep,
    SettingsDep,
    StoreDep,
    VersionsDep,
    current_student,
    no_question,
    owned_attempt,
    render,
    served_question,
)

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
        "self_check_count": SELF_CHECK_COUNT,
        "student": student,
        "attempts": store.attempts_of(student.id) if student else [],
        "choice_title": lambda a: QuizChoice(topic=a.topic, level=a.level).title,
    }
    return render(request, "home.html", context)


def _item(attempt: Attempt, position: int) -> Answer:
    if not 1 <= position <= attempt.total:
        raise no_question(attempt.id, position, attempt.total)
    return attempt.answers[position - 1]


def _view(answer: Answer, versions: Versions, held: set[str]) -> dict[str, Any]:
    """A question as served: display-ordered options, and feedback once it is answered, but
    without the key while a question of that id waits unanswered in another open attempt."""
    question = served_question(versions, answer.question_id, answer.version, answer.params)
    feedback = grade(question, answer.option_order, answer.chosen) if answer.chosen else None
    return {
        "position": answer.position,
        "question": question,
        "options": displayed(question, answer.option_order),
        "feedback": feedback,
        "held": feedback is not None and answer.question_id in held,
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
    versions: VersionsDep,
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
        **_view(answer, versions, store.pending_elsewhere(attempt) if answer.chosen else set()),
    }
    return render(request, "question.html", context)


def _finished(request: Request, store: StoreDep, attempt_id: int) -> Attempt | Response:
    attempt = owned_attempt(request, store, attempt_id)
    if not attempt.finished:
        where = f"/attempts/{attempt_id}/questions/{attempt.next_position}"
        return RedirectResponse(where, status_code=303)
    return attempt


@router.get("/attempts/{attempt_id}/results")
def results(
    request: Request, attempt_id: int, store: StoreDep, versions: VersionsDep, course: CourseDep
) -> Response:
    attempt = _finished(request, store, attempt_id)
    if isinstance(attempt, Response):
        return attempt
    by_level = {level: [0, 0] for level in LEVELS}
    missed = []
    for answer in attempt.answers:
        question = served_question(versions, answer.question_id, answer.version)
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
    request: Request, attempt_id: int, store: StoreDep, versions: VersionsDep, course: CourseDep
) -> Response:
    attempt = _finished(request, store, attempt_id)
    if isinstance(attempt, Response):
        return attempt
    held = store.pending_elsewhere(attempt)
    context = {
        "attempt": attempt,
        "title": QuizChoice(topic=attempt.topic, level=attempt.level).title,
        "course": course,
        "items": [_view(answer, versions, held) for answer in attempt.answers],
        "labels": LABELS,
    }
    return render(request, "review.html", context)
