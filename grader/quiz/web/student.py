"""The student's pages: home, question by question, score, review (the forms that start an
attempt and answer a question are in submissions.py)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from grader.progress import load_progress
from grader.quiz.bank import LEVELS, Bank
from grader.quiz.grading import (
    LABELS,
    SELF_CHECK,
    SELF_CHECK_COUNT,
    QuizChoice,
    displayed,
    grade,
    steps_to_revisit,
)
from grader.quiz.policy import QuizPolicy, when
from grader.quiz.store import Answer, Attempt, QuizStore
from grader.quiz.versions import Versions
from grader.quiz.web.deps import (
    BankDep,
    CourseDep,
    PoliciesDep,
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
    request: Request,
    store: StoreDep,
    bank: BankDep,
    course: CourseDep,
    settings: SettingsDep,
    policies: PoliciesDep,
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
        "held": store.held_scores(student.id) if student else set(),
        "choice_title": lambda a: quiz_title(request, a),
        "policies": policies,
        "titles": bank.title,
        "now": time.time(),
        "when": when,
    }
    return render(request, "home.html", context)


def quiz_title(request: Request, attempt: Attempt) -> str:
    """The attempt's quiz as people call it ("CRUD over HTTP (hard)")."""
    bank: Bank = request.app.state.bank
    topic_title = bank.title(attempt.topic) if attempt.topic else None
    return QuizChoice(topic=attempt.topic, level=attempt.level, topic_title=topic_title).title


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


def _settled(store: QuizStore, attempt: Attempt, policy: QuizPolicy) -> Attempt:
    """The attempt, submitted first if its time is up (its time limit, or the close date)."""
    deadline = None if attempt.finished else policy.deadline(attempt.started_at)
    if deadline is None or time.time() < deadline:
        return attempt
    store.close_attempt(attempt.id, deadline)
    closed = store.attempt(attempt.id)
    assert closed is not None
    return closed


def _feedback_now(attempt: Attempt, policy: QuizPolicy) -> bool:
    return policy.shows_feedback(time.time(), finished=attempt.finished)


@router.get("/attempts/{attempt_id}")
def resume(request: Request, attempt_id: int, store: StoreDep, policies: PoliciesDep) -> Response:
    attempt = owned_attempt(request, store, attempt_id)
    attempt = _settled(store, attempt, policies.of(attempt.topic))
    position = attempt.next_position if not attempt.finished else None
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
    policies: PoliciesDep,
) -> Response:
    attempt = owned_attempt(request, store, attempt_id)
    answer = _item(attempt, position)
    policy = policies.of(attempt.topic)
    attempt = _settled(store, attempt, policy)
    next_position = attempt.next_position
    if attempt.finished and (answer.chosen is None or not _feedback_now(attempt, policy)):
        return RedirectResponse(f"/attempts/{attempt_id}/results", 303)
    if answer.chosen is None and position != next_position:
        return RedirectResponse(f"/attempts/{attempt_id}/questions/{next_position}", 303)
    if answer.chosen is not None and not _feedback_now(attempt, policy):  # deferred feedback
        return RedirectResponse(f"/attempts/{attempt_id}", 303)
    context = {
        "attempt": attempt,
        "title": quiz_title(request, attempt),
        "course": course,
        "deadline": None if attempt.finished else policy.deadline(attempt.started_at),
        "when": when,
        **_view(answer, versions, store.pending_elsewhere(attempt) if answer.chosen else set()),
    }
    return render(request, "question.html", context)


def _finished(
    request: Request, store: StoreDep, attempt_id: int, policies: PoliciesDep
) -> Attempt | Response:
    attempt = owned_attempt(request, store, attempt_id)
    attempt = _settled(store, attempt, policies.of(attempt.topic))
    if not attempt.finished:
        where = f"/attempts/{attempt_id}/questions/{attempt.next_position}"
        return RedirectResponse(where, status_code=303)
    return attempt


@router.get("/attempts/{attempt_id}/results")
def results(
    request: Request,
    attempt_id: int,
    store: StoreDep,
    versions: VersionsDep,
    course: CourseDep,
    policies: PoliciesDep,
) -> Response:
    attempt = _finished(request, store, attempt_id, policies)
    if isinstance(attempt, Response):
        return attempt
    policy = policies.of(attempt.topic)
    held = attempt.id in store.held_scores(attempt.student_id)
    if held or not _feedback_now(attempt, policy):
        context = {
            "attempt": attempt,
            "title": quiz_title(request, attempt),
            "later": None if held else when(policy.timeclose or 0),
        }
        return render(request, "results_later.html", context)
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
        "title": quiz_title(request, attempt),
        "by_level": {k: v for k, v in by_level.items() if v[1]},
        "revisit": steps_to_revisit(missed, {step.slug: step for step in course.steps}),
        "quiz_value": attempt.topic or SELF_CHECK,
    }
    return render(request, "results.html", context)


@router.get("/attempts/{attempt_id}/review")
def review(
    request: Request,
    attempt_id: int,
    store: StoreDep,
    versions: VersionsDep,
    course: CourseDep,
    policies: PoliciesDep,
) -> Response:
    attempt = _finished(request, store, attempt_id, policies)
    if isinstance(attempt, Response):
        return attempt
    policy = policies.of(attempt.topic)
    if not _feedback_now(attempt, policy):
        closes = when(policy.timeclose or 0)
        raise HTTPException(
            403, f"The review of this attempt opens when the quiz closes, at {closes}."
        )
    held = store.pending_elsewhere(attempt)
    items = [_view(answer, versions, held) for answer in attempt.answers]
    context = {
        "attempt": attempt,
        "title": quiz_title(request, attempt),
        "course": course,
        "items": items,
        "labels": LABELS,
        "score_held": any(item["held"] for item in items),
    }
    return render(request, "review.html", context)
