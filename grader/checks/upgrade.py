"""An older step's notes.db brought forward: the reference solution of that step writes it,
the student's app starts on a copy, and every old note must still be there."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grader.checks.notes_api import random_text
from grader.checks.notes_rest import Note, by_id, create_note, list_rest
from grader.checks.restart import DB_FILE, Phases
from grader.course import SOLUTIONS
from grader.engine.scratch import Scratch
from grader.feedback import CheckFailure
from grader.migration_feedback import CHECK_FIRST_HINT
from grader.plugin import Target
from grader.server import StudentServer

MakeNote = Callable[..., Note]  # (server, text, **fields) -> the note the app answered
_NO_SUCH_COLUMN = re.compile(r"no such column: ([\w.]+)")


class UpgradeRun(Phases):
    """The reference of step `older` adds five notes and deletes the second and the newest; the
    student's app starts on a copy of the notes.db this leaves.

    upgrade: the app lists every note, and is asked for one more note (kept in `fresh`).
    restart: started again on the upgraded file (the migration runs a second time), a note with
    priority 7 is added, SIGKILL, and the listing after one more start is the outcome.
    """

    def __init__(
        self, spawn: Callable[[Path], StudentServer], scratch: Scratch, target: Target,
        older: str, make: MakeNote, migration_hint: str,
    ) -> None:
        super().__init__()
        self.spawn = spawn
        self.scratch = scratch
        self.target = target
        self.older = older
        self.make = make
        self.migration_hint = migration_hint
        self.label = f"step {int(older[:2])}"
        self.old: dict[int, Note] = {}
        self.deleted: list[int] = []
        self.fresh: Note | CheckFailure | None = None
        self.added: Note | None = None
        self.folder = scratch.root / "upgrade"

    def _old_database(self) -> Path:
        reference = self.scratch.fresh(SOLUTIONS / self.older, "older")
        server = self.spawn(reference)
        notes = [create_note(server, random_text(), pinned=i % 2 == 0, priority=i) for i in range(5)]
        for doomed in (notes[1], notes[-1]):
            server.request("DELETE", f"/notes/{doomed['id']}")
        server.crash()
        self.deleted = [notes[1]["id"], notes[-1]["id"]]
        self.old = by_id([note for note in notes if note["id"] not in self.deleted])
        return reference / DB_FILE

    def _upgrade(self) -> dict[int, Note]:
        old_db = self._old_database()
        ignore = shutil.ignore_patterns("*.db*", "__pycache__")
        shutil.copytree(self.target.folder, self.folder, ignore=ignore)
        shutil.copy2(old_db, self.folder / DB_FILE)
        server = self.spawn(self.folder)
        try:
            response = server.request("GET", "/notes")
            missing = _NO_SUCH_COLUMN.search(server.settled_output()) if response.status_code >= 500 else None
            if missing:
                raise CheckFailure(
                    f"On a notes.db made by {self.label}, GET /notes answered 500: \"no such "
                    f"column: {missing.group(1)}\". The model has the new column, the table in the "
                    "file does not.",
                    self.migration_hint,
                )
            listed = by_id(list_rest(server))
            try:
                self.fresh = self.make(server, random_text())
            except CheckFailure as failure:
                self.fresh = failure
        finally:
            server.crash()
        return listed

    def _restart(self) -> dict[int, Note]:
        self._needs("upgrade", "a restart on the upgraded notes.db")
        try:
            server = self.spawn(self.folder)
        except CheckFailure as failure:
            if "duplicate column" not in failure.message:
                raise
            raise CheckFailure(
                f"The upgrade worked once, but the second start on the same notes.db failed: "
                f"{failure.message}",
                CHECK_FIRST_HINT,
            ) from None
        self.added = self.make(server, random_text(), priority=7)
        server.crash()
        again = self.spawn(self.folder)
        listed = by_id(list_rest(again))
        again.crash()
        return listed

    def expect_old_notes(self, listed: dict[int, Note], keys: tuple[str, ...]) -> None:
        """Every old note is listed, with `keys` as the older step answered them."""
        lost = [note for note_id, note in self.old.items() if note_id not in listed]
        if lost:
            raise CheckFailure(
                f"The {self.label} notes.db held {len(self.old)} notes; after your app started on "
                f"it, {len(lost)} of them were gone (such as {lost[0]['text']!r}). Deleting the "
                "file or dropping the table makes the new column appear, and takes every note "
                "with it.",
                self.migration_hint,
            )
        for note_id, note in self.old.items():
            now = listed[note_id]
            if any(now.get(key) != note[key] for key in keys if key in note):
                raise CheckFailure(
                    f"Old note {note_id} changed during the upgrade: it was {note!r}, it is {now!r}.",
                    "Add the column; leave the existing values alone.",
                )

    def expect_new_ids(self) -> None:
        """The first note added after the upgrade gets an id no note ever had."""
        self.phase("upgrade")
        if isinstance(self.fresh, CheckFailure):
            raise CheckFailure(
                f"On the upgraded notes.db, adding a note failed: {self.fresh.message}", self.fresh.hint
            )
        assert self.fresh is not None
        fresh_id, (middle, newest) = self.fresh["id"], self.deleted
        if fresh_id <= newest:
            raise CheckFailure(
                f"The {self.label} notes.db had lost notes {middle} and {newest}, {newest} being "
                f"the newest. After the upgrade, a new note got id {fresh_id}: the id of a deleted "
                "note, given again. A client holding the old id would now read another note. "
                "Rebuilding the table (a new table, INSERT ... SELECT, DROP, RENAME, as Alembic's "
                "batch mode does) loses AUTOINCREMENT and SQLite's record of the highest id ever "
                "used (sqlite_sequence).",
                "Add the column with `op.add_column(...)` or `ALTER TABLE notes ADD COLUMN ...`, "
                "which keep the table, its AUTOINCREMENT and its sqlite_sequence row as they are. "
                "Alembic's batch mode (op.batch_alter_table, render_as_batch) rebuilds the table: "
                "keep it out of these revisions.",
            )


def upgrade_fixture(older: str, make: MakeNote, migration_hint: str) -> Any:
    """A step module's `upgrade` fixture: one UpgradeRun from the notes.db of step `older`."""

    @pytest.fixture(scope="module")
    def upgrade(spawn: Callable[[Path], StudentServer], scratch: Scratch, target: Target) -> UpgradeRun:
        return UpgradeRun(spawn, scratch, target, older, make, migration_hint)

    return upgrade
