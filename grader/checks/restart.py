"""The restart test: add notes, kill the server, start it again on the same folder, read them back."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grader.checks.notes_api import add_note, expect_listing, list_notes, random_text
from grader.checks.sqlite_file import quoted, read_only
from grader.engine.scratch import Scratch
from grader.feedback import CheckFailure
from grader.plugin import check, keep_running
from grader.results import SKIPPED
from grader.server import StudentServer

DB_FILE = "notes.db"
COMMIT_HINT = (
    "Call `conn.commit()` after every INSERT (or write `with conn:` around it); a "
    "change is only on disk once it is committed."
)


@dataclass(frozen=True)
class NotesApi:
    """How a step's app is asked to add a note (answering its id) and to list them (id -> text)."""

    add: Callable[[StudentServer, str], int]
    listing: Callable[[StudentServer], dict[str, str]]


ADD_NOTE_API = NotesApi(add_note, list_notes)


class Phases:
    """A scenario run once and lazily, phase by phase: phase `x` is the method `_x`.

    Each phase keeps its outcome, or what it raised (a CheckFailure, or an error of the grader's),
    which every later ask raises again: a phase never runs twice over what it left behind.
    """

    def __init__(self) -> None:
        self._outcomes: dict[str, Any] = {}

    def phase(self, name: str) -> Any:
        if name not in self._outcomes:
            try:
                self._outcomes[name] = getattr(self, f"_{name}")()
            except Exception as raised:  # noqa: BLE001 - kept, and raised again below
                self._outcomes[name] = raised
        outcome = self._outcomes[name]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _needs(self, name: str, what: str) -> None:
        try:
            self.phase(name)
        except CheckFailure as failure:
            if failure.outcome == SKIPPED:
                raise  # a skip reads the same in every check
            raise CheckFailure(f"Cannot check {what} yet: {failure.message}", failure.hint) from None


