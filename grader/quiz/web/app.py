"""The app factory: settings in, a FastAPI app with its store, bank and course out."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http import HTTPStatus
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import Response

from grader.course import load_course
from grader.quiz.answers import Deadlines
from grader.quiz.bank import load_bank
from grader.quiz.policy import load_policies
from grader.quiz.store import QuizStore
from grader.quiz.versions import Versions
from grader.quiz.web import instructor, student, submissions
from grader.quiz.web.deps import make_templates, render
from grader.quiz.web.forms import BodyLimit
from grader.quiz.web.headers import SecurityHeaders
from grader.quiz.web.sessions import SignedSessions
from grader.quiz.web.settings import Settings
from grader.quiz.web.signin import GuessLimit, InstructorSessions
from grader.quiz.web.writer import GroupWriter

STATIC = Path(__file__).resolve().parent / "static"
SESSION_DAYS = 14
YOUNG_GENERATION = 10_000  # allocations between young collections (Python's default: 700)


def create_app(settings: Settings) -> FastAPI:
    """A quiz app over the database in `settings`; its tables are created if missing."""
    store = QuizStore(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    writer = GroupWriter(store)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        with _collector_for_serving():
            yield
        writer.close()
        store.close()

    app = FastAPI(
        title="persistlab quizzes", lifespan=lifespan, docs_url=None, redoc_url=None,
        openapi_url=None,
    )  # fmt: skip
    app.state.settings = settings
    app.state.store = store
    app.state.writer = writer
    app.state.bank = load_bank(settings.quiz_dir)
    app.state.policies = load_policies(settings.quiz_settings, app.state.bank.topics())
    # Read by the writer thread alone, before each answer, where some quiz has a deadline.
    app.state.deadlines = Deadlines(app.state.policies) if app.state.policies.timed else None
    app.state.versions = Versions(app.state.bank, store)
    app.state.instructor_sessions = InstructorSessions(store, store.secret_key())
    app.state.guesses = GuessLimit()
    app.state.course = load_course()
    app.state.templates = make_templates()
    app.add_middleware(
        SignedSessions,
        secret_key=settings.secret_key or store.secret_key(),
        session_cookie="persistlab_session",
        max_age=SESSION_DAYS * 24 * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(Exception, _server_error)
    app.router.routes.extend(submissions.routes)  # first: the hot path
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(student.router)
    app.include_router(instructor.router)
    return app


@contextmanager
def _collector_for_serving() -> Iterator[None]:
    """Python's cyclic garbage collector, set for a server whose requests wait on the writer.

    A request waiting for its commit keeps its objects alive, so with 64 in flight a young
    collection every 700 allocations found nothing to free, and moved them all on, bringing
    on full collections that walked the ~100,000 objects made at startup (tens of ms each).
    Young collections come every YOUNG_GENERATION allocations instead, and what exists at
    startup, which lives as long as the app, is frozen out of the collector's walks.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def app_from_env() -> FastAPI:
    """For `uvicorn --factory grader.quiz.web:app_from_env`."""
    return create_app(Settings.from_env())


_DEFAULT_MESSAGES = {
    404: "There is no such page here.",
    405: "This address does not take that kind of request.",
}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    message = exc.detail if exc.detail != phrase else _DEFAULT_MESSAGES.get(exc.status_code, phrase)
    context = {"status": exc.status_code, "phrase": phrase, "message": message}
    response = render(request, "error.html", context, status_code=exc.status_code)
    response.headers.update(exc.headers or {})
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    """Anything unexpected: the app's own page (the error itself goes to the server's log)."""
    message = (
        "Something went wrong on the server, and what this request asked for was not saved. "
        "Go back and try again; if it happens again, tell your instructor."
    )
    context = {"status": 500, "phrase": "Internal Server Error", "message": message}
    request.scope.setdefault("session", {})  # the error may come before the session was read
    return render(request, "error.html", context, status_code=500)


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    where = ", ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', '')}"
        for err in exc.errors()
    )
    context = {"status": 400, "phrase": "Bad Request", "message": f"Bad request ({where})."}
    return render(request, "error.html", context, status_code=400)
