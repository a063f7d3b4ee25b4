"""Step 7: /notes as a REST resource: create, read, update, delete, validation, under load."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from grader.checks.notes_api import expect_success, random_text
from grader.checks.notes_rest import (
    REST_NOTES,
    by_id,
    create_note,
    expect_created,
    expect_not_found,
    expect_note,
    list_rest,
    listed_notes,
    note_not_found,
)
from grader.checks.orm_app import ORM_COMMIT_HINT
from grader.checks.restart import DB_FILE, graceful_restart_check, restart_fixture, stored_texts
from grader.feedback import CheckFailure
from grader.plugin import check
from grader.server import StudentServer

CONCURRENT = 50
MISSING_ID = 987654
BAD_BODIES = {
    "an empty text": {"text": ""},
    "a text of 501 characters": {"text": "x" * 501},
    "no text at all": {"pinned": True},
    "pinned set to \"maybe\"": {"text": "a note", "pinned": "maybe"},
}
VALIDATION_HINT = (
    "Let Pydantic check the body: `text: str = Field(min_length=1, max_length=500)` and "
    "`pinned: bool = False` on NoteBase, which NoteCreate and NoteUpdate both extend, and "
    "take that model as the body of POST and PUT."
)
_SHARED_SESSION = (
    "PendingRollbackError", "IllegalStateChangeError", "already flushing",
    "concurrent operations are not permitted", "InvalidRequestError", "ResourceClosedError",
)


@check(points=2, task=1)
def test_create_answers_201(server: StudentServer) -> None:
    """POST /notes answers 201 with the note: id, text, pinned (false by default), created_at"""
    plain = expect_created(server, random_text())
    if plain["pinned"] is not False:
        raise CheckFailure(
            f"A note sent without pinned came back with pinned={plain['pinned']!r}.",
            "Give the field a default on the schema: `pinned: bool = False`.",
        )
    pinned = expect_created(server, random_text(), pinned=True)
    if pinned["pinned"] is not True:
        raise CheckFailure(
            "A note sent with \"pinned\": true came back with pinned false.",
            "Pass every field of the body to the row: `Note(**body.model_dump())`.",
        )
    if pinned["id"] == plain["id"]:
        raise CheckFailure("Two new notes got the same id.", "Let the database choose the ids.")


@check(points=2, task=2)
def test_list_and_read_one(server: StudentServer) -> None:
    """GET /notes lists every note; GET /notes/{id} answers one, or 404 with a detail"""
    texts = [random_text() for _ in range(2)]
    ids = [create_note(server, text)["id"] for text in texts]
    listed = by_id(list_rest(server))
    for note_id, text in zip(ids, texts):
        if listed.get(note_id, {}).get("text") != text:
            raise CheckFailure(
                f"GET /notes does not list note {note_id} ({text!r}).",
                "List every row of the notes table, in id order.",
            )
    one = expect_note(server, server.request("GET", f"/notes/{ids[1]}"), (200,))
    if one["text"] != texts[1]:
        raise CheckFailure(
            f"GET /notes/{ids[1]} answered the note {one['text']!r}, not {texts[1]!r}.",
            "Look the note up by the id in the path: `db.get(Note, note_id)`.",
        )
    expect_not_found(
        server, server.request("GET", f"/notes/{MISSING_ID}"), "a note that does not exist",
        detail=note_not_found(MISSING_ID),
    )


@check(points=2, task=3)
def test_update(server: StudentServer) -> None:
    """PUT /notes/{id} changes the note and answers it, or 404 for a missing note"""
    note_id = create_note(server, random_text())["id"]
    text = random_text()
    path = f"/notes/{note_id}"
    updated = expect_note(server, server.request("PUT", path, json={"text": text, "pinned": True}), (200,))
    if updated["text"] != text or updated["pinned"] is not True or updated["id"] != note_id:
        raise CheckFailure(
            f"PUT {path} with a new text and pinned true answered {updated!r}.",
            "Set every field of the body on the row, commit, and answer the row: "
            "`for field, value in body.model_dump().items(): setattr(note, field, value)`.",
        )
    again = by_id(listed_notes(server)).get(note_id, {})
    if again.get("text") != text or again.get("pinned") is not True:
        raise CheckFailure(
            f"PUT {path} answered the new text, but GET /notes still shows {again.get('text')!r}.",
            "The change was never committed: call `db.commit()` after changing the row.",
        )
    response = server.request("PUT", f"/notes/{MISSING_ID}", json={"text": text})
    expect_not_found(server, response, "a note that does not exist", detail=note_not_found(MISSING_ID))


@check(points=2, task=4)
def test_delete(server: StudentServer) -> None:
    """DELETE /notes/{id} answers 204 with no body, then the note is gone; a second DELETE is 404"""
    note_id = create_note(server, random_text())["id"]
    path = f"/notes/{note_id}"
    response = server.request("DELETE", path)
    if response.status_code != 204:
        if 200 <= response.status_code < 300:
            raise CheckFailure(
                f"DELETE {path} answered {response.status_code}; a delete that worked answers "
                "204 No Content, with an empty body.",
                "Declare the route with `status_code=204` and answer `Response(status_code=204)`.",
            )
        server.expect(response, (204,))
    if response.content:
        raise CheckFailure(
            f"DELETE {path} answered 204 with a body ({response.text[:80]!r}); 204 means no content.",
            "Answer `Response(status_code=204)`, or return None from a route declared with "
            "`status_code=204`.",
        )
    if note_id in by_id(listed_notes(server)):
        raise CheckFailure(
            f"DELETE {path} answered 204, but GET /notes still lists note {note_id}.",
            "The row was not removed for good: `db.delete(note)` then `db.commit()`. Without the "
            "commit, closing the session rolls the DELETE back.",
        )
    expect_not_found(
        server, server.request("DELETE", path), "a note deleted a moment ago", detail=note_not_found(note_id)
    )


@check(points=2, task=5)
def test_bad_input_is_refused(server: StudentServer) -> None:
    """POST and PUT refuse with 422 a text that is not 1 to 500 characters, or a pinned that is no boolean"""
    note_id = create_note(server, random_text())["id"]
    for method, path in (("POST", "/notes"), ("PUT", f"/notes/{note_id}")):
        for what, body in BAD_BODIES.items():
            response = server.request(method, path, json=body)
            if response.status_code != 422:
                raise CheckFailure(
                    f"{method} {path} with {what} answered {response.status_code}; it should be "
                    "refused with 422 Unprocessable Entity.",
                    VALIDATION_HINT,
                )
    longest = create_note(server, "y" * 500)
    if len(str(longest["text"])) != 500:
        raise CheckFailure("A note of exactly 500 characters was cut short.", "500 is allowed.")
    shortest = server.request("POST", "/notes", json={"text": "y"})
    if not 200 <= shortest.status_code < 300:
        raise CheckFailure(
            f"POST /notes with a text of 1 character answered {shortest.status_code}; 1 to 500 "
            "characters are allowed.",
            VALIDATION_HINT,
        )


restart = restart_fixture(ORM_COMMIT_HINT, api=REST_NOTES)


@check(points=2, task=6)
def test_changes_survive_a_restart(spawn: Callable[..., StudentServer]) -> None:
    """after a SIGKILL and a restart, updates are kept, deleted notes stay deleted, ids are not reused, all in DATABASE_URL's file"""
    elsewhere = f"elsewhere-{secrets.token_hex(3)}.db"
    url = f"sqlite:///{elsewhere}"
    folder, kept = changes_survive_a_restart(lambda *folder: spawn(*folder, env={"DATABASE_URL": url}))
    if kept not in (stored_texts(folder / elsewhere) or []):
        raise CheckFailure(
            f"The server was started with DATABASE_URL={url}, but {elsewhere} does not hold its "
            "notes: the engine is not made from the address in DATABASE_URL.",
            "Keep database.py as step 6 made it: `create_engine(os.environ.get(\"DATABASE_URL\", "
            "\"sqlite:///notes.db\"), ...)`.",
        )


