"""Step 3: POST /add_note stores a note under next_id and answers with its id."""

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grader.checks.bindings import READ_ONLY_METHODS, Unreadable, parse
from grader.checks.notes_api import add_note, random_text
from grader.checks.restart import Phases
from grader.feedback import CheckFailure
from grader.plugin import Target, check, fresh_server, settle
from grader.server import StudentServer


class Adding(Phases):
    """One fresh server for the first two checks: the first note, then two more.

    The second check's verdict is the same as on a server of its own (it sees the ids of three
    notes added to a fresh server); a handler that hung on the first note is not waited on again.
    """

    def __init__(self, start: Callable[[], StudentServer], latest: dict[str, StudentServer]) -> None:
        super().__init__()
        self.start, self.latest = start, latest

    def phase(self, name: str) -> Any:
        try:
            return super().phase(name)
        finally:
            settle(self.latest)  # a server that hung is killed now, not at the next start

    def _first(self) -> int:
        self.server = self.start()
        return add_note(self.server, random_text())

    def _more(self) -> list[int]:
        self._needs("first", "the ids of the notes after it")
        return [add_note(self.server, random_text()) for _ in range(2)]


@pytest.fixture(scope="module")
def adding(spawn: Callable[..., StudentServer], latest: dict[str, StudentServer]) -> Adding:
    return Adding(lambda: fresh_server(spawn, latest), latest)


@check(points=3, task=1)
def test_first_note_gets_id_one(adding: Adding, target: Target) -> None:
    """POST /add_note with a JSON body answers {"id": 1} for the first note, and stores it in notes_db"""
    note_id = adding.phase("first")
    if note_id != 1:
        raise CheckFailure(
            f"The first note got id {note_id}; with next_id starting at 1 it should get 1.",
            "Store the note under the current next_id, and only then add 1 to next_id.",
        )
    if not changes_notes_db(target.folder / "main.py"):
        raise CheckFailure(
            "The note got its id, but no function in main.py stores anything in notes_db, so the "
            "text is lost as soon as the request is answered.",
            "In the route, store the text under its id: `notes_db[note_id] = note.text`.",
        )


def changes_notes_db(main_py: Path) -> bool:
    """Whether a function in main.py writes into notes_db (an item set, or a method that is not
    read-only); read from the syntax tree, since step 3 has no route that reads the notes."""
    try:
        tree, _ = parse(main_py)
    except Unreadable:
        return True  # the server started, so Python read it; the HTTP checks are the judge
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            target = node.value if isinstance(node, (ast.Subscript, ast.Attribute)) else None
            if isinstance(node, ast.AugAssign):
                target = node.target
            if not (isinstance(target, ast.Name) and target.id == "notes_db"):
                continue
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
                return True
            if isinstance(node, ast.Attribute) and node.attr not in READ_ONLY_METHODS:
                return True
            if isinstance(node, ast.AugAssign):
                return True
    return False


@check(points=3, task=2)
def test_ids_count_up(adding: Adding) -> None:
    """each new note gets the next id: 1, 2, 3"""
    more = adding.phase("more")  # says why, if the first note could not be added
    ids = [adding.phase("first"), *more]
    if ids == [1, 1, 1]:
        raise CheckFailure(
            "Three notes all got id 1: next_id never goes up, so each note overwrites the last.",
            "After storing the note, add one to the counter: `next_id += 1` (with `global next_id`).",
        )
    if ids[1:] != [ids[0] + 1, ids[0] + 2]:  # where the count starts is the first check's verdict
        raise CheckFailure(
            f"Three notes got ids {ids}; each should get the id after the one before, like 1, 2 and 3.",
            "Use next_id as the new note's id, then increase it by exactly one.",
        )


@check(points=2, task=3)
def test_rejects_a_body_without_text(running_server: StudentServer) -> None:
    """a body with no text, or text that is not a string, is refused with 422"""
    for body in ({}, {"text": 42}, {"text": ["a", "b"]}, {"note": "wrong field"}):
        response = running_server.request("POST", "/add_note", json=body)
        if response.status_code != 422:
            raise CheckFailure(
                f"POST /add_note with the body {body} answered {response.status_code}; "
                "it should be refused with 422 Unprocessable Entity.",
                "Let FastAPI validate the body: take a Pydantic model with `text: str` as the "
                "parameter, instead of a plain dict or the raw Request.",
            )
