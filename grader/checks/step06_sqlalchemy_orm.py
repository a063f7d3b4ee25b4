"""Step 6: the same notes API through SQLAlchemy: an engine, models, sessions from get_db."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from grader.checks.notes_api import random_text
from grader.checks.orm_app import (
    ORM_COMMIT_HINT,
    column_values,
    expect_sessions_closed,
    source_text,
    table_columns,
)
from grader.checks.restart import (
    DB_FILE,
    RestartRun,
    graceful_restart_check,
    restart_fixture,
    stored_texts,
    table_never_reuses_ids,
)
from grader.feedback import CheckFailure
from grader.plugin import Target, check
from grader.server import StudentServer

REQUESTS = 20
DATABASE_URL_HINT = (
    "Read the address from the environment, `DATABASE_URL = os.environ.get(\"DATABASE_URL\", "
    "\"sqlite:///notes.db\")`, and give that variable to `create_engine()`: the same code "
    "then runs on another database without an edit."
)
_UNCOMMITTED = ("Could not refresh instance", "is not persistent", "id of None")


restart = restart_fixture(ORM_COMMIT_HINT)


@check(points=2, task=1)
def test_engine_from_database_url(spawn: Callable[..., StudentServer], target: Target) -> None:
    """database.py makes a SQLAlchemy engine from DATABASE_URL, with notes.db as the default"""
    if "create_engine" not in source_text(target.folder, "database.py"):
        raise CheckFailure(
            "database.py does not call create_engine().",
            "`engine = create_engine(DATABASE_URL, connect_args=...)` in database.py; "
            "everything else (sessions, create_all) goes through that engine.",
        )
    other = f"elsewhere-{secrets.token_hex(3)}.db"
    url = f"sqlite:///{other}"
    default = _files_written(spawn, {})
    if DB_FILE not in default:
        made = f" (it made {', '.join(sorted(default))} instead)" if default else ""
        raise CheckFailure(
            f"With DATABASE_URL not set, the server never made notes.db in the folder it runs in{made}.",
            "Give `sqlite:///notes.db` as the default: three slashes, then a relative file "
            "name. " + DATABASE_URL_HINT,
        )
    written = _files_written(spawn, {"DATABASE_URL": url})
    if other not in written or (written.get(DB_FILE) and not written[other]):
        used = sorted(name for name in written if name != other)
        went = f"it used {', '.join(used)} instead of {other}" if used else f"no {other} appeared"
        raise CheckFailure(
            f"The server was started with DATABASE_URL={url}, but {went}: the engine is not "
            "made from the address in DATABASE_URL.",
            DATABASE_URL_HINT,
        )


def _files_written(spawn: Callable[..., StudentServer], env: dict[str, str]) -> dict[str, bool]:
    """The database files a server started on a fresh folder with `env` made once it was asked to
    add and list a note, each with whether it holds that note (whatever the server answered:
    whether notes are stored is for other checks to judge)."""
    server = spawn(env=env)
    text = random_text()
    server.request("POST", "/add_note", json={"text": text})
    server.request("GET", "/notes")
    server.crash()
    return {path.name: text in (stored_texts(path) or []) for path in server.folder.glob("*.db")}


@check(points=3, task=3)
def test_add_and_list(restart: RestartRun) -> None:
    """a fresh folder starts with no notes, and added notes are listed"""
    try:
        restart.expect_added_and_listed()
    except CheckFailure as failure:
        raise _explained(failure, restart) or failure from None


@check(points=2, task=2)
def test_notes_table_has_its_columns(restart: RestartRun) -> None:
    """notes.db has a notes table with id, text and created_at, filled in for every note, and AUTOINCREMENT"""
    _needs_first(restart)
    db = restart.folder / DB_FILE
    columns = table_columns(db, "notes")
    if columns is None:
        raise CheckFailure(
            "notes.db has no table called notes.",
            "Set `__tablename__ = \"notes\"` on the Note model, and call "
            "`Base.metadata.create_all(engine)` in the lifespan, before the yield.",
        )
    missing = [name for name in ("id", "text", "created_at") if name not in columns]
    if missing:
        raise CheckFailure(
            f"The notes table has the columns {', '.join(columns)}; {', '.join(missing)} is missing.",
            "Declare each column on the model: `created_at: Mapped[datetime] = "
            "mapped_column(server_default=func.now())`. create_all never changes an existing "
            "table, so delete an old notes.db after changing the model.",
        )
    if any(value is None for value in column_values(db, "notes", "created_at")):
        raise CheckFailure(
            "Some notes were stored with no created_at.",
            "Let the database fill it in: `mapped_column(server_default=func.now())`.",
        )
    if table_never_reuses_ids(db, list(restart.phase("first").values())) is False:
        raise CheckFailure(
            "The notes table in notes.db was made without AUTOINCREMENT, so the id of a deleted "
            "newest note would be given to the next note.",
            "Keep `__table_args__ = {\"sqlite_autoincrement\": True}` on the Note model, then "
            "delete notes.db: create_all never changes a table that already exists.",
        )


@check(points=3, task=3)
def test_sessions_are_closed(server: StudentServer, target: Target) -> None:
    """every session is closed after its request: get_db yields it and closes it in finally"""
    # whatever they answer: whether adding and listing work is the add-and-list check's verdict
    server.request("POST", "/add_note", json={"text": random_text()})
    for _ in range(REQUESTS):
        server.request("GET", "/notes")
    expect_sessions_closed(server, target.folder, REQUESTS)


@check(points=3, task=4)
def test_notes_survive_a_crash(restart: RestartRun) -> None:
    """notes are still there after the server is killed (SIGKILL) and started again"""
    restart.expect_kept_after_crash()


test_notes_survive_a_graceful_restart = graceful_restart_check(points=2, task=4)


def _needs_first(restart: RestartRun) -> None:
    try:
        restart.phase("first")
    except CheckFailure as failure:
        raise CheckFailure(f"Cannot look at notes.db yet: {failure.message}", failure.hint) from None


def _explained(failure: CheckFailure, restart: RestartRun) -> CheckFailure | None:
    """The failure, explained as a missing table or commit when that is what it is."""
    if "no such table" in failure.message:
        return CheckFailure(
            f"{failure.message}. The notes table was never created.",
            "Call `Base.metadata.create_all(engine)` in the lifespan, before the yield, and make "
            "sure main.py imports models.py first: create_all only knows the models imported so far.",
        )
    if "POST /add_note answered 500" in failure.message and "return type" in failure.message:
        return CheckFailure(
            f"{failure.message} The id was probably None: the database chooses the id when the "
            "row is written, and without a commit it never is, so the note was never committed.",
            ORM_COMMIT_HINT,
        )
    if any(words in failure.message for words in _UNCOMMITTED):
        return CheckFailure(
            f"{failure.message.rstrip('.')}. The note was added to the session but never "
            "committed, so it has no row in notes.db.",
            ORM_COMMIT_HINT,
        )
    return None