class RestartRun(Phases):
    """The scenario, run once and lazily, phase by phase; each phase keeps its outcome or failure.

    first: a fresh folder is listed; two notes are added and listed; the server is killed with
    SIGKILL. A listing that is not empty at first, or lacks the notes, is kept as the add-and-list
    check's failure (`expect_added_and_listed`): the restart checks judge only what comes back.
    after_crash: started again, the two notes are back; a third is added; SIGTERM.
    after_graceful: started again, every note is back; then SIGKILL, as nothing is left to see,
    or, given `latest`, the server is left running there for a later check to reuse.
    """

    def __init__(
        self,
        spawn: Callable[[Path], StudentServer],
        folder: Path,
        commit_hint: str = COMMIT_HINT,
        api: NotesApi = ADD_NOTE_API,
        latest: dict[str, StudentServer] | None = None,
    ) -> None:
        self.spawn = spawn
        self.latest = latest
        self.folder = folder
        self.commit_hint = commit_hint
        self.api = api
        self.first_notes: dict[int, str] = {}
        self.third: tuple[int, str] | None = None
        self.first_listings: tuple[dict[str, str], dict[str, str]] = ({}, {})
        self.committed: list[str] = []  # the texts notes.db held each time the server was stopped
        super().__init__()

    def _first(self) -> dict[int, str]:
        server = self.spawn(self.folder)
        before = self.api.listing(server)
        for _ in range(2):
            text = random_text()
            self.first_notes[self.api.add(server, text)] = text
        self.first_listings = (before, self.api.listing(server))
        server.crash()
        self.committed += stored_texts(self.folder / DB_FILE) or []
        return self.first_notes

    def expect_added_and_listed(self) -> None:
        """Fail unless the fresh folder listed no notes, and then exactly the two added."""
        self.phase("first")
        before, after = self.first_listings
        expect_listing(before, {}, "On a fresh folder with no notes.db")
        self.expect_listed(after, self.first_notes, "After adding two notes")

    def _after_crash(self) -> dict[str, str]:
        self._needs("first", "the restart")
        server = self.spawn(self.folder)
        listing = self.api.listing(server)
        try:
            text = random_text()
            self.third = (self.api.add(server, text), text)
        finally:
            server.shutdown()
            self.committed += stored_texts(self.folder / DB_FILE) or []
        return listing

    def _after_graceful(self) -> dict[str, str]:
        self._needs("after_crash", "a graceful restart")
        server = self.spawn(self.folder)
        try:
            listing = self.api.listing(server)
        except CheckFailure:
            server.crash()
            raise
        if self.latest is None:
            server.crash()
        else:
            keep_running(self.latest, server)
        return listing

    def expect_listed(self, listing: dict[str, str], notes: dict[int, str], when: str) -> None:
        """expect_listing, but notes the API accepted and neither lists nor stored are a lost commit."""
        missing = [text for note_id, text in notes.items() if listing.get(str(note_id)) != text]
        stored = stored_texts(self.folder / DB_FILE)
        unseen = [text for text in missing if text not in listing.values()]
        if unseen and stored is not None and not any(text in stored for text in unseen):
            raise CheckFailure(
                f"{when}, GET /notes does not list {unseen[0]!r}, although the POST gave it an id, "
                "and notes.db does not hold it either: the INSERT was never committed, and a "
                "connection (or session) closed without a commit throws its changes away.",
                self.commit_hint,
            )
        expect_listing(listing, notes, when)

    def expect_kept_after_crash(self) -> None:
        """Fail unless every note of the first run is listed, under its id, after the SIGKILL.

        Notes nobody added are the add-and-list check's failure, not this one's.
        """
        listing = self.phase("after_crash")
        gone = {i: text for i, text in self.first_notes.items() if text not in listing.values()}
        if gone:
            raise self.lost(listing, gone, "killed")
        expect_listing(listing, self.first_notes, "After the server was killed and started again", exact=False)

    def expect_kept_after_graceful(self) -> None:
        """Fail unless every note listed before the SIGTERM is listed after it.

        Notes already lost to the SIGKILL are the crash check's failure, not this one's.
        """
        before = self.phase("after_crash")
        listing = self.phase("after_graceful")
        assert self.third is not None
        kept = {i: text for i, text in self.first_notes.items() if before.get(str(i)) == text}
        expected = {**kept, self.third[0]: self.third[1]}
        lost = {i: text for i, text in expected.items() if listing.get(str(i)) != text}
        removed = [text for i, text in kept.items() if i in lost]
        if removed:
            count = f"{len(removed)} notes" if len(removed) > 1 else "a note"
            raise CheckFailure(
                f"After the server was stopped normally (SIGTERM) and started again, {count} "
                f"listed before the stop {'were' if len(removed) > 1 else 'was'} missing, such as "
                f"{removed[0]!r}. {'They' if len(removed) > 1 else 'It'} had survived a SIGKILL, "
                "so the INSERT was committed: code that runs at shutdown or at startup removed it.",
                "Look at what runs after the `yield` of the lifespan, and before it: nothing there "
                "may delete rows, drop tables or make a new notes.db.",
            )
        if lost:
            raise self.lost(listing, lost, "stopped normally")

    def lost(self, listing: dict[str, str], notes: dict[int, str], how: str) -> CheckFailure:
        """Why notes that were acknowledged are missing after a restart."""
        count = f"{len(notes)} notes" if len(notes) > 1 else "note"
        db = self.folder / DB_FILE
        wiped = wiped_at_startup(list(notes.values()), self.committed, how)
        if wiped is not None:
            return wiped
        rows = stored_texts(db)
        if rows is None:
            return CheckFailure(
                f"After the server was {how} and started again, GET /notes answered "
                f"{_brief(listing)}: the {count} added before {'were' if len(notes) > 1 else 'was'} gone. They lived in a Python "
                "dict, in the memory of the server process, and that memory is given back when "
                "the process ends. No notes.db file was ever written.",
                "Keep the notes in a database file instead: open notes.db with sqlite3, INSERT "
                "each note and SELECT them back. `persistlab demo restart` shows the difference.",
            )
        return CheckFailure(
            f"After the server was {how} and started again, the {count} added before "
            f"{'were' if len(notes) > 1 else 'was'} missing. notes.db exists but does not hold "
            f"{'them' if len(notes) > 1 else 'it'}, so the INSERTs were never committed: SQLite "
            "threw the unfinished transaction away.",
            self.commit_hint,
        )


