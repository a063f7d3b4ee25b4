"""Step 11: pinned requirements, settings from the environment, /health, a Dockerfile; and the
API of steps 7 to 9, which the app still serves, replayed on main:app forked as those steps start it."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.checks import step09_relations_and_transactions as step9
from grader.checks.baked_in import baked_in
from grader.checks.image import check_dockerfile, check_requirements, image_server
from grader.checks.orm_app import ORM_COMMIT_HINT
from grader.checks.owners import owned_note
from grader.checks.postgres import app_environment
from grader.checks.real_server import RealServer
from grader.checks.replay import replay as replay_check
from grader.checks.restart import DB_FILE, RestartRun, graceful_restart_check, restart_fixture
from grader.checks.server_command import after, inline, runnable_here
from grader.checks.step09_relations_and_transactions import OWNED_NOTES
from grader.checks.upgrade import UpgradeRun
from grader.engine.limits import Limits
from grader.engine.scratch import Scratch
from grader.feedback import CheckFailure
from grader.plugin import Target, check
from grader.server import StudentServer
from grader.student_files import open_own, plain_file

HEADER = 100  # bytes of a SQLite file's header, which says what the file is
WAL = 2  # the header's byte 18 (its file format for writes) in WAL mode
SETTINGS_HINT = (
    "In config.py, read `os.environ.get(\"DATABASE_URL\", \"sqlite:///notes.db\")` and build "
    "the engine from that setting."
)
HEALTH_HINT = (
    "Make /health read from the database through the session, such as "
    "`db.execute(select(Note.id).limit(1))`, and raise `HTTPException(status_code=503)` on "
    "SQLAlchemyError. SQLite answers `SELECT 1` without opening the file at all, so it cannot "
    "tell a damaged notes.db from a good one."
)


@pytest.fixture(scope="module")
def real() -> Iterator[list[RealServer]]:
    """Every real server a check started; all are killed after the module."""
    servers: list[RealServer] = []
    yield servers
    for server in servers:
        server.crash()


@pytest.fixture(scope="module")
def before_serving(target: Target) -> tuple[tuple[str, ...], ...]:
    """What the image runs before its server (`alembic upgrade head`), run here before every
    start of the app as a container would; nothing when the Dockerfile says nothing readable."""
    try:
        return image_server(target.folder).before
    except CheckFailure:
        return ()


def served(before: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    """How a RealServer serves main:app after `before`: the command, and how the student process
    runs it without a shell where it can; nothing (the zygote serves main:app) if no need."""
    if not before:
        return {}
    command = [sys.executable, "-m", "uvicorn", "main:app"]
    return {"command": after(before, command), "inline": inline(before, command)}


@pytest.fixture(scope="module")
def spawn(
    target: Target, scratch: Scratch, limits: Limits, workdir: Path,
    before_serving: tuple[tuple[str, ...], ...],
) -> Iterator[Callable[..., StudentServer]]:
    """The plugin's spawn, each start running what the image runs before its server."""
    servers: list[StudentServer] = []

    def start(folder: Path | None = None, env: dict[str, str] | None = None) -> StudentServer:
        for running in servers:  # one student process at a time
            running.crash()
        if folder is None:
            folder = scratch.fresh(target.folder, f"fresh{len(servers)}")
        how = served(before_serving)
        server = (RealServer if how else StudentServer)(folder, limits, workdir, env, **how)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.crash()


@check(points=2, task=1)
def test_requirements_are_pinned(target: Target) -> None:
    """requirements.txt pins every package with == and lists what the app imports, its server and psycopg"""
    check_requirements(target.folder)


restart = restart_fixture(ORM_COMMIT_HINT, api=OWNED_NOTES)


@check(points=1, task=2)
def test_notes_survive_a_crash(restart: RestartRun) -> None:
    """notes are still there after the server is killed (SIGKILL) and started again"""
    restart.expect_kept_after_crash()


