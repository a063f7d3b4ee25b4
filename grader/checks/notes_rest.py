"""Talking to the notes API as a REST resource, the way every step from 7 on expects it to answer."""

from __future__ import annotations

from typing import Any

import httpx

from grader.checks.restart import NotesApi
from grader.feedback import CheckFailure
from grader.server import StudentServer

NOTE_KEYS = ("id", "text", "pinned", "created_at")
Note = dict[str, Any]
NOT_FOUND_HINT = (
    "Look the note up first (`db.get(Note, note_id)`); when that gives None, "
    "`raise HTTPException(status_code=404, detail=f\"Note {note_id} not found\")`."
)


def create_note(server: StudentServer, text: str, **fields: Any) -> Note:
    """POST /notes and return the note it answered, which must be 201 with every field."""
    response = server.request("POST", "/notes", json={"text": text, **fields})
    if response.status_code == 200:
        raise CheckFailure(
            "POST /notes answered 200 OK; a request that creates something answers 201 Created.",
            "Put the status on the decorator: `@app.post(\"/notes\", status_code=201)`.",
        )
    note = expect_note(server, response, (201,), text)
    if note["text"] != text:
        raise CheckFailure(
            f"POST /notes stored the text {note['text']!r}, but {text!r} was sent.",
            "Store the text exactly as it came in the body.",
        )
    return note


def expect_note(
    server: StudentServer, response: httpx.Response, codes: tuple[int, ...], sent_text: str = ""
) -> Note:
    """The body must be one note: a JSON object with id, text, pinned and created_at."""
    body = server.expect(response, codes, sent_text=sent_text)
    action = f"{response.request.method} {response.request.url.path}"
    if not isinstance(body, dict):
        raise CheckFailure(
            f"{action} answered {_short(body)}; it should be one note as a JSON object.",
            "Return the note: a NotePublic model (id, text, pinned, created_at), built from the row.",
        )
    missing = [key for key in NOTE_KEYS if key not in body]
    if missing:
        raise CheckFailure(
            f"{action} answered {_short(body)}, which lacks {', '.join(missing)}.",
            "A note is answered with all four fields: id, text, pinned and created_at. Declare "
            "them on the response model and return the row after `db.refresh(note)`.",
        )
    if type(body["id"]) is not int or type(body["pinned"]) is not bool:
        raise CheckFailure(
            f"{action} answered {_short(body)}: id must be a whole number and pinned true or false.",
            "Type the fields on the response model: `id: int`, `pinned: bool`.",
        )
    return body


def list_rest(server: StudentServer) -> list[Note]:
    """GET /notes, which must be a JSON array of notes."""
    body = server.expect(server.request("GET", "/notes"), (200,))
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise CheckFailure(
            f"GET /notes answered {_short(body)}; from this step on it is a JSON array of notes, "
            "each an object with id, text, pinned and created_at.",
            "Return a list of notes: `-> list[NotePublic]`, built from "
            "`db.scalars(select(Note).order_by(Note.id))`.",
        )
    return body


def expect_not_found(
    server: StudentServer, response: httpx.Response, what: str, hint: str = ""
) -> None:
    """A 404 whose body says what was not found, in FastAPI's {"detail": ...} shape."""
    action = f"{response.request.method} {response.request.url.path}"
    if response.status_code >= 500:
        last = server.settled_output().strip().splitlines()
        raise CheckFailure(
            f"{action} answered {response.status_code} for {what}: the server crashed instead of "
            f"answering 404 Not Found ({last[-1][:160] if last else 'no output'}).",
            hint or NOT_FOUND_HINT,
        )
    if response.status_code != 404:
        raise CheckFailure(
            f"{action} answered {response.status_code} for {what}; it should be 404 Not Found.",
            hint or NOT_FOUND_HINT,
        )
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if not isinstance(detail, str) or not detail:
        raise CheckFailure(
            f"{action} answered 404, but without a message: {response.text[:120]!r}.",
            "Raise `HTTPException(status_code=404, detail=\"Note 7 not found\")`; FastAPI sends "
            "it as {\"detail\": \"...\"}, which tells the client what went wrong.",
        )


def texts_by_id(server: StudentServer) -> dict[str, str]:
    """GET /notes as the restart test reads a listing: id (as a string) -> text."""
    return {str(note_id): str(note.get("text")) for note_id, note in by_id(list_rest(server)).items()}


def _created_id(server: StudentServer, text: str) -> int:
    return int(create_note(server, text)["id"])


REST_NOTES = NotesApi(_created_id, texts_by_id)


def by_id(notes: list[Note]) -> dict[int, Note]:
    return {note["id"]: note for note in notes if isinstance(note.get("id"), int)}


def _short(value: object, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def setup_note(server: StudentServer, text: str, **fields: Any) -> Note:
    """POST /notes for a check that only needs the note to exist: 200 or 201, with every field.

    The status itself is the create check's verdict, not every check's that makes a note.
    """
    response = server.request("POST", "/notes", json={"text": text, **fields})
    return expect_note(server, response, (200, 201), text)


def _setup_id(server: StudentServer, text: str) -> int:
    return int(setup_note(server, text)["id"])


SETUP_NOTES = NotesApi(_setup_id, texts_by_id)
