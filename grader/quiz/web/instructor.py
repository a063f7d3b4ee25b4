"""Instructor pages behind PERSISTLAB_INSTRUCTOR_TOKEN: item statistics, scores, CSV export.

Sign in once with the token (a server-side session, ended by signing out; see signin.py), or
send `Authorization: Bearer <token>`, handy for fetching the CSV files. Wrong guesses either
way are limited per client and in total.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from grader.quiz.bank import OPTION_KEYS
from grader.quiz.merge import MergeError
from grader.quiz.policy import when
from grader.quiz.stats import question_stats, questions_csv, student_scores, students_csv
from grader.quiz.web.deps import BankDep, SettingsDep, StoreDep, in_range, render
from grader.quiz.web.forms import FormDep, field
from grader.quiz.web.settings import PREFIX
from grader.quiz.web.signin import GuessLimit, InstructorSessions

router = APIRouter(prefix="/instructor")


async def _token(settings: SettingsDep) -> str:
    """The configured token; the pages are off (404) without one."""
    if not settings.instructor_token:
        raise HTTPException(
            404,
            f"The instructor pages are off. Set {PREFIX}INSTRUCTOR_TOKEN in the server's "
            "environment and restart it to turn them on.",
        )
    return settings.instructor_token


TokenDep = Annotated[str, Depends(_token)]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _check_guess(request: Request, sent: str, token: str) -> bool:
    """Whether `sent` is the token; 429 while this client (or everyone) has guessed wrong too
    often lately, and a wrong guess counts against both."""
    guesses: GuessLimit = request.app.state.guesses
    wait = guesses.wait(_client(request))
    if wait:
        raise HTTPException(
            429,
            f"Too many wrong instructor tokens were tried lately. Wait {wait} seconds, then "
            "sign in again with the token from the server's environment.",
            headers={"Retry-After": str(wait)},
        )
    if secrets.compare_digest(sent.encode(), token.encode()):
        return True
    guesses.failed(_client(request))
    return False


def _signed_in(request: Request, token: str) -> bool:
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        return _check_guess(request, bearer[7:].strip(), token)
    sessions: InstructorSessions = request.app.state.instructor_sessions
    return sessions.valid(request.session.get("instructor"), token)


def _require(request: Request, token: str) -> None:
    if not _signed_in(request, token):
        raise HTTPException(
            401, "This page needs the instructor token: sign in at /instructor first."
        )


@router.get("")
def dashboard(request: Request, token: TokenDep, store: StoreDep, bank: BankDep) -> Response:
    if not _signed_in(request, token):
        return render(request, "instructor_login.html", {"error": None}, status_code=401)
    store.close_overdue(request.app.state.policies)
    context = {
        "questions": question_stats(store.answer_rows(), bank),
        "students": student_scores(store.all_attempts()),
        "keys": OPTION_KEYS,
        "policies": request.app.state.policies,
        "when": when,
    }
    return render(request, "instructor.html", context)


@router.post("/login")
def login(request: Request, token: TokenDep, form: FormDep) -> Response:
    sent = field(form, "token")
    if not sent or not _check_guess(request, sent, token):
        error = "That is not the instructor token." if sent else "Enter the instructor token."
        return render(request, "instructor_login.html", {"error": error}, status_code=403)
    sessions: InstructorSessions = request.app.state.instructor_sessions
    sessions.end(request.session.get("instructor"))
    request.session["instructor"] = sessions.begin(token)
    return RedirectResponse("/instructor", status_code=303)


@router.post("/logout")
def logout(request: Request, form: FormDep) -> Response:
    sessions: InstructorSessions = request.app.state.instructor_sessions
    sessions.end(request.session.pop("instructor", None))
    return RedirectResponse("/", status_code=303)


@router.post("/regrade")
def regrade(
    request: Request, token: TokenDep, form: FormDep, store: StoreDep, bank: BankDep
) -> Response:
    _require(request, token)
    return render(request, "instructor_regraded.html", {"done": store.regrade(bank)})


@router.post("/merge")
def merge(request: Request, token: TokenDep, form: FormDep, store: StoreDep) -> Response:
    _require(request, token)
    ids = [field(form, "from"), field(form, "into")]
    if not all(value.isdigit() and in_range(int(value)) for value in ids):
        raise HTTPException(400, "Choose the two students to merge from the lists.")
    try:
        done = store.merge_students(int(ids[0]), int(ids[1]))
    except MergeError as exc:
        raise HTTPException(409, str(exc)) from None
    return render(request, "instructor_merged.html", {"done": done})


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/questions.csv")
def questions_export(request: Request, token: TokenDep, store: StoreDep, bank: BankDep) -> Response:
    _require(request, token)
    return _csv(questions_csv(question_stats(store.answer_rows(), bank)), "quiz-questions.csv")


@router.get("/students.csv")
def students_export(request: Request, token: TokenDep, store: StoreDep) -> Response:
    _require(request, token)
    return _csv(students_csv(student_scores(store.all_attempts())), "quiz-students.csv")