test_notes_survive_a_graceful_restart = graceful_restart_check(points=1, task=2, kept_in=DB_FILE)


@check(points=2, task=3)
def test_health_answers(server: StudentServer) -> None:
    """GET /health answers 200 {"status": "ok"} while the database answers"""
    body = server.expect(server.request("GET", "/health"), (200,))
    if not isinstance(body, dict) or body.get("status") != "ok":
        raise CheckFailure(
            f"GET /health answered {body!r}; it should be {{\"status\": \"ok\"}}.",
            "Read a table through the session (`db.execute(select(Note.id).limit(1))`) and answer "
            "{\"status\": \"ok\"} when it works.",
        )


@check(points=2, task=3)
def test_health_needs_the_database(
    target: Target, scratch: Scratch, limits: Limits, workdir: Path, real: list[RealServer],
    before_serving: tuple[tuple[str, ...], ...],
) -> None:
    """/health answers 200 while the database works, and not 200 while it cannot be read"""
    folder = scratch.fresh(target.folder, "outage")
    (folder / "data").mkdir()
    server = RealServer(folder, limits, workdir, app_environment("sqlite:///data/notes.db"),
                        **served(before_serving))
    real.append(server)
    server.start()
    server.expect(server.request("GET", "/health"), (200,))
    try:  # the app's own file, never what a link it left points to (a file of the host)
        db = open_own(folder, "data/notes.db", os.O_RDWR)
    except OSError:
        raise CheckFailure(
            "DATABASE_URL was sqlite:///data/notes.db, but the app did not create that file: it "
            "does not take its database from the environment.",
            SETTINGS_HINT,
        ) from None
    try:
        header = _damage(folder, db)
        try:
            response = server.request("GET", "/health")
        finally:
            _repair(folder, db, header)
    finally:
        os.close(db)
    if response.status_code == 200:
        raise CheckFailure(
            "While the database file could not be read (its header was overwritten), GET /health "
            "still answered 200. A load balancer would keep sending users to a server whose every "
            "request fails.",
            HEALTH_HINT,
        )
    if server.process is None or server.process.returncode() is not None:
        raise CheckFailure(
            "While the database could not be read, GET /health ended the server. It should answer "
            "503 and keep running, so that it can answer 200 again once the database is back.",
            HEALTH_HINT,
        )
    if response.status_code != 503:
        raise CheckFailure(
            f"While the database file could not be read, GET /health answered "
            f"{response.status_code}; it should answer 503 Service Unavailable: the server runs "
            "but cannot serve now. A 500 says the health check itself broke, a 4xx that the "
            "request was wrong.",
            HEALTH_HINT,
        )
    again = server.request("GET", "/health")
    if again.status_code != 200:
        raise CheckFailure(
            f"Once the database file was whole again, GET /health answered {again.status_code}, "
            "not 200: the app did not recover by itself.",
            "Open a new session for each request (get_db) and do not keep the error around: "
            "/health should simply ask the database again.",
        )


def copy_left_out(source: Path, folder: Path) -> None:
    """Into `folder`, a fresh copy of `source`, the files of `source` a fresh copy leaves out
    (the database the start command made): only regular files of the app's own, since a link it
    left there may name a file of the host, which the next app would then read."""
    for path in source.rglob("*"):
        copied = folder / path.relative_to(source)
        if plain_file(path) and "__pycache__" not in path.parts and not copied.exists():
            shutil.copy2(path, copied)


def _damage(folder: Path, db: int) -> bytes:
    """Overwrite the header of the SQLite file open at `db` in place (same inode): every read of
    it fails."""
    _checkpoint(folder, db)
    header = os.pread(db, HEADER, 0)
    os.pwrite(db, bytes(len(header)), 0)
    return header


def _repair(folder: Path, db: int, header: bytes) -> None:
    os.pwrite(db, header, 0)
    _checkpoint(folder, db)  # what a connection in WAL mode read of the damage goes stale again


