"""Talking to the notes API as a REST resource, the way every step from 7 on expects it to answer."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import httpx

from grader.checks.notes_api import expect_success
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
    """POST /notes to set up a check: any 2xx whose body holds the new note's id will do.

    Returns the note as answered, with what was sent filling any field the answer lacks; the
    status and the shape of the answer are `expect_created`'s to judge.
    """
    sent = {"text": text, **fields}
    response = server.request("POST", "/notes", json=sent)
    body = expect_success(server, response, (201,), sent_text=text)
    if not isinstance(body, dict) or type(body.get("id")) is not int:
        raise CheckFailure(
            f"POST /notes answered {_short(body)}; it should answer the new note, with its id "
            "(a whole number).",
            "Return the note after the commit: `db.refresh(note)`, then "
            "`return NotePublic.model_validate(note)`.",
        )
    return {**sent, **body}


def expect_created(server: StudentServer, text: str, **fields: Any) -> Note:
    """POST /notes, which must answer 201 with the note and every field, holding the text sent."""
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
    if not _is_notes(body):
        raise _not_a_listing(body)
    return body


def listed_notes(server: StudentServer) -> list[Note]:
    """GET /notes to read notes back for a check that does not test the listing's shape: any 2xx
    with an array of notes, an object holding one, or an object of id -> note (or -> text)."""
    body = expect_success(server, server.request("GET", "/notes"), (200,))
    if isinstance(body, dict):
        inner = [value for value in body.values() if _is_notes(value)]
        if len(inner) == 1:
            body = inner[0]
        elif all(isinstance(value, (dict, str)) for value in body.values()):
            body = [
                {"id": _int(key), **(value if isinstance(value, dict) else {"text": value})}
                for key, value in body.items()
            ]
    if not _is_notes(body):
        raise _not_a_listing(body)
    return body


def _not_a_listing(body: object) -> CheckFailure:
    return CheckFailure(
        f"GET /notes answered {_short(body)}; from this step on it is a JSON array of notes, "
        "each an object with id, text, pinned and created_at.",
        "Return a list of notes: `-> list[NotePublic]`, built from "
        "`db.scalars(select(Note).order_by(Note.id))`.",
    )


def _is_notes(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _int(key: str) -> int | str:
    return int(key) if key.isdecimal() else key  # isdigit() holds for "²", which int() refuses


def expect_not_found(
    server: StudentServer, response: httpx.Response, what: str, hint: str = "", detail: str = ""
) -> None:
    """A 404 whose body says what was not found, in FastAPI's {"detail": ...} shape: `detail`
    exactly (but for case and a full stop) when the task prescribes one, else any but FastAPI's
    own "Not Found", which is what a path with no route answers."""
    expect_refusal(server, response, 404, what, hint or NOT_FOUND_HINT, detail)


def expect_refusal(
    server: StudentServer, response: httpx.Response, code: int, what: str, hint: str, detail: str = ""
) -> None:
    """`code` (404, 409) with a message of its own in {"detail": ...}; `detail`, if given, exactly."""
    action = f"{response.request.method} {response.request.url.path}"
    phrase = HTTPStatus(code).phrase
    if response.status_code >= 500:
        last = server.settled_output().strip().splitlines()
        raise CheckFailure(
            f"{action} answered {response.status_code} for {what}: the server crashed instead of "
            f"answering {code} {phrase} ({last[-1][:160] if last else 'no output'}).",
            hint,
        )
    if response.status_code != code:
        raise CheckFailure(
            f"{action} answered {response.status_code} for {what}; it should be {code} {phrase}.",
            hint,
        )
    try:
        said = response.json().get("detail")
    except (ValueError, AttributeError):
        said = None
    if not isinstance(said, str) or not said.strip():
        raise CheckFailure(
            f"{action} answered {code}, but without a message in {{\"detail\": \"...\"}}: "
            f"{response.text[:120]!r}. The detail tells the client what went wrong.",
            hint,
        )
    if _plain(said) == _plain(phrase):
        raise CheckFailure(
            f"{action} answered {code} with FastAPI's own {{\"detail\": \"{said}\"}} for {what}. "
            "A path that has no route at all answers exactly the same, so a client cannot tell "
            "the two apart: the message should say what was not there.",
            hint,
        )
    if detail and _plain(said) != _plain(detail):
        raise CheckFailure(
            f"{action} answered {code} for {what}, with the detail {said!r}; the task asks for "
            f"{detail!r}, naming the id, so a client (or whoever reads the logs) knows which one.",
            hint,
        )


def _plain(text: str) -> str:
    return text.strip().rstrip(".").casefold()


def note_not_found(note_id: int) -> str:
    """The detail step 7's README prescribes for a missing note."""
    return f"Note {note_id} not found"


def texts_by_id(server: StudentServer) -> dict[str, str]:
    """GET /notes as the restart test reads a listing: id (as a string) -> text."""
    return {str(note_id): str(note.get("text")) for note_id, note in by_id(listed_notes(server)).items()}


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