def restart_fixture(
    commit_hint: str = COMMIT_HINT, api: NotesApi = ADD_NOTE_API, hand_over: bool = False
) -> Any:
    """A step module's `restart` fixture: one RestartRun on the module's scratch folder; with
    `hand_over`, its last server is left for the next check that takes `running_server`."""

    @pytest.fixture(scope="module")
    def restart(
        spawn: Callable[[Path], StudentServer], scratch: Scratch, latest: dict[str, StudentServer]
    ) -> RestartRun:
        return RestartRun(spawn, scratch.folder, commit_hint, api, latest if hand_over else None)

    return restart


def graceful_restart_check(points: int, task: int, kept_in: str = "") -> Callable[[RestartRun], None]:
    """The SIGTERM check every step from 5 on has, worth `points`, testing README task `task`;
    with `kept_in`, the notes must also be in that file of the folder (for a step whose own
    checks never open it)."""

    @check(points=points, task=task)
    def test_notes_survive_a_graceful_restart(restart: RestartRun) -> None:
        """the notes are still there after the server is stopped (SIGTERM) and started again"""
        restart.expect_kept_after_graceful()
        stored = stored_texts(restart.folder / kept_in) if kept_in else None
        if kept_in and not all(text in (stored or []) for text in restart.first_notes.values()):
            raise CheckFailure(
                f"The notes were kept, but not in {kept_in} in the folder the server runs in"
                f"{'' if stored is None else ' (the file exists and does not hold them)'}: with "
                f"DATABASE_URL not set, they must go to {kept_in}.",
                "Keep `sqlite:///notes.db` as the default address in database.py: three "
                "slashes, then the relative file name.",
            )

    return test_notes_survive_a_graceful_restart


def wiped_at_startup(missing: list[str], committed: list[str], how: str) -> CheckFailure | None:
    """Notes that were in notes.db when the server was `how` (killed, stopped) and are gone after
    the next start were removed by startup code; None when none of `missing` was stored."""
    stored = [text for text in missing if text in committed]
    if not stored:
        return None
    return CheckFailure(
        f"After the server was {how} and started again, {stored[0]!r} was missing, although "
        "notes.db held it when the server stopped: it had been committed. Code that runs at "
        "startup removed it: drop_all(), a DELETE, or a new notes.db.",
        "Look at what runs at import and in the lifespan before the `yield`: create_all() and "
        "migrations add what is missing; nothing there may drop tables, delete rows or remove "
        "notes.db.",
    )


def stored_texts(db: Path) -> list[str] | None:
    """Every text column value in notes.db, read read-only; None if there is no such file."""

    def texts(conn: sqlite3.Connection) -> list[str]:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [
            value for table in tables for row in conn.execute(f"SELECT * FROM {quoted(table)}")
            for value in row if isinstance(value, str)
        ]

    found = read_only(db, texts)
    return found if found is not None or not db.is_file() else []


def table_never_reuses_ids(db: Path, texts: list[str]) -> bool | None:
    """Whether the table holding `texts` in `db` was made with AUTOINCREMENT (SQLite keeps its
    highest id ever given in sqlite_sequence); None when no table holds them. Read read-only."""

    def autoincrement(conn: sqlite3.Connection) -> bool | None:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            values = {v for row in conn.execute(f"SELECT * FROM {quoted(table)}") for v in row}
            if table != "sqlite_sequence" and all(text in values for text in texts):
                if "sqlite_sequence" not in tables:
                    return False
                found = conn.execute("SELECT 1 FROM sqlite_sequence WHERE name = ?", (table,))
                return found.fetchone() is not None
        return None

    return read_only(db, autoincrement)


def _brief(listing: dict[str, str]) -> str:
    text = repr(listing)
    return text if len(text) < 80 else text[:77] + "..."


__all__ = [
    "ADD_NOTE_API", "NotesApi", "Phases", "RestartRun", "expect_listing", "graceful_restart_check",
    "restart_fixture", "stored_texts", "table_never_reuses_ids", "wiped_at_startup",
]
