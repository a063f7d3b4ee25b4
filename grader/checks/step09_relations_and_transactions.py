"""Step 9: users own notes through an enforced foreign key; an import is one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from grader.checks.notes_api import random_text
from grader.checks.notes_rest import by_id, expect_not_found, list_rest, texts_by_id
from grader.checks.orm_app import ORM_COMMIT_HINT
from grader.checks.restart import DB_FILE, NotesApi, graceful_restart_check, restart_fixture
from grader.feedback import CheckFailure
from grader.plugin import check
from grader.server import StudentServer

MISSING_ID = 987654
REFUSED = (404, 409, 422)
PRAGMA_HINT = (
    "SQLite ignores foreign keys unless each connection turns them on. In database.py: "
    "`@event.listens_for(engine, \"connect\")` on a function that runs "
    "`dbapi_connection.execute(\"PRAGMA foreign_keys = ON\")`."
)
ATOMIC_HINT = (
    "Add every note of the import to the session, then commit once: `db.add_all(notes)`, "
    "`db.commit()`. If the commit fails, `db.rollback()` and answer 409: nothing was written. "
    "A commit inside the loop saves the first notes before the bad one is seen."
)


def create_user(server: StudentServer, name: str) -> dict[str, Any]:
    response = server.request("POST", "/users", json={"name": name})
    body = server.expect(response, (201,), sent_text=name)
    if not isinstance(body, dict) or type(body.get("id")) is not int or body.get("name") != name:
        raise CheckFailure(
            f"POST /users answered {body!r}; it should be the user: {{\"id\": ..., \"name\": {name!r}}}.",
            "Answer a UserPublic (id, name) built from the row, with status_code=201.",
        )
    return body


def post_note(server: StudentServer, owner_id: int, text: str = "") -> Any:
    return server.request("POST", "/notes", json={"text": text or random_text(), "owner_id": owner_id})


def user_notes(server: StudentServer, user_id: int) -> list[dict[str, Any]]:
    body = server.expect(server.request("GET", f"/users/{user_id}/notes"), (200,))
    if not isinstance(body, list):
        raise CheckFailure(
            f"GET /users/{user_id}/notes answered {body!r}; it should be a list of notes.",
            "Answer `list[NotePublic]`: the notes whose owner_id is the user's id.",
        )
    return body


def _owned_note_id(server: StudentServer, text: str) -> int:
    """A note for a new user, as the restart test adds one: its id."""
    owner = create_user(server, random_text())
    body = server.expect(post_note(server, owner["id"], text), (201,), sent_text=text)
    if not isinstance(body, dict) or type(body.get("id")) is not int:
        raise CheckFailure(f"POST /notes answered {body!r}, without an id.", "Answer the note (NotePublic).")
    return int(body["id"])


OWNED_NOTES = NotesApi(_owned_note_id, texts_by_id)
restart = restart_fixture(ORM_COMMIT_HINT, api=OWNED_NOTES)
DELETE_HINT = (
    "Leave the foreign key as it is, without ondelete, and without a relationship() that "
    "cascades or sets owner_id to NULL: the database then refuses the DELETE. Catch it: "
    "`except IntegrityError: db.rollback()`, and raise `HTTPException(status_code=409, ...)`."
)


ORPHANS_SQL = (
    "SELECT id, owner_id FROM notes WHERE owner_id IS NOT NULL "
    "AND owner_id NOT IN (SELECT id FROM users)"
)


def orphans(server: StudentServer) -> list[tuple[int, int]]:
    """(note id, owner_id) of notes whose owner is not in users, read from the database itself."""
    database_url = getattr(server, "database_url", "")
    if database_url:
        from grader.checks.postgres import query

        return [(row[0], row[1]) for row in query(database_url, ORPHANS_SQL)]
    db = server.folder / DB_FILE
    if not db.is_file():
        return []
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(ORPHANS_SQL).fetchall()
    except sqlite3.Error:
        return []
    finally:
        conn.close()


def expect_no_orphans(server: StudentServer, after: str) -> None:
    found = orphans(server)
    if found:
        note_id, owner = found[0]
        raise CheckFailure(
            f"{after}, notes.db holds note {note_id} whose owner_id {owner} is no user at all: an "
            "orphan row. The foreign key was declared but not enforced.",
            PRAGMA_HINT,
        )


@check(points=2, task=1)
def test_users(server: StudentServer) -> None:
    """POST /users answers 201 with the user; GET /users/{id}/notes lists their notes, or 404"""
    user = create_user(server, random_text())
    if user_notes(server, user["id"]) != []:
        raise CheckFailure("A new user already owns notes.", "List only the notes with that owner_id.")
    expect_not_found(server, server.request("GET", f"/users/{MISSING_ID}/notes"), "a user that does not exist")


@check(points=2, task=2)
def test_notes_have_an_owner(server: StudentServer) -> None:
    """a note is created for an owner_id, answers it, and is listed under its owner only"""
    ann, bob = create_user(server, "ann"), create_user(server, "bob")
    text = random_text()
    body = server.expect(post_note(server, ann["id"], text), (201,), sent_text=text)
    if not isinstance(body, dict) or body.get("owner_id") != ann["id"]:
        raise CheckFailure(
            f"POST /notes with owner_id {ann['id']} answered {body!r}, without that owner_id.",
            "Add `owner_id: int` to NoteCreate and NotePublic, and the column to the model: "
            "`owner_id: Mapped[int | None] = mapped_column(ForeignKey(\"users.id\"))`.",
        )
    texts = [note.get("text") for note in user_notes(server, ann["id"])]
    if texts != [text] or user_notes(server, bob["id"]):
        raise CheckFailure(
            f"GET /users/{ann['id']}/notes answered the texts {texts!r}; it should be [{text!r}], "
            "and the other user should have none.",
            "Filter on the owner: `select(Note).where(Note.owner_id == user_id)`.",
        )


@check(points=3, task=3)
def test_no_orphan_notes(server: StudentServer) -> None:
    """a note for a user that does not exist is refused, and no orphan row reaches notes.db"""
    create_user(server, random_text())
    response = post_note(server, MISSING_ID)
    if response.status_code >= 500:
        server.expect(response, REFUSED)
    expect_no_orphans(server, f"After POST /notes with owner_id {MISSING_ID}")
    if response.status_code not in REFUSED:
        raise CheckFailure(
            f"POST /notes with owner_id {MISSING_ID}, a user that does not exist, answered "
            f"{response.status_code}; it should be refused with 404, 409 or 422.",
            "Catch the database's refusal: `except IntegrityError: db.rollback()` and raise "
            "`HTTPException(status_code=409, detail=...)`.",
        )


@check(points=2, task=3)
def test_deleting_a_user_with_notes(server: StudentServer) -> None:
    """deleting a user who owns notes is refused with 409, and the user and the notes stay"""
    user = create_user(server, random_text())
    note = server.expect(post_note(server, user["id"]), (201,))
    path = f"/users/{user['id']}"
    response = server.request("DELETE", path)
    if response.status_code >= 500:
        server.expect(response, (409,))
    expect_no_orphans(server, f"After DELETE {path} for a user with a note")
    if response.status_code != 409:
        raise _not_refused(server, response.status_code, path, note)
    kept = [n.get("id") for n in user_notes(server, user["id"])]
    if kept != [note["id"]]:
        raise CheckFailure(
            f"DELETE {path} answered 409, but the user's notes are now {kept}, not [{note['id']}].",
            "A refused delete must change nothing: `db.rollback()` before raising the 409.",
        )
    lonely = create_user(server, random_text())
    response = server.request("DELETE", f"/users/{lonely['id']}")
    if response.status_code != 204:
        server.expect(response, (204,))


def _not_refused(server: StudentServer, status: int, path: str, note: dict[str, Any]) -> CheckFailure:
    """Why a DELETE of a user who owns a note, answered `status`, is wrong: what became of the note."""
    after = server.request("GET", f"/notes/{note['id']}")
    try:
        body = after.json() if after.status_code == 200 else {}
    except ValueError:
        body = {}
    said = f"DELETE {path}, a user who owns note {note['id']}, answered {status}"
    if isinstance(body, dict) and "owner_id" in body and body["owner_id"] is None:
        return CheckFailure(
            f"{said}, and the note is still there with owner_id null: it silently lost its owner "
            "(what `ondelete=\"SET NULL\"` does, and what SQLAlchemy does itself to the notes of "
            "a relationship() without cascade). No user can find that note any more. This course "
            "answers 409 while the user owns notes.",
            DELETE_HINT,
        )
    if after.status_code == 404:
        return CheckFailure(
            f"{said}, and the note was deleted along with the user (a cascade). This course "
            "answers 409 while the user owns notes: deleting data nobody asked to delete is the "
            "worse surprise.",
            DELETE_HINT,
        )
    return CheckFailure(f"{said}; it should be 409 Conflict: the user still owns notes.", DELETE_HINT)


@check(points=2, task=4)
def test_import_is_all_or_nothing(server: StudentServer) -> None:
    """POST /notes/import saves every note, or, when one is bad, none of them"""
    user = create_user(server, random_text())
    good = [{"text": random_text(), "owner_id": user["id"]} for _ in range(3)]
    imported = server.expect(server.request("POST", "/notes/import", json=good), (200, 201))
    if not isinstance(imported, list) or len(imported) != 3:
        raise CheckFailure(
            f"POST /notes/import with 3 notes answered {imported!r}; it should be the 3 notes.",
            "Answer `list[NotePublic]`, the imported notes with their new ids.",
        )
    before = by_id(list_rest(server))
    mixed = [{"text": random_text(), "owner_id": user["id"]} for _ in range(2)]
    mixed.append({"text": random_text(), "owner_id": MISSING_ID})
    response = server.request("POST", "/notes/import", json=mixed)
    if response.status_code >= 500:
        server.expect(response, REFUSED)
    after = by_id(list_rest(server))
    saved = [n["text"] for n in after.values() if n.get("text") in {m["text"] for m in mixed}]
    if saved:
        raise CheckFailure(
            f"An import of 3 notes whose last one names a missing user answered "
            f"{response.status_code}, and {len(saved)} of its notes were saved anyway. An import "
            "is all or nothing.",
            ATOMIC_HINT,
        )
    if response.status_code not in REFUSED:
        raise CheckFailure(
            f"An import with a note for a missing user answered {response.status_code}; it should "
            "be refused with 409 (or 404 or 422).",
            ATOMIC_HINT,
        )
    if after != before:
        raise CheckFailure("A refused import changed other notes.", ATOMIC_HINT)


@check(points=2, task=4)
def test_failed_import_after_a_restart(spawn: Callable[..., StudentServer]) -> None:
    """after a refused import and a SIGKILL, the restarted server has exactly the notes from before"""
    first = spawn()
    user = create_user(first, random_text())
    kept = first.expect(post_note(first, user["id"]), (201,))
    mixed = [{"text": random_text(), "owner_id": user["id"]}, {"text": random_text(), "owner_id": MISSING_ID}]
    first.request("POST", "/notes/import", json=mixed)
    first.crash()
    second = spawn(first.folder)
    listed = by_id(list_rest(second))
    if set(listed) != {kept["id"]}:
        extra = [n.get("text") for i, n in listed.items() if i != kept["id"]]
        raise CheckFailure(
            f"After a refused import and a restart, the notes are {sorted(listed)}; only note "
            f"{kept['id']} should be there" + (f" (the import left {extra[:2]!r})." if extra else "."),
            ATOMIC_HINT,
        )
    expect_no_orphans(second, "After a refused import and a restart")


test_notes_survive_a_graceful_restart = graceful_restart_check(points=1, task=2)
