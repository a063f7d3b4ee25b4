"""Step 10: the contract of steps 7 to 9 again, with the app on a throwaway PostgreSQL database.

The app is started as a real `python -m uvicorn main:app` with DATABASE_URL in its environment;
the student's run gets a database of its own and each fresh folder a role with its own schema in
it (grader/checks/postgres.py), dropped at the end; the app reaches them through a gate in its
own folder (grader/engine/pg_gate.py) that lets that role into that database only: the one way
to a database server from the sandbox. The checks are those of steps 7, 8 and 9, imported and
called, with this step's points; a step-7 or step-8 check that adds a note without an owner gets
the id of a user made for it. No reachable server: each check fails with "skipped: no PostgreSQL
server".
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from grader.checks import step07_crud_rest as step07
from grader.checks import step08_schema_change as step08
from grader.checks import step09_relations_and_transactions as step09
from grader.checks.notes_api import random_text
from grader.checks.notes_rest import by_id, create_note, list_rest, setup_note
from grader.checks.orm_app import ORM_COMMIT_HINT
from grader.checks.postgres import (
    NO_SERVER,
    NO_SERVER_HINT,
    PRIVATE,
    ClusterError,
    Throwaway,
    ThrowawayDatabases,
    app_environment,
    postgres_hint,
    query,
    reachable,
    server_url,
    shared_cluster,
)
from grader.checks.real_server import RealServer
from grader.checks.replay import replay as replay_check
from grader.checks.restart import DB_FILE, restart_fixture
from grader.course import SOLUTIONS
from grader.engine.limits import Limits
from grader.engine.pg_gate import PostgresGate
from grader.engine.scratch import Scratch
from grader.feedback import CheckFailure
from grader.plugin import Target, check, fresh_server, settle
from grader.results import SKIPPED
from grader.server import StudentServer

MISSING_COLUMN_HINT = step08.MIGRATION_HINT + (
    " On PostgreSQL the same statements work: inspect() reads the columns of either database."
)


class PostgresServer(RealServer):
    """The app on one throwaway database. With `owners`, a POST /notes without an owner_id (as
    the step-7 and step-8 checks send it) is sent with the id of a user made for the purpose."""

    _owner_lock = threading.Lock()  # 50 POSTs at once must not make 50 owners

    def __init__(
        self,
        folder: Path,
        limits: Limits,
        workdir: Path,
        database: Throwaway,
        owners: dict[str, int] | None,
    ) -> None:
        super().__init__(folder, limits, workdir)
        self.database = database
        self.database_url = database.url  # read by step 9's orphan check, as the app's own role
        self.owners = owners
        self.gate: PostgresGate | None = None

    def start(self) -> StudentServer:
        """Open a gate to the app's own database in its folder, the one way there from a sandbox,
        and hand the app that gate's URL."""
        gate = PostgresGate(Path(tempfile.mkdtemp(prefix=".pg-", dir=self.folder)),
                            self.database.url, self.database.role, self.database.database)
        self.gate = gate
        self.waits_on = gate.busy
        self.env = app_environment(gate.url(self.database.password))
        return super().start()

    def _stop(self, graceful: bool) -> None:
        super()._stop(graceful)
        if self.gate is not None:
            self.gate.close()
            shutil.rmtree(self.gate.folder, ignore_errors=True)
            self.gate = None

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        body = kwargs.get("json")
        if (
            self.owners is not None
            and (method, path) == ("POST", "/notes")
            and isinstance(body, dict)
            and "owner_id" not in body
        ):
            kwargs["json"] = {**body, "owner_id": self._owner_id()}
        return super().request(method, path, **kwargs)

    def _owner_id(self) -> int:
        assert self.owners is not None
        with self._owner_lock:
            if self.database.role not in self.owners:  # one schema, one set of tables
                self.owners[self.database.role] = int(step09.create_user(self, "owner")["id"])
            return self.owners[self.database.role]


@pytest.fixture(scope="module", autouse=True)
def admin_url() -> str:
    """Where databases are made (PERSISTLAB_POSTGRES_URL=private: the grader's own server, started
    once for the process); every check fails the same way, at once, when nothing answers."""
    url = server_url()
    if url == PRIVATE:
        try:
            url = shared_cluster().admin_url
        except ClusterError as error:
            raise CheckFailure(f"{NO_SERVER} ({error})", NO_SERVER_HINT, SKIPPED) from None
    if not reachable(url):
        raise CheckFailure(NO_SERVER, NO_SERVER_HINT, SKIPPED)
    return url


