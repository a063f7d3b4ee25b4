"""The break-it experiments of steps 6 and 8, run for real on the reference app and narrated.

`persistlab demo delete-db`, `demo add-column` and `demo drop-yield` each start the step-6
reference solution in a scratch folder, `demo skip-migration` and `demo create-all-twice` the
step-8 one, break it the way the step's README describes, and report what the server answered
at every moment.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.checks.orm_app import open_db_files
from grader.course import Course
from grader.engine.limits import Limits
from grader.engine.scratch import Scratch
from grader.feedback import CheckFailure, error_line
from grader.server import StudentServer

STEP = 6
DB_FILE = "notes.db"
LEAK_REQUESTS = 40
ALEMBIC_UPGRADE = r'    command\.upgrade\(Config\(ALEMBIC_INI\), "head"\)[^\n]*\n'


class Lab:
    """The reference app of a step (6 unless told) in a scratch folder: edit it, start it, ask
    it, kill it."""

    def __init__(self, course: Course, workdir: Path, step: int = STEP) -> None:
        self.course = course
        self.step = step
        self.scratch = Scratch(course.step(step).solution_dir)
        self.folder = self.scratch.folder
        self.workdir = workdir
        self.server: StudentServer | None = None
        self.log: list[tuple[str, str]] = []

    def note(self, action: str, result: str) -> None:
        self.log.append((action, result))

    def start(self, action: str = "start the server") -> None:
        self.server = StudentServer(self.folder, Limits(), self.workdir).start()
        found = "notes.db is there" if self.db.exists() else "no notes.db yet"
        self.note(action, f"it answers; {found}")

    def restart(self) -> None:
        self.kill()
        self.start("stop the server and start it again")

    def try_start(self, action: str) -> bool:
        """Start the server, or log why it did not start."""
        self.kill()
        try:
            self.start(action)
        except CheckFailure as failure:
            self.note(action, f"it does not start: {failure.message.splitlines()[0]}")
            return False
        return True

    def older_database(self, step: int, texts: tuple[str, ...]) -> None:
        """Put here the notes.db that step `step`'s reference app leaves after adding `texts`."""
        older = self.scratch.fresh(self.course.step(step).solution_dir, f"step{step}")
        server = StudentServer(older, Limits(), self.workdir).start()
        for text in texts:
            server.request("POST", "/notes", json={"text": text})
        server.crash()
        (self.folder / DB_FILE).write_bytes((older / DB_FILE).read_bytes())
        self.note(f"add {len(texts)} notes with the step-{step} app; copy its notes.db here",
                  "the old table: no priority column, no alembic_version")

    def kill(self) -> None:
        if self.server is not None:
            self.server.crash()
            self.server = None

    @property
    def db(self) -> Path:
        return self.folder / DB_FILE

    def ask(self, method: str, path: str, json: object = None, quiet: bool = False) -> httpx.Response:
        """Send one request, log what came back in a line (unless `quiet`), return the answer."""
        assert self.server is not None
        seen = len(self.server.output())
        response = self.server.request(method, path, json=json)
        if response.status_code >= 500:
            error = self._new_error(seen).split(": ", 1)[-1]
            result = f"{response.status_code}: {error or response.text}"
        else:
            result = f"{response.status_code} {response.text[:120]}"
        if not quiet:
            sent = f" {json['text']!r}" if isinstance(json, dict) else ""
            self.note(f"{method} {path}{sent}", result)
        return response

    def _new_error(self, seen: int, wait: float = 1.0) -> str:
        """The exception uvicorn logs after the output's first `seen` characters, once it is there."""
        assert self.server is not None
        deadline = time.monotonic() + wait
        while not (error := error_line(self.server.output()[seen:])) and time.monotonic() < deadline:
            time.sleep(0.01)
        return error

    def edit(self, name: str, pattern: str, replacement: str, action: str) -> None:
        """Rewrite part of one file of the reference app; a pattern that is gone is our bug."""
        path = self.folder / name
        text, count = re.subn(pattern, replacement, path.read_text(encoding="utf-8"), flags=re.DOTALL)
        if count != 1:
            raise RuntimeError(f"the step-{self.step} solution's {name} no longer matches {pattern!r}")
        path.write_text(text, encoding="utf-8")
        self.note(action, "edited in the scratch copy")

    def close(self) -> None:
        self.kill()
        self.scratch.cleanup()


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    run: Callable[[Lab], str]  # breaks the app, logs each moment, returns what it means
    recover: str
    step: int = STEP  # whose reference app it breaks


