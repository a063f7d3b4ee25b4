"""Answers of a shape no check expects (a note's text or id a list, null in a list of notes, the
note in an array) fail the check that reads them, never the grader: each check here runs against
a small notes API in memory, with one route's answers made odd."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from grader.engine.limits import Limits
from grader.feedback import CheckFailure
from grader.server import StudentServer

Odd = Callable[[Any], Any]


class NotesInMemory:
    """Users and notes as the reference solution of step 9 keeps them, over httpx's MockTransport;
    answers to requests matching `route` ("METHOD path", a regular expression) pass through `odd`."""

    def __init__(self, route: str, odd: Odd) -> None:
        self.route, self.odd = route, odd
        self.notes: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        status, body = self.answer(request.method, request.url.path, request)
        if re.fullmatch(self.route, f"{request.method} {request.url.path}"):
            body = self.odd(body)
        if body is None:
            return httpx.Response(status)
        # json.dumps writes what a student's app may send and httpx would refuse: Infinity, NaN
        return httpx.Response(status, content=json.dumps(body), headers={"content-type": "application/json"})

    def answer(self, method: str, path: str, request: httpx.Request) -> tuple[int, Any]:
        sent = json.loads(request.content) if request.content else {}
        if (method, path) == ("POST", "/users"):
            user = self.users[len(self.users) + 1] = {"id": len(self.users) + 1, **sent}
            return 201, user
        if match := re.fullmatch(r"/users/(\d+)(/notes)?", path):
            owner = int(match[1])
            owned = [n for n in self.notes.values() if n["owner_id"] == owner]
            if match[2]:
                return 200, owned
            return (409, {"detail": f"User {owner} still owns notes"}) if owned else (204, None)
        if (method, path) == ("POST", "/notes"):
            note_id = len(self.notes) + 1
            note = {"id": note_id, "pinned": False, "priority": 0, "owner_id": None,
                    "created_at": "2026-12-01T23:59:00", **sent}
            self.notes[note_id] = note
            return 201, note
        if (method, path) == ("GET", "/notes"):
            pinned = request.url.params.get("pinned")
            return 200, [n for n in self.notes.values() if pinned is None or str(n["pinned"]).lower() == pinned]
        return 404, {"detail": "Not Found"}


class Quiet:
    """The process of a server that is running, and says nothing."""

    def returncode(self) -> None:
        return None

    def output(self) -> str:
        return ""


def server_of(app: NotesInMemory, tmp_path: Path) -> StudentServer:
    server = StudentServer(tmp_path, Limits(), tmp_path)
    server._client = httpx.Client(transport=httpx.MockTransport(app), base_url="http://student")
    server.process = Quiet()  # type: ignore[assignment]
    return server


def each_note(change: Callable[[dict[str, Any]], dict[str, Any]]) -> Odd:
    return lambda body: [change(n) for n in body] if isinstance(body, list) else change(body)


@pytest.fixture(autouse=True)
def check_marker(pytestconfig: pytest.Config) -> None:
    """The marker the check modules put on their checks, which this suite does not declare."""
    pytestconfig.addinivalue_line("markers", "persistlab(points, task): a check of the course")


def check_named(name: str) -> Callable[[StudentServer], None]:
    """A check function, "module.function" in grader.checks (imported in a test: the check modules
    put their marker on their checks as they load)."""
    module, function = name.split(".")
    return getattr(importlib.import_module(f"grader.checks.{module}"), function)  # type: ignore[no-any-return]


ODD = [
    ("texts-as-lists", "step07_crud_rest.test_concurrent_posts", "GET /notes",
     each_note(lambda n: {**n, "text": [n["text"]]})),
    ("ids-as-objects", "step08_schema_change.test_filter_by_pinned", "GET /notes",
     each_note(lambda n: {**n, "id": {"id": n["id"]}})),
    ("ids-out-of-range", "step08_schema_change.test_filter_by_pinned", "GET /notes",
     each_note(lambda n: {**n, "id": float("inf")})),
    ("null-in-a-users-notes", "step09_relations_and_transactions.test_notes_have_an_owner", r"GET /users/\d+/notes",
     lambda body: [None, *body]),
    ("note-in-an-array", "step09_relations_and_transactions.test_deleting_a_user_with_notes", "POST /notes", lambda body: [body]),
]


@pytest.mark.parametrize(("check", "route", "odd"), [o[1:] for o in ODD], ids=[o[0] for o in ODD])
def test_an_odd_answer_fails_the_check(check: str, route: str, odd: Odd, tmp_path: Path) -> None:
    server = server_of(NotesInMemory(route, odd), tmp_path)
    with pytest.raises(CheckFailure):
        check_named(check)(server)


def test_the_checks_pass_the_api_answered_plainly(tmp_path: Path) -> None:
    """The in-memory API is sound: with no answer made odd, every check above passes."""
    for _, check, _, _ in ODD:
        check_named(check)(server_of(NotesInMemory("none", lambda body: body), tmp_path))


def test_a_listing_read_for_setup_takes_any_json(tmp_path: Path) -> None:
    from grader.checks.notes_rest import texts_by_id

    odd = NotesInMemory("GET /notes", lambda body: {"²": "a superscript two", "1": {"text": ["x"]}})
    assert texts_by_id(server_of(odd, tmp_path)) == {"1": "['x']"}


def test_step4_listing_with_lists_for_texts_fails_the_check() -> None:
    from grader.checks.notes_api import expect_listing

    with pytest.raises(CheckFailure, match="is missing"):
        expect_listing({"1": ["first"], "2": {"t": 1}}, {1: "first"}, "After one note")
