"""Step 9: users own notes through an enforced foreign key; an import is one transaction."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from grader.checks import step07_crud_rest as step7
from grader.checks import step08_schema_change as step8
from grader.checks.notes_api import random_text
from grader.checks.notes_rest import by_id, list_rest, texts_by_id
from grader.checks.orm_app import ORM_COMMIT_HINT, expect_sessions_closed, open_db_files
from grader.checks.owners import create_user, owned_note, replayed, replayed_restart
from grader.checks.restart import (
    DB_FILE,
    NotesApi,
    graceful_restart_check,
    restart_fixture,
    stored_texts,
    table_never_reuses_ids,
    wiped_at_startup,
)
from grader.checks.sqlite_file import read_only
from grader.checks.upgrade import UpgradeRun, upgrade_fixture
from grader.feedback import CheckFailure
from grader.plugin import Target, check
from grader.server import StudentServer

MISSING_ID = 987654
REFUSED = (404, 409, 422)
SESSION_REQUESTS = 20
CREATED = (200, 201)  # what a check that only needs a row accepts; the status is another check's
AT_ONCE = 8  # orphan notes sent at once, so the pool opens several connections
IN_TURN = 10  # then one at a time, which a pool takes its connections for in turn
BURSTS = 3
STEP8 = "08-schema-change"
OWNER_MIGRATION_HINT = (
    "The model alone changes no table. Write revision 0003, after 0002: `op.create_table(\"users"
    "\", ...)`, then `op.execute(\"ALTER TABLE notes ADD COLUMN owner_id INTEGER REFERENCES users "
    "(id)\")`. (With ALTER TABLE at startup instead, add it the same way priority was added in "
    "step 8: in migrations.py, when `inspect(engine).get_columns(\"notes\")` has no owner_id.)"
)
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


def post_note(server: StudentServer, owner_id: int, text: str = "") -> Any:
    return server.request("POST", "/notes", json={"text": text or random_text(), "owner_id": owner_id})


def user_notes(server: StudentServer, user_id: int) -> list[dict[str, Any]]:
    body = server.expect(server.request("GET", f"/users/{user_id}/notes"), (200,))
    if not isinstance(body, list) or not all(isinstance(note, dict) for note in body):
        raise CheckFailure(
            f"GET /users/{user_id}/notes answered {body!r}; it should be a list of notes.",
            "Answer `list[NotePublic]`: the notes whose owner_id is the user's id.",
        )
    return body


def note_for(server: StudentServer, owner_id: int, text: str = "") -> dict[str, Any]:
    """POST /notes for `owner_id`, which must answer 201 and the note with its id; what was
    sent fills any field the answer lacks."""
    text = text or random_text()
    body = server.expect(post_note(server, owner_id, text), CREATED, sent_text=text)
    if not isinstance(body, dict) or type(body.get("id")) is not int:
        raise CheckFailure(f"POST /notes answered {body!r}, without an id.", "Answer the note (NotePublic).")
    return {"text": text, "owner_id": owner_id, **body}


def _owned_note_id(server: StudentServer, text: str) -> int:
    """A note for a new user, as the restart test adds one: its id."""
    return int(note_for(server, create_user(server, random_text())["id"], text)["id"])


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
    return read_only(server.folder / DB_FILE, lambda conn: conn.execute(ORPHANS_SQL).fetchall()) or []


NO_OWNER_KEY_HINT = (
    "Give owner_id its rule where the table gets the column: `ALTER TABLE notes ADD COLUMN "
    "owner_id INTEGER REFERENCES users (id)` in the migration (revision 0003), and "
    "`ForeignKey(\"users.id\")` on the model."
)


def references_users(db: Path) -> bool | None:
    """Whether the notes table in SQLite file `db` has a foreign key to users (None: unknown)."""
    referenced = read_only(db, lambda conn: [row[2] for row in conn.execute("PRAGMA foreign_key_list(notes)")])
    return None if referenced is None else "users" in referenced


def has_owner_key(server: StudentServer) -> bool | None:
    """Whether the app's notes table has a foreign key to users (None: unknown). Asked once an
    orphan row was found: PostgreSQL always enforces a foreign key it has."""
    return False if getattr(server, "database_url", "") else references_users(server.folder / DB_FILE)


def expect_no_orphans(server: StudentServer, after: str) -> None:
    found = orphans(server)
    if found:
        note_id, owner = found[0]
        orphan = (f"{after}, notes.db holds note {note_id} whose owner_id {owner} is no user at "
                  "all: an orphan row.")
        if has_owner_key(server) is False:
            raise CheckFailure(f"{orphan} The notes table has no foreign key to users at all: "
                               "owner_id was made without `REFERENCES users (id)`.", NO_OWNER_KEY_HINT)
        raise CheckFailure(f"{orphan} The foreign key was declared but not enforced.", PRAGMA_HINT)


@check(points=2, task=1)
def test_users(server: StudentServer) -> None:
    """POST /users answers 201 with the user; GET /users/{id}/notes lists their notes, or 404"""
    user = create_user(server, random_text(), codes=(201,))
    if user_notes(server, user["id"]) != []:
        raise CheckFailure("A new user already owns notes.", "List only the notes with that owner_id.")
    response = server.request("GET", f"/users/{MISSING_ID}/notes")
    if response.status_code != 404:
        server.expect(response, (404,))
    expect_detail_naming(response, MISSING_ID, "user", "`raise HTTPException(status_code=404, "
                         "detail=f\"User {user_id} not found\")` when `db.get(User, user_id)` is None.")
    for bad in ("", "x" * 101):
        refused = server.request("POST", "/users", json={"name": bad})
        if refused.status_code != 422:
            raise CheckFailure(
                f"POST /users with a name of {len(bad)} characters answered {refused.status_code}; "
                "a name is 1 to 100 characters, so it should be refused with 422.",
                "`name: str = Field(min_length=1, max_length=100)` on UserCreate.",
            )
    for good in ("y", "y" * 100):
        accepted = server.request("POST", "/users", json={"name": good})
        if not 200 <= accepted.status_code < 300:
            raise CheckFailure(
                f"POST /users with a name of {len(good)} character{'s' * (len(good) > 1)} answered "
                f"{accepted.status_code}; names of 1 to 100 characters are allowed.",
                "`name: str = Field(min_length=1, max_length=100)` on UserCreate.",
            )
    if table_never_reuses_ids(server.folder / DB_FILE, [user["name"]]) is False:  # SQLite only
        raise CheckFailure(
            "The users table in notes.db was made without AUTOINCREMENT: delete the newest user, "
            "and SQLite gives their id to the next user, who would then see notes meant for "
            "someone else.",
            "Give User the same `__table_args__ = {\"sqlite_autoincrement\": True}` as Note, then "
            "delete notes.db: create_all never changes a table that exists.",
        )


@check(points=2, task=2)
def test_notes_have_an_owner(server: StudentServer) -> None:
    """a note is created for an owner_id, answers it, and is listed under its owner only"""
    ann, bob = create_user(server, "ann"), create_user(server, "bob")
    text = random_text()
    body = server.expect(post_note(server, ann["id"], text), CREATED, sent_text=text)
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
    """a note for a user that does not exist is refused on every connection, and no orphan row reaches the database"""
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
    if response.status_code != 422:
        expect_detail_naming(response, MISSING_ID, "user", "Name the owner_id in the detail: "
                             "`HTTPException(status_code=409, detail=f\"User {body.owner_id} does not exist\")`.")
    _refused_on_every_connection(server)


def _refused_on_every_connection(server: StudentServer) -> None:
    """Orphan notes sent at once (the pool opens more connections), then in turn over them all.

    A burst is sent again, at most BURSTS times, while notes.db is open only once: the verdict
    is the answers', the open files only say whether the pool has grown yet.
    """
    answers: list[httpx.Response] = []
    for _ in range(BURSTS):
        with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
            answers += pool.map(lambda _: post_note(server, MISSING_ID), range(AT_ONCE))
        held = open_db_files(server)
        if held is None or held != 1:
            break
    answers += [post_note(server, MISSING_ID) for _ in range(IN_TURN)]
    crashed = [answer for answer in answers if answer.status_code >= 500]
    if crashed:
        server.expect(crashed[0], REFUSED)
    accepted = [answer for answer in answers if answer.status_code not in REFUSED]
    if accepted or orphans(server):
        raise CheckFailure(
            f"The first note for user {MISSING_ID} was refused, but of {len(answers)} more, sent "
            f"{AT_ONCE} at a time and then {IN_TURN} in turn, {len(accepted)} were accepted "
            f"({accepted[0].status_code if accepted else 'and stored'}): orphan rows. Requests at "
            "once make the connection pool open more connections, and foreign keys were on for "
            "some connections only: a PRAGMA holds for the connection that runs it, so one run "
            "once (at import, or on \"first_connect\") misses every connection opened later.",
            "Run the PRAGMA in a listener that SQLAlchemy calls for every new connection: "
            "`@event.listens_for(engine, \"connect\")`, not once at import and not on "
            "\"first_connect\".",
        )


def expect_detail_naming(response: httpx.Response, missing: int, what: str, hint: str) -> None:
    """A 404 or 409 whose detail names the `what` (user, note) it is about, by its id."""
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str) and re.search(rf"\b{missing}\b", detail):
        return
    action = f"{response.request.method} {response.request.url.path}"
    default = detail in ("Not Found", "Conflict")
    said = f"{action} answered {response.status_code} with the detail {detail!r}"
    raise CheckFailure(
        said + (", FastAPI's default: the same answer a client gets for a path with no route at all"
                if default else "") + f". The detail should name {what} {missing}, so the client "
        "knows what the refusal is about.",
        hint,
    )


@check(points=2, task=3)
def test_deleting_a_user_with_notes(server: StudentServer) -> None:
    """deleting a user who owns notes is refused with 409, and the user and the notes stay"""
    user = create_user(server, random_text())
    note = note_for(server, user["id"])
    path = f"/users/{user['id']}"
    response = server.request("DELETE", path)
    if response.status_code >= 500:
        server.expect(response, (409,))
    expect_no_orphans(server, f"After DELETE {path} for a user with a note")
    if response.status_code != 409:
        raise _not_refused(server, response.status_code, path, note)
    expect_detail_naming(response, user["id"], "user", "Name the user in the detail: "
                         "`HTTPException(status_code=409, detail=f\"User {user_id} still owns notes\")`.")
    kept = [n.get("id") for n in user_notes(server, user["id"])]
    if note["id"] not in kept:  # whose notes the list holds is test_notes_have_an_owner's to say
        raise CheckFailure(
            f"DELETE {path} answered 409, but the user's notes are now {kept}, without note "
            f"{note['id']}.",
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
    first = server.request("POST", "/notes/import", json=good)
    imported = server.expect(first, CREATED)
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
    if first.status_code != 201:
        raise CheckFailure(
            "POST /notes/import saved the 3 notes and answered 200 OK; a request that creates "
            "something answers 201 Created.",
            "Put the status on the decorator: `@app.post(\"/notes/import\", status_code=201)`.",
        )


@check(points=2, task=4)
def test_failed_import_after_a_restart(spawn: Callable[..., StudentServer]) -> None:
    """after a refused import and a SIGKILL, the restarted server has exactly the notes from before"""
    first = spawn()
    user = create_user(first, random_text())
    kept = note_for(first, user["id"])
    mixed = [{"text": random_text(), "owner_id": user["id"]}, {"text": random_text(), "owner_id": MISSING_ID}]
    first.request("POST", "/notes/import", json=mixed)
    first.crash()
    committed = stored_texts(first.folder / DB_FILE) or []
    second = spawn(first.folder)
    listed = by_id(list_rest(second))
    wiped = None if kept["id"] in listed else wiped_at_startup([kept["text"]], committed, "killed")
    if wiped is not None:
        raise wiped
    if set(listed) != {kept["id"]}:
        extra = [n.get("text") for i, n in listed.items() if i != kept["id"]]
        raise CheckFailure(
            f"After a refused import and a restart, the notes are {sorted(listed)}; only note "
            f"{kept['id']} should be there" + (f" (the import left {extra[:2]!r})." if extra else "."),
            ATOMIC_HINT,
        )
    expect_no_orphans(second, "After a refused import and a restart")


test_notes_survive_a_graceful_restart = graceful_restart_check(points=1, task=2)


upgrade = upgrade_fixture(STEP8, owned_note, OWNER_MIGRATION_HINT)


@check(points=2, task=2)
def test_step8_database_comes_forward(upgrade: UpgradeRun) -> None:
    """on a notes.db made by step 8, every note is still there with no owner, new notes get new ids, it starts again, and owner_id references users"""
    listed = upgrade.phase("upgrade")
    upgrade.expect_old_notes(listed, ("text", "pinned", "priority", "created_at"))
    owned = [note_id for note_id in upgrade.old if listed[note_id].get("owner_id") is not None]
    if owned:
        raise CheckFailure(
            f"Old note {owned[0]} came back as {listed[owned[0]]!r}: a note from before users "
            "existed has no owner, so its owner_id is null.",
            "Add the column without a default: `ALTER TABLE notes ADD COLUMN owner_id INTEGER "
            "REFERENCES users (id)`, and type it `int | None` on NotePublic.",
        )
    upgrade.expect_new_ids()
    again = upgrade.phase("restart")
    assert upgrade.added is not None
    if upgrade.added["id"] not in again:
        raise CheckFailure(
            f"A note added on the upgraded notes.db (id {upgrade.added['id']}) is missing after "
            "the server was killed and started again.",
            ORM_COMMIT_HINT,
        )
    if references_users(upgrade.folder / DB_FILE) is False:
        raise CheckFailure(
            "On the upgraded notes.db, owner_id has no foreign key: the migration added the "
            "column without `REFERENCES users (id)`, so on a database brought forward from step 8 "
            "a note for a user who does not exist is stored.",
            "Add the column with its rule: `ALTER TABLE notes ADD COLUMN owner_id INTEGER "
            "REFERENCES users (id)`.",
        )


test_notes_still_created_and_read = replayed(
    1, 5, "step 7 still holds: POST /notes answers 201, GET /notes and GET /notes/{id} the notes, 404 for a missing one",
    step7.test_create_answers_201, step7.test_list_and_read_one,
)
test_notes_still_updated_and_deleted = replayed(
    1, 5, "step 7 still holds: PUT changes a note for good, DELETE answers 204 and removes it, 404 after",
    step7.test_update, step7.test_delete,
)
test_bad_input_still_refused = replayed(
    1, 5, "step 7 still holds: POST and PUT refuse a bad text or pinned with 422",
    step7.test_bad_input_is_refused,
)
test_changes_still_survive_a_restart = replayed_restart(
    1, 5, "step 7 still holds: after a SIGKILL, updates and deletes are kept (in DATABASE_URL's "
    "file) and no id is given twice",
    step7.test_changes_survive_a_restart,
)
test_priority_filter_and_count_still_work = replayed(
    1, 5, "step 8 still holds: priority on POST and PUT, ?pinned= filters, /notes/count counts",
    step8.test_priority_field, step8.test_filter_by_pinned, step8.test_count, alone=True,
)


@check(points=1, task=5)
def test_sessions_still_closed(server: StudentServer, target: Target) -> None:
    """step 6 still holds: every session is closed after its request"""
    owned_note(server, random_text())
    for _ in range(SESSION_REQUESTS):
        list_rest(server)
    expect_sessions_closed(server, target.folder, SESSION_REQUESTS)
