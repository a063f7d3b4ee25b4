"""What routes take from the app: settings, store, bank, course, templates, the student."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.responses import Response

from grader.course import Course
from grader.quiz.bank import Bank, Question
from grader.quiz.policy import Policies
from grader.quiz.store import Attempt, QuizStore, Student
from grader.quiz.versions import Versions
from grader.quiz.web.forms import csrf_token
from grader.quiz.web.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"
_CODE = re.compile(r"`([^`]+)`")
_DIGITS = re.compile(r"-?[0-9]+")  # a negative number is out of range, as on a GET
MAX_ID = 2**31 - 1  # the largest id or position every database's integer column holds


def prose(text: str) -> Markup:
    """Bank text, escaped, with `backticked` spans as <code>."""
    return Markup(_CODE.sub(r"<code>\1</code>", str(escape(text))))


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _page_context(request: Request) -> dict[str, Any]:
    """Every page: this session's CSRF token, and the course steps by slug for step links."""
    course: Course = request.app.state.course
    return {"csrf_token": csrf_token(request), "steps": {s.slug: s for s in course.steps}}


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=TEMPLATES, context_processors=[_page_context])
    templates.env.filters["prose"] = prose
    templates.env.filters["percent"] = percent
    return templates


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _state(name: str) -> Any:
    async def get(request: Request) -> Any:  # async: no thread hop for an attribute read
        return getattr(request.app.state, name)

    return Depends(get)


SettingsDep = Annotated[Settings, _state("settings")]
StoreDep = Annotated[QuizStore, _state("store")]
BankDep = Annotated[Bank, _state("bank")]
CourseDep = Annotated[Course, _state("course")]
VersionsDep = Annotated[Versions, _state("versions")]
PoliciesDep = Annotated[Policies, _state("policies")]


def current_student(request: Request, store: QuizStore) -> Student | None:
    """The student this browser's signed session belongs to, if any; a student an instructor
    merged into another is that other from now on."""
    student_id = request.session.get("student")
    student = store.student(student_id) if isinstance(student_id, int) else None
    if student is not None and student.merged_into is not None:
        student = store.student(student.merged_into)
        if student is not None:
            request.session["student"] = student.id
    return student


def check_owner(session_student: object, attempt_id: int, owner_id: int) -> None:
    """404 unless the student of this browser's session is the attempt's: the same answer as
    for an attempt that does not exist, so nobody learns which ids do."""
    if session_student != owner_id:
        raise no_attempt(attempt_id)


def no_attempt(attempt_id: int | str) -> HTTPException:
    return HTTPException(
        404,
        f"There is no attempt {attempt_id} in this browser. Your attempts are listed on the "
        "home page, where you can also start a new one.",
    )


def no_position(attempt_id: int, position: int | str) -> HTTPException:
    return HTTPException(404, f"There is no question {position} in attempt {attempt_id}.")


def in_range(value: int) -> bool:
    """Whether `value` can be an id or a position at all; anything else never reaches SQL."""
    return 1 <= value <= MAX_ID


def no_question(attempt_id: int, position: int, total: int) -> HTTPException:
    return HTTPException(
        404,
        f"There is no question {position} in attempt {attempt_id}: it has questions 1 to {total}.",
    )


def served_question(
    versions: Versions, question_id: str, version: str | None, params: str | None = None
) -> Question:
    """The question as the attempt was served it (a variant rendered with its parameters), or
    410 for an attempt made before versions were kept whose question has left the bank since."""
    try:
        return versions.question(question_id, version, params)
    except KeyError:
        raise HTTPException(
            410, f"Question {question_id!r} is no longer in the bank; start a new attempt."
        ) from None


def owned_attempt(request: Request, store: QuizStore, attempt_id: int) -> Attempt:
    """The attempt, if it exists and is this browser's student's; else 404."""
    attempt = store.attempt(attempt_id) if in_range(attempt_id) else None
    if attempt is None:
        raise no_attempt(attempt_id)
    if request.session.get("student") != attempt.student_id:
        student = current_student(request, store)  # the session may name a merged student
        check_owner(student.id if student else None, attempt_id, attempt.student_id)
    return attempt


def path_int(request: Request, name: str, missing: Callable[[str], HTTPException]) -> int:
    """A whole-number path parameter, refused as FastAPI refuses a bad `int` parameter (400
    through the app's handler), or with `missing(value)` when it is out of range, for the answer
    route, where FastAPI's parameter solving is a measurable share of the request's time in
    the event loop (benchmarks/quiz_load.py)."""
    value = request.path_params[name]
    if _DIGITS.fullmatch(value):
        if len(value) > 10 or not in_range(int(value)):
            raise missing(value)
        return int(value)
    error = {
        "type": "int_parsing",
        "loc": ("path", name),
        "input": value,
        "msg": "Input should be a valid integer, unable to parse string as an integer",
    }
    raise RequestValidationError([error])