def changes_survive_a_restart(spawn: Callable[..., StudentServer]) -> tuple[Path, str]:
    """after a SIGKILL and a restart, updates are kept, deleted notes stay deleted, ids are not reused"""
    first = spawn()
    sent = [random_text() for _ in range(3)]
    made = [create_note(first, text) for text in sent]
    kept, changed, doomed = (note["id"] for note in made)
    new_text = random_text()
    expect_success(first, first.request("PUT", f"/notes/{changed}", json={"text": new_text, "pinned": True}), (200,))
    response = first.request("DELETE", f"/notes/{doomed}")
    if not 200 <= response.status_code < 300:
        first.expect(response, (204,))
    first.crash()
    second = spawn(first.folder)
    listed = by_id(listed_notes(second))
    if doomed in listed:
        raise CheckFailure(
            f"Note {doomed} was deleted ({response.status_code}), but after the server was killed "
            "and started again it is back: the DELETE was never committed.",
            "Call `db.commit()` after `db.delete(note)`.",
        )
    kept_as = (sent[0], made[0].get("pinned", False))  # the default is the create check's to judge
    for note_id, expected, what in ((kept, kept_as, "a note"), (changed, (new_text, True), "an updated note")):
        now = listed.get(note_id)
        if now is None or (now.get("text"), now.get("pinned")) != expected:
            raise CheckFailure(
                f"After the server was killed and started again, {what} (id {note_id}) is "
                f"{'missing' if now is None else repr(now)}; it should have the text "
                f"{expected[0]!r} and pinned {str(expected[1]).lower()}.",
                "Commit every change before answering: `db.commit()` in each route that writes.",
            )
    fresh = create_note(second, random_text())["id"]
    if fresh <= doomed:
        raise CheckFailure(
            f"Note {doomed} was deleted, and after the restart a new note got id "
            f"{fresh}. A client holding the old id would now read someone else's note.",
            "Tell SQLite never to reuse an id: `__table_args__ = {\"sqlite_autoincrement\": True}` "
            "on the model (it adds AUTOINCREMENT to the id column). Delete the old notes.db after.",
        )
    return first.folder, sent[0]