def delete_db(lab: Lab) -> str:
    lab.start()
    lab.ask("POST", "/add_note", {"text": "buy oat milk"})
    lab.db.unlink()
    lab.note("delete notes.db while the server runs", "the file is gone from the folder")
    write = lab.ask("POST", "/add_note", {"text": "call the dentist"}).status_code
    lab.ask("GET", "/notes")
    lab.restart()
    lab.ask("GET", "/notes")
    refused = (
        "SQLite noticed that the file under its open connection had been deleted and refused "
        "to write to it, while reads still came from the deleted file, which no other program "
        "can open any more. "
        if write >= 500
        else "The open connection went on writing to the deleted file, which no other program "
        "can open any more, so that note was lost with it. "
    )
    return (
        refused + "On the restart, create_all found no notes table and made a fresh, empty "
        "notes.db: every note that was in the old file is gone. A database file is the data; "
        "deleting it is deleting the notes."
    )


def add_column(lab: Lab) -> str:
    lab.start()
    lab.ask("POST", "/add_note", {"text": "buy oat milk"})
    lab.edit(
        "models.py", r"(\n    created_at: [^\n]*\n)",
        r"\1    pinned: Mapped[bool] = mapped_column(default=False)\n",
        "add `pinned` to the Note model, keep the old notes.db",
    )
    lab.restart()
    lab.ask("POST", "/add_note", {"text": "call the dentist"})
    lab.ask("GET", "/notes")
    return (
        "create_all only creates tables that do not exist yet. The notes table was already in "
        "notes.db, so it was left as it was, without a pinned column. The model and the table "
        "no longer agree: every statement the model builds names pinned, so adding a note and "
        "listing the notes both fail, and the rows already stored cannot even be read."
    )


def drop_yield(lab: Lab) -> str:
    lab.start()
    reference = _leak(lab)
    lab.edit(
        "main.py", r"def get_db\(\)[^\n]*\n    db = SessionLocal\(\)\n    try:\n.*?db\.close\(\)\n",
        "def get_db() -> Session:\n    return SessionLocal()\n",
        "get_db: `return SessionLocal()` instead of yield and finally",
    )
    lab.restart()
    leaked = _leak(lab)
    stored = len(lab.ask("GET", "/notes", quiet=True).json())
    lab.note("GET /notes", f"{stored} of the {LEAK_REQUESTS} notes added")
    if reference is None or leaked is None:
        counted = "This system has no /proc, so the open connections could not be counted. "
    else:
        counted = (
            f"After {LEAK_REQUESTS} requests, the server held {reference} open with yield and "
            f"finally, and {leaked} with return. "
        )
    kept = (
        "Every note was stored: a leak does not lose data, it loses connections. "
        if stored == LEAK_REQUESTS
        else f"Only {stored} of {LEAK_REQUESTS} notes were stored. "
    )
    return (
        counted + kept + "Nothing closes a returned session: its connection stays checked out "
        "until Python's garbage collector happens to reclaim it. The pool lends at most 15 "
        "(5 plus 10 overflow), so a server under load can run out, and then a request waits "
        "30 seconds for a connection and fails."
    )


def skip_migration(lab: Lab) -> str:
    lab.older_database(7, ("buy oat milk", "call the dentist"))
    lab.edit("main.py", ALEMBIC_UPGRADE, "", "remove the `command.upgrade(...)` call from the lifespan")
    lab.start()
    lab.ask("GET", "/notes")
    lab.ask("POST", "/notes", {"text": "water the plants"})
    lab.edit("main.py", r"(async def lifespan\(app: FastAPI\) -> AsyncIterator\[None\]:\n)",
             r'\1    command.upgrade(Config(ALEMBIC_INI), "head")\n', "put the upgrade back")
    lab.restart()
    lab.ask("GET", "/notes")
    return (
        "The model names a priority column that the step-7 table does not have, so every "
        "statement about notes failed, reads included, although the rows were all there. Put "
        "back, the upgrade found no alembic_version in the file, ran revision 0001 (the table "
        "was there already, so it did nothing) and 0002, which added the column: the old notes "
        "came back with priority 0, and nothing was lost."
    )