@pytest.fixture(scope="module")
def databases(admin_url: str) -> Iterator[ThrowawayDatabases]:
    with ThrowawayDatabases(admin_url) as made:
        yield made


@pytest.fixture(scope="module")
def spawn(
    target: Target, scratch: Scratch, limits: Limits, workdir: Path, databases: ThrowawayDatabases
) -> Iterator[Callable[..., StudentServer]]:
    """Start the app for real on a folder (default: a fresh copy), once every server started before
    is killed; a new folder gets a new role and schema, or those of `database_of`; with `env`, no
    database of the grader's: the app gets that environment (SQLite's DATABASE_URL)."""
    of_folder: dict[Path, Throwaway] = {}
    owners: dict[str, int] = {}
    copies = itertools.count()
    servers: list[RealServer] = []

    def start(
        folder: Path | None = None, *, owned: bool = True, database_of: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> StudentServer:
        for running in servers:  # one student process at a time
            running.crash()
        if folder is None:
            folder = scratch.fresh(target.folder, f"pg{next(copies)}")
        if env is not None:
            plain = RealServer(folder, limits, workdir, env)
            servers.append(plain)
            return plain.start()
        if folder not in of_folder:
            of_folder[folder] = of_folder[database_of] if database_of else databases.create()
        server = PostgresServer(
            folder, limits, workdir, of_folder[folder], owners if owned else None
        )
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.crash()


@pytest.fixture
def server(
    request: pytest.FixtureRequest,
    spawn: Callable[..., StudentServer],
    latest: dict[str, StudentServer],
) -> Iterator[StudentServer]:
    """The previous check's server while it is sound (a real start costs seconds), else a fresh
    one; always a fresh one, on an empty database, for a check that counts every note or lists a
    new user's."""
    previous = latest.get("server")
    if request.function in ON_AN_EMPTY_DATABASE or previous is None or not previous.sound():
        previous = fresh_server(spawn, latest)
    yield previous
    settle(latest)


class UpgradeOnPostgres(step08.UpgradeRun):
    """Step 8's upgrade on PostgreSQL: the step-7 reference app makes a database and notes (the
    second and the newest then deleted), and the student's app starts on that database."""

    def __init__(
        self, spawn: Callable[..., StudentServer], scratch: Scratch, target: Target
    ) -> None:
        super().__init__(spawn, scratch, target, step08.STEP7, setup_note, step08.MIGRATION_HINT)
        self.start = spawn  # takes a folder, and where its database comes from

    def _old_database(self) -> Path:
        step7 = self.scratch.fresh(SOLUTIONS / step08.STEP7, "step7")
        server = self.start(step7, owned=False)
        notes = [create_note(server, random_text(), pinned=i % 2 == 0) for i in range(5)]
        for gone in (notes[1], notes[4]):
            server.request("DELETE", f"/notes/{gone['id']}")
        server.crash()
        self.deleted = [notes[1]["id"], notes[4]["id"]]
        self.old = by_id([notes[0], notes[2], notes[3]])
        return step7

    def _upgrade(self) -> dict[int, Any]:
        step7 = self._old_database()
        shutil.copytree(
            self.target.folder, self.folder, ignore=shutil.ignore_patterns("*.db*", "__pycache__")
        )
        server = self.start(self.folder, database_of=step7)
        try:
            response = server.request("GET", "/notes")
            output = server.settled_output() if response.status_code >= 500 else ""
            if "does not exist" in output and ("priority" in output or "owner_id" in output):
                column = "priority" if "priority" in output else "owner_id"
                raise CheckFailure(
                    f"On a PostgreSQL database made by the step-7 app, GET /notes answered 500: "
                    f'"column notes.{column} does not exist". The model has the new column, the '
                    "table in the database does not.",
                    MISSING_COLUMN_HINT,
                )
            return by_id(list_rest(server))
        finally:
            server.crash()


@pytest.fixture(scope="module")
def upgrade(
    spawn: Callable[..., StudentServer], scratch: Scratch, target: Target
) -> UpgradeOnPostgres:
    return UpgradeOnPostgres(spawn, scratch, target)


@contextmanager
def postgres_hints() -> Iterator[None]:
    """A failure whose message names a PostgreSQL error gets the hint for that error."""
    try:
        yield
    except CheckFailure as failure:
        hint = postgres_hint(failure.message)
        if not hint or failure.hint == hint:
            raise
        raise CheckFailure(failure.message, hint) from None


restart = restart_fixture(ORM_COMMIT_HINT, api=step09.OWNED_NOTES, hand_over=True)


def replay(earlier: Callable[..., object], points: int, task: int) -> Callable[..., None]:
    """An earlier step's check, run as it is on this step's servers, with this step's points and
    task, a PostgreSQL error in its failure given the hint for it."""
    return replay_check(earlier, points, task, renames={}, around=postgres_hints)


@check(points=2, task=1)
def test_tables_are_on_postgres(server: StudentServer) -> None:
    """with DATABASE_URL set, the tables and rows are on PostgreSQL, and no notes.db is made"""
    name = random_text()
    with postgres_hints():
        step09.create_user(server, name)
    rows = query(getattr(server, "database_url", ""), "SELECT name FROM users")
    if (server.folder / DB_FILE).exists() or name not in [row[0] for row in rows]:
        raise CheckFailure(
            "DATABASE_URL named a PostgreSQL database, but the app wrote its users to a notes.db "
            "file instead: it does not read DATABASE_URL.",
            'In database.py: `DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///notes.db")`, '
            "and `create_engine(DATABASE_URL, ...)`.",
        )


# Checks that reuse the running server first, then those that start their own; the 50 POSTs
# at once last, on the restart's last server.
test_create_answers_201 = replay(step07.test_create_answers_201, points=1, task=5)
test_list_and_read_one = replay(step07.test_list_and_read_one, points=1, task=5)
test_update = replay(step07.test_update, points=1, task=5)
test_delete = replay(step07.test_delete, points=1, task=5)
test_bad_input_is_refused = replay(step07.test_bad_input_is_refused, points=1, task=5)
test_priority_field = replay(step08.test_priority_field, points=1, task=5)
test_users = replay(step09.test_users, points=1, task=3)
test_notes_have_an_owner = replay(step09.test_notes_have_an_owner, points=1, task=3)
test_no_orphan_notes = replay(step09.test_no_orphan_notes, points=2, task=3)
test_deleting_a_user_with_notes = replay(step09.test_deleting_a_user_with_notes, points=2, task=3)
test_import_is_all_or_nothing = replay(step09.test_import_is_all_or_nothing, points=2, task=4)
test_filter_by_pinned = replay(step08.test_filter_by_pinned, points=1, task=5)
test_count = replay(step08.test_count, points=2, task=5)
test_changes_survive_a_restart = replay(step07.changes_survive_a_restart, points=1, task=5)
test_failed_import_after_a_restart = replay(
    step09.test_failed_import_after_a_restart, points=2, task=4
)
test_old_rows_survive_the_upgrade = replay(
    step08.test_old_rows_survive_the_upgrade, points=2, task=5
)
test_upgraded_database_restarts = replay(step08.test_upgraded_database_restarts, points=1, task=5)
test_notes_survive_a_graceful_restart = replay(
    step09.test_notes_survive_a_graceful_restart, points=1, task=3
)
test_concurrent_posts = replay(step07.test_concurrent_posts, points=2, task=5)


SQLITE_URL = "sqlite:///notes.db"
SQLITE_HINT = (
    "Keep what SQLite needs for SQLite: `connect_args={\"check_same_thread\": False}` when "
    "DATABASE_URL starts with `sqlite`, and the `PRAGMA foreign_keys = ON` listener registered "
    "`if engine.dialect.name == \"sqlite\":`. Only PostgreSQL enforces foreign keys without it."
)


@check(points=1, task=2)
def test_sqlite_still_enforces_foreign_keys(
    spawn: Callable[..., StudentServer], latest: dict[str, StudentServer]
) -> None:
    """with DATABASE_URL=sqlite:///notes.db, the app still refuses a note for a missing user"""
    previous = latest.pop("server", None)
    if previous is not None:
        previous.crash()
    try:
        step09.test_no_orphan_notes(spawn(env=app_environment(SQLITE_URL)))
    except CheckFailure as failure:
        raise CheckFailure(f"With DATABASE_URL={SQLITE_URL}: {failure.message}", SQLITE_HINT,
                           failure.outcome, failure.log) from None

# they count every note, or take a new user's empty list as theirs to judge, as in step 9
ON_AN_EMPTY_DATABASE = {test_filter_by_pinned, test_count, test_users}