test_notes_survive_a_graceful_restart = graceful_restart_check(points=1, task=6, kept_in=DB_FILE)


@check(points=3, task=6)
def test_concurrent_posts(server: StudentServer) -> None:
    """50 POSTs sent at once all succeed, with 50 different ids, and all are listed"""
    texts = [random_text() for _ in range(CONCURRENT)]

    def post(text: str) -> httpx.Response:
        return server.request("POST", "/notes", json={"text": text})

    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        responses = list(pool.map(post, texts))
    failed = [r for r in responses if not 200 <= r.status_code < 300]
    if failed:
        output = server.settled_output()
        if "database is locked" in output:
            raise CheckFailure(
                f"{len(failed)} of {CONCURRENT} POSTs sent at once failed with \"database is "
                "locked\": SQLite lets one connection write at a time, and the others gave up.",
                "Keep each write short, one session per request, committed and closed by get_db. "
                "Never share one session or connection between requests.",
            )
        if any(words in output for words in _SHARED_SESSION):
            raise CheckFailure(
                f"{len(failed)} of {CONCURRENT} POSTs sent at once failed with a session error "
                f"({_SHARED_SESSION[[w in output for w in _SHARED_SESSION].index(True)]}): "
                "several requests used the same session at once.",
                "A session is not shared: get_db must make a new one with `SessionLocal()` on "
                "every call, never yield one made at module level.",
            )
        server.expect(failed[0], (201,))
    ids = {_answered_id(r) for r in responses} - {None}
    if len(ids) != CONCURRENT:
        raise CheckFailure(
            f"{CONCURRENT} POSTs sent at once got only {len(ids)} different ids.",
            "Let the database choose each id inside the INSERT; never compute it in Python.",
        )
    stored = [note.get("text") for note in listed_notes(server)]  # texts as answered: any JSON
    lost = [text for text in texts if text not in stored]
    if lost:
        raise CheckFailure(
            f"{len(lost)} of {CONCURRENT} notes posted at once were answered as created but are "
            "not listed.",
            "One session per request, from get_db: a session shared between requests mixes "
            "their changes up.",
        )


def _answered_id(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    note_id = body.get("id") if isinstance(body, dict) else None
    return note_id if type(note_id) is int else None