def create_all_twice(lab: Lab) -> str:
    lab.edit(
        "main.py", ALEMBIC_UPGRADE,
        '    from database import Base, engine\n\n    Base.metadata.create_all(engine)\n'
        '    command.upgrade(Config(ALEMBIC_INI), "head")\n',
        "call create_all before the upgrade, as in step 7",
    )
    lab.try_start("start the server on an empty folder")
    lab.edit("main.py", r"    from database import Base, engine\n\n    Base\.metadata\.create_all\(engine\)\n",
             "", "take create_all out again")
    (lab.folder / DB_FILE).unlink(missing_ok=True)
    lab.try_start("delete the half-made notes.db and start again")
    lab.ask("POST", "/notes", {"text": "buy oat milk", "priority": 2})
    return (
        "create_all made the notes table from the model, priority included. Then Alembic, "
        "finding no alembic_version, ran revision 0001 (the table was there: nothing to do) and "
        "0002, whose ADD COLUMN met a priority column that already existed: duplicate column "
        "name, and the server never came up. Two things made the same table. From step 8 on the "
        "revisions alone make and change the tables."
    )


def _leak(lab: Lab) -> int | None:
    """Half of LEAK_REQUESTS adds, half lists; how many connections to notes.db stay open."""
    for number in range(LEAK_REQUESTS // 2):
        lab.ask("POST", "/add_note", {"text": f"note {number}"}, quiet=True)
        lab.ask("GET", "/notes", quiet=True)
    assert lab.server is not None
    held = open_db_files(lab.server)
    shown = "cannot be counted here" if held is None else f"{held} held open"
    lab.note(f"{LEAK_REQUESTS} requests; count connections to notes.db", shown)
    return held


EXPERIMENTS = {
    e.name: e
    for e in (
        Experiment(
            "delete-db", "Delete notes.db while the server runs", delete_db,
            "Restarting brings the app back, with an empty table. The notes come back only from "
            "a copy: back up a database file the way you back up any file you cannot lose.",
        ),
        Experiment(
            "add-column", "Add a column to the model without migrating", add_column,
            "In development, delete notes.db and restart, losing every row. With data you keep, "
            "change the table itself: an Alembic revision that runs op.add_column, applied with "
            "`alembic upgrade head` (step 8), or ALTER TABLE notes ADD COLUMN at startup.",
        ),
        Experiment(
            "drop-yield", "Return the session from get_db instead of yielding it", drop_yield,
            "Put back `db = SessionLocal()`, `try: yield db`, `finally: db.close()`: FastAPI "
            "runs the finally block after the answer is sent, on success and on error alike.",
        ),
        Experiment(
            "skip-migration", "Start on a step-7 notes.db without running the migration",
            skip_migration,
            "Run every revision the database lacks before the first request: "
            "`command.upgrade(Config(ALEMBIC_INI), \"head\")` in the lifespan, or `alembic "
            "upgrade head` before the server starts. Deleting notes.db would also make the "
            "error go away, with every note.",
            step=8,
        ),
        Experiment(
            "create-all-twice", "Keep create_all before the Alembic upgrade", create_all_twice,
            "Let the revisions make the tables: take create_all out of the lifespan. A file the "
            "failed start left half-made is best deleted while it holds nothing.",
            step=8,
        ),
    )
}


def run_experiment(console: Console, course: Course, name: str) -> None:
    experiment = EXPERIMENTS[name]
    console.print(f"Break it: [bold]{escape(experiment.title)}[/], on the step-{experiment.step} "
                  "reference app in a scratch folder...")
    with tempfile.TemporaryDirectory(prefix="persistlab-demo-") as tmp:
        lab = Lab(course, Path(tmp), experiment.step)
        try:
            meaning = experiment.run(lab)
        except CheckFailure as failure:
            meaning = f"The experiment could not go on: {failure.message}"
        finally:
            lab.close()
    table = Table(show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("what we did")
    table.add_column("what happened")
    for number, (action, result) in enumerate(lab.log, 1):
        table.add_row(str(number), escape(action), escape(result))
    console.print(table)
    console.print(f"[bold]What it means.[/] {escape(meaning)}")
    console.print(f"[bold]How to recover.[/] {escape(experiment.recover)}")


__all__ = ["EXPERIMENTS", "run_experiment"]