CHECKPOINT = (
    "import os, sqlite3, sys\n"
    "if sys.argv[1] != '-':\n"
    "    os.chroot(sys.argv[1])\n"
    "    os.chdir('/')\n"
    "with sqlite3.connect(sys.argv[2], timeout=2) as conn:\n"
    "    conn.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchall()\n"
)


def _checkpoint(folder: Path, db: int) -> None:
    """A database in WAL mode (`PRAGMA journal_mode=WAL`) has its pages copied into the file and
    its log emptied, as SQLite's own checkpoint does: the app's connections, which answered from
    the log and their caches, then read the file again (the damage reaches them). SQLite opens
    the files by name, so the grader, when it runs as root, does it from a process shut in the
    app's folder (chroot): a link the app left there reaches nothing of the host."""
    header = os.pread(db, 20, 0)
    if len(header) < 20 or header[18] != WAL:
        return
    shut_in = os.geteuid() == 0
    where = (str(folder), "/data/notes.db") if shut_in else ("-", str(folder / "data" / "notes.db"))
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        subprocess.run([sys.executable, "-I", "-S", "-c", CHECKPOINT, *where], timeout=5,
                       capture_output=True, check=False)


@check(points=2, task=4)
def test_dockerfile(target: Target) -> None:
    """the Dockerfile starts from a slim Python, installs requirements.txt, serves on 0.0.0.0 without --reload"""
    check_dockerfile(target.folder)


@check(points=2, task=4)
def test_production_command_serves(
    target: Target, scratch: Scratch, limits: Limits, workdir: Path, real: list[RealServer]
) -> None:
    """the image's start command, run as written, serves the app with DATABASE_URL, and /health answers"""
    server = image_server(target.folder)
    command = runnable_here(server, sys.executable)
    how = (f"`{server.written}`, run as written (only where it listens swapped for a socket of "
           "the grader's)")
    if server.program != "uvicorn":
        first = " && ".join([*(" ".join(words) for words in server.before), ""])
        how = (f"`{server.written}`, run as `{first}uvicorn {' '.join([server.app, *server.options])}` "
               f"(the server {server.program} starts for this app, on a socket of the grader's)")
    folder = scratch.fresh(target.folder, "production")
    (folder / "data").mkdir()
    env = app_environment("sqlite:///data/production.db")
    app = RealServer(folder, limits, workdir, env, command)
    real.append(app)
    try:
        app.start()
    except CheckFailure as failure:
        raise CheckFailure(
            f"The image's start command, {how}, did not start the app: "
            f"{failure.message.removeprefix('The app did not start: ')}",
            "Run the same command in the step folder yourself and read what it prints: a "
            "misspelt option or module name stops the container the same way.",
        ) from None
    body = app.expect(app.request("GET", "/health"), (200,))
    if not isinstance(body, dict) or body.get("status") != "ok":
        raise CheckFailure(f"GET /health answered {body!r}.", "Answer {\"status\": \"ok\"}.")
    if not (folder / "data" / "production.db").is_file():
        raise CheckFailure(
            "DATABASE_URL was sqlite:///data/production.db, but the app did not create that "
            "file: it does not take its database from the environment.",
            SETTINGS_HINT,
        )


@check(points=2, task=5)
def test_nothing_baked_in(target: Target) -> None:
    """no password, secret or absolute path is written into the code, the Dockerfile or requirements"""
    found = baked_in(target.folder)
    if found:
        name, number, what, line = found
        raise CheckFailure(
            f"{name} line {number} has {what}: {line[:120]}",
            "Anything that differs between machines, or must stay secret, comes from the "
            "environment (DATABASE_URL, API_KEY), never from the code or the image: "
            "`docker run -e API_KEY=...`. Use relative paths such as sqlite:///notes.db.",
        )


@pytest.fixture(scope="module")
def forked(
    target: Target, scratch: Scratch, limits: Limits, workdir: Path,
    spawn: Callable[..., StudentServer], before_serving: tuple[tuple[str, ...], ...],
    latest: dict[str, StudentServer], real: list[RealServer],
) -> Iterator[Callable[..., StudentServer]]:
    """main:app forked by the zygote, as steps 7 to 9 start it (milliseconds, where a start through
    the image's command takes about a second). What the image runs before its server runs first,
    once per database, through a start of `spawn` ended at once; a fresh folder is a copy of a
    folder it ran on, database included. `own=False`: an older step's app, forked as it is."""
    servers: list[StudentServer] = []
    done: set[tuple[Path, str]] = set()  # (folder, DATABASE_URL) upgraded
    template: list[Path | CheckFailure] = []
    copies = itertools.count()

    def fresh() -> Path:
        if not before_serving:
            return scratch.fresh(target.folder, f"forked{next(copies)}")
        if not template:
            try:
                template.append(upgraded(scratch.fresh(target.folder, "upgraded"), None))
            except CheckFailure as failure:
                template.append(failure)
        if isinstance(template[0], CheckFailure):
            raise template[0]
        source = template[0]
        folder = scratch.fresh(source, f"forked{next(copies)}")
        copy_left_out(source, folder)
        done.add((folder, ""))
        return folder

    def upgraded(folder: Path, env: dict[str, str] | None) -> Path:
        done.add((folder, (env or {}).get("DATABASE_URL", "")))
        spawn(folder, env).crash()
        return folder

    def start(folder: Path | None = None, env: dict[str, str] | None = None, *,
              own: bool = True) -> StudentServer:
        for running in (*servers, *real, *latest.values()):  # one student process at a time
            running.crash()
        if folder is None:
            folder = fresh()
        if own and before_serving and (folder, (env or {}).get("DATABASE_URL", "")) not in done:
            upgraded(folder, env)
        server = StudentServer(folder, limits, workdir, env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.crash()


@pytest.fixture
def forked_server(forked: Callable[..., StudentServer]) -> StudentServer:
    """A forked server on a fresh folder."""
    return forked()


@pytest.fixture(scope="module")
def upgrade(forked: Callable[..., StudentServer], scratch: Scratch, target: Target) -> UpgradeRun:
    """Step 9's upgrade: the step-8 reference, forked, makes notes.db; the app starts on a copy,
    after what the image runs before its server."""
    run = UpgradeRun(lambda folder: forked(folder, own=folder == run.folder), scratch, target,
                     step9.STEP8, owned_note, step9.OWNER_MIGRATION_HINT)
    return run


FORKED = {"spawn": "forked", "server": "forked_server"}  # what a replay takes in their place


def replay(earlier: Callable[..., None], points: int = 1, task: int = 6) -> Callable[..., None]:
    """A check of step 9 (its own, or its replay of steps 7 and 8) run as it is, on forked servers,
    with this step's points and task."""
    return replay_check(earlier, points, task, step=9, renames=FORKED)


test_notes_still_created_and_read = replay(step9.test_notes_still_created_and_read)
test_notes_still_updated_and_deleted = replay(step9.test_notes_still_updated_and_deleted)
test_bad_input_still_refused = replay(step9.test_bad_input_still_refused)
test_priority_filter_and_count_still_work = replay(step9.test_priority_filter_and_count_still_work)
test_sessions_still_closed = replay(step9.test_sessions_still_closed)
test_users = replay(step9.test_users)
test_notes_have_an_owner = replay(step9.test_notes_have_an_owner)
test_no_orphan_notes = replay(step9.test_no_orphan_notes)
test_deleting_a_user_with_notes = replay(step9.test_deleting_a_user_with_notes)
test_import_is_all_or_nothing = replay(step9.test_import_is_all_or_nothing)
test_changes_still_survive_a_restart = replay(step9.test_changes_still_survive_a_restart)
test_failed_import_after_a_restart = replay(step9.test_failed_import_after_a_restart)
test_step8_database_comes_forward = replay(step9.test_step8_database_comes_forward)
