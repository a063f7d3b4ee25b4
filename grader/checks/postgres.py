"""Throwaway databases and roles on a real PostgreSQL server, for the checks that run an app on one.

Each student's step run gets a database of its own, owned by the admin, which no one else (PUBLIC)
may connect to or use schema public of; each app's folder gets a role in it: a random password, no
SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS, allowed to connect to that database
only, owner of a schema of its own name and of nothing else. The app gets a URL with that role,
and the grader reads the app's rows as that role too: never as the admin, whom a view or function
the app made could otherwise run as. The database and its roles are dropped together at the end.

A server that trusts local connections (`trust` in pg_hba.conf, as a development server often
does) checks no password at all: an app there could still log in as any role it names, the
admin included. The role is a boundary only on a server that asks for passwords, such as the
grader's own `PrivateCluster` below.
"""

from __future__ import annotations

import atexit
import functools
import glob
import hashlib
import hmac
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from grader.engine.limits import die_with_parent
from grader.feedback import CheckFailure
from grader.results import SKIPPED

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
NO_SERVER = "skipped: no PostgreSQL server"
NO_SERVER_HINT = (
    "This step needs a PostgreSQL server to try your app on; it never counts as passed "
    "without one. Start one (for example `docker run -e POSTGRES_PASSWORD=... -p "
    "5432:5432 postgres`), or point PERSISTLAB_POSTGRES_URL at one, and check again."
)
CONNECTION_LIMIT = 50  # 50 requests at once, each on a pooled connection, and the grader's own
ROLE_OPTIONS = (
    "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
    f"CONNECTION LIMIT {CONNECTION_LIMIT}"
)


PRIVATE = "private"  # PERSISTLAB_POSTGRES_URL=private: a PrivateCluster of the grader's own
HIDDEN_FROM_THE_APP = ("PERSISTLAB_POSTGRES_URL", "PGPASSWORD")  # the admin's login, if it is there


def server_url() -> str:
    return os.environ.get("PERSISTLAB_POSTGRES_URL", DEFAULT_URL)


def app_environment(database_url: str) -> dict[str, str]:
    """What a student's app started with its own command gets on top of the grader's environment:
    its DATABASE_URL, and the grader's own database logins emptied."""
    return {**dict.fromkeys(HIDDEN_FROM_THE_APP, ""), "DATABASE_URL": database_url}


def with_database(url: str, name: str, driver: str = "") -> str:
    """`url` pointing at database `name`; with `driver`, as SQLAlchemy's postgresql+driver://."""
    parts = urlsplit(url)
    scheme = f"postgresql+{driver}" if driver else "postgresql"
    return urlunsplit((scheme, parts.netloc, f"/{name}", parts.query, ""))


def with_login(url: str, role: str, password: str) -> str:
    """`url` with its user and password replaced by `role` and `password` (host, port, query kept)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    login = f"{quote(role, safe='')}:{quote(password, safe='')}"
    return urlunsplit((parts.scheme, f"{login}@{host}", parts.path, parts.query, ""))


def connect(url: str) -> Any:
    """A psycopg connection in autocommit mode; a "skipped" failure when no server answers."""
    try:
        import psycopg
    except ImportError:
        raise CheckFailure(f"{NO_SERVER} (psycopg is not installed)", NO_SERVER_HINT, SKIPPED) from None
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.Error:
        raise CheckFailure(NO_SERVER, NO_SERVER_HINT, SKIPPED) from None


def reachable(url: str) -> bool:
    try:
        connect(url).close()
    except CheckFailure:
        return False
    return True


SCRAM_ITERATIONS = 16  # for a random 128-bit password of a role that lives one run, not 4096


def scram_secret(password: str, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 secret PostgreSQL stores for `password` (RFC 5802, RFC 7677), made here:
    the server's own hashing of a plain password takes 4096 rounds, about 11 ms a role, and every
    login of the app as many again."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored = hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()
    server = hmac.digest(salted, b"Server Key", "sha256")
    key = b64encode(stored).decode() + ":" + b64encode(server).decode()
    return f"SCRAM-SHA-256${iterations}:{b64encode(salt).decode()}${key}"


@dataclass(frozen=True)
class Throwaway:
    """One role with a schema of its own, named `role`, in database `database`, and how the app
    reaches them."""

    database: str
    role: str
    password: str
    url: str  # postgresql://role:password@host/database: what the grader reads the rows with

    def app_url(self, driver: str = "psycopg") -> str:
        """The URL handed to the app, as SQLAlchemy's postgresql+driver://."""
        return with_database(self.url, self.database, driver)


class ThrowawayDatabases:
    """One database persistlab_<random> (one student's step run), made on the first create(), and
    in it a role persistlab_<random> per create(), owner of a schema of the same name and of
    nothing else; drop_all() drops the database and every role.

    CREATE DATABASE waits for a checkpoint (a fifth of a second), a role and a schema take a
    millisecond: students are kept apart by database, one app's folder from another by schema.
    PostgreSQL's default search_path ("$user", public) puts the role's tables in its own schema.
    Use it as a context manager (or call drop_all in a finally) so that a crash of the checks
    leaves nothing behind on the server.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or server_url()
        self.database = ""
        self.roles: list[str] = []
        self._admin: Any = None  # the admin's connection to the database, kept for the next role
        self._public_revoked = False  # set once the first role's transaction is committed
        self._lock = threading.Lock()

    def __enter__(self) -> ThrowawayDatabases:  # noqa: PYI034  (never subclassed)
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop_all()

    def create(self) -> Throwaway:
        """A new role and its empty schema in this run's database: the role may connect to that
        database only, and use no schema but its own. One transaction: one commit to wait for."""
        from psycopg import sql

        with self._lock:
            if not self.database:
                self._create_database()
            if self._admin is None:
                self._admin = connect(with_database(self.url, self.database))
            database, role = sql.Identifier(self.database), f"persistlab_{secrets.token_hex(6)}"
            password = secrets.token_hex(16)
            self.roles.append(role)  # before it exists: drop_all takes what was made
            with self._admin.transaction():
                if not self._public_revoked:  # no one else (PUBLIC) may connect, or use schema public
                    self._admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))
                    self._admin.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
                self._admin.execute(
                    sql.SQL(f"CREATE ROLE {{}} {ROLE_OPTIONS} PASSWORD {{}}").format(
                        sql.Identifier(role), sql.Literal(scram_secret(password))
                    )
                )
                self._admin.execute(
                    sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                        database, sql.Identifier(role)
                    )
                )
                self._admin.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                    sql.Identifier(role), sql.Identifier(role)
                ))
            self._public_revoked = True
            url = with_login(with_database(self.url, self.database), role, password)
            return Throwaway(self.database, role, password, url)

    def _create_database(self) -> None:
        """The run's database, owned by the admin, whose commits do not wait for the disk (4 ms
        each on this machine's): a commit is seen at once all the same, and only a crash of the
        database server, which no check makes, could lose one."""
        from psycopg import sql

        name = f"persistlab_{secrets.token_hex(6)}"
        with connect(self.url) as conn:
            self.database = name  # before it exists: drop_all takes what was made
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(
                sql.Identifier(name)
            ))

    def drop_all(self) -> None:
        """Drop the database (closing the app's connections), then every role."""
        from psycopg import errors, sql

        with self._lock:
            if self._admin is not None:
                self._admin.close()
                self._admin = None
            if not self.database and not self.roles:
                return
            with connect(self.url) as conn:
                if self.database:
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(self.database)
                    ))
                    self.database, self._public_revoked = "", False
                roles = sql.SQL(", ").join(map(sql.Identifier, self.roles))
                if self.roles:
                    try:  # all in one statement: one commit
                        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(roles))
                    except errors.DependentObjectsStillExist:  # something in the admin's database
                        for (role,) in conn.execute(
                            "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [self.roles]
                        ).fetchall():
                            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(roles))
                self.roles.clear()


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one read-only query on the database at `url`; [] when it cannot run."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            return list(conn.execute(sql).fetchall())
    except psycopg.Error:
        return []


POSTGRES_HINTS = {
    "UndefinedFunction": (
        "SQLite treats true and false as the numbers 1 and 0, so `SUM(pinned)` works there; "
        "PostgreSQL has a real boolean type and no sum() for it. Count the rows instead, the same "
        "on both databases: `db.scalar(select(func.count()).select_from(Note).where(Note.pinned))`."
    ),
    "UndefinedColumn": (
        "The table in the database lacks a column the model has. On PostgreSQL as on SQLite, "
        "create_all() never changes a table that exists: migrations.upgrade() must add it, "
        'after reading the columns with `inspect(engine).get_columns("notes")`.'
    ),
    "SyntaxError": (
        "PostgreSQL did not understand a statement that SQLite accepts (PRAGMA, AUTOINCREMENT "
        "written by hand, `?` placeholders). Let SQLAlchemy write the SQL (select(), inspect()), "
        'and run SQLite\'s own statements only when `engine.dialect.name == "sqlite"`.'
    ),
    "StringDataRightTruncation": (
        "PostgreSQL enforces the length of a String(500) column, which SQLite ignores. Check the "
        "length in the schema, `Field(max_length=500)`, so the API answers 422 first."
    ),
    "DatatypeMismatch": (
        "PostgreSQL checks types strictly where SQLite converts quietly (a 0 or 1 for a boolean, "
        "text for a number). Give each column the type the model declares."
    ),
}


def postgres_hint(output: str) -> str:
    """What to try for the first psycopg error class named in `output`; "" for none known."""
    for name, hint in POSTGRES_HINTS.items():
        if f"psycopg.errors.{name}" in output:
            return hint
    return ""


class PrivateCluster:
    """A PostgreSQL server of the grader's own, for one grading run.

    initdb in a private folder, then `postgres` as a child of the grader (it dies with it),
    listening on a Unix socket in `socket_dir` only, no TCP, and asking every login for its
    password (scram-sha-256); no one but the admin may connect to its own databases. The
    admin's password lives in this object only. The sandbox binds
    `socket_dir` alone into a student's jail; `url_for` names a throwaway role's database there.
    Run as root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
    """

    ADMIN = "persistlab"

    def __init__(self, parent: str | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="persistlab-pg-", dir=parent))
        self.socket_dir = self.root / "socket"
        self.password = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self.admin_url = self.url_for(self.ADMIN, "postgres", self.password)

    def url_for(self, role: str, database: str, password: str = "", driver: str = "") -> str:
        """A URL for `role` on `database`, through the socket: postgresql://role:pw@/db?host=..."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        login = quote(role, safe="") + (f":{quote(password, safe='')}" if password else "")
        return f"{scheme}://{login}@/{quote(database, safe='')}?host={quote(str(self.socket_dir), safe='/')}"

    def __enter__(self) -> PrivateCluster:  # noqa: PYI034  (never subclassed)
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> PrivateCluster:
        """initdb, then the server; ClusterError (with PostgreSQL's own words) when either fails."""
        user = _cluster_user()
        data, log = self.root / "data", self.root / "server.log"
        self.socket_dir.mkdir(mode=0o755)
        password_file = self.root / "password"
        password_file.write_text(self.password, encoding="utf-8")
        for path in (self.root, self.socket_dir, password_file):
            os.chown(path, user.pw_uid, user.pw_gid)
        self.root.chmod(0o711)
        switch = functools.partial(_become, user.pw_uid, user.pw_gid)
        initdb = subprocess.run(  # a single-threaded moment: before any check runs
            [
                _binary("initdb"),
                "-D",
                str(data),
                "-U",
                self.ADMIN,
                "--auth=scram-sha-256",
                f"--pwfile={password_file}",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            capture_output=True,
            preexec_fn=switch,
            check=False,
            cwd=self.root,
        )
        password_file.unlink()
        if initdb.returncode != 0:
            raise ClusterError(
                f"initdb failed: {initdb.stderr.decode(errors='replace').strip()[-300:]}"
            )
        (data / "pg_hba.conf").write_text("local all all scram-sha-256\n", encoding="utf-8")
        settings = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "unix_socket_permissions": "0777",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        arguments = [
            arg
            for name, value in settings.items()
            for arg in ("-c", f"{name}={value.strip(chr(39))}")
        ]
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [_binary("postgres"), "-D", str(data), *arguments],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=functools.partial(_become, user.pw_uid, user.pw_gid, True),  # noqa: PLW1509
                cwd=self.root,
            )
        self._wait_ready(log)
        return self

    def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ClusterError(
                    f"postgres stopped: {log.read_text(errors='replace').strip()[-300:]}"
                )
            if reachable(self.admin_url):
                with connect(self.admin_url) as conn:  # a role reaches its own database only
                    for database in ("postgres", "template1"):
                        conn.execute(f"REVOKE ALL ON DATABASE {database} FROM PUBLIC")
                return
            time.sleep(0.1)
        self.stop()
        raise ClusterError("postgres did not answer within 30 s")

    def stop(self) -> None:
        """A fast shutdown (SIGINT: every session ends), then the folder is removed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


_shared: list[PrivateCluster] = []


def shared_cluster() -> PrivateCluster:
    """This process's PrivateCluster: started on first use (once per grading run, however many
    submissions a worker grades) and stopped when the process exits."""
    if not _shared or _shared[0].process is None or _shared[0].process.poll() is not None:
        _shared[:] = [PrivateCluster().start()]
        atexit.register(_shared[0].stop)
    return _shared[0]


class ClusterError(RuntimeError):
    """The grader's own PostgreSQL could not be made or started."""


def _cluster_user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterError(
            "PostgreSQL refuses to run as root, and there is no `postgres` user to run it as"
        ) from None


def _become(uid: int, gid: int, die_with_grader: bool = False) -> None:
    """In the child, before exec: the cluster's user, and (for the server) death with the grader."""
    import ctypes  # noqa: F401  (loaded while Python's files are still readable: root's may not be)

    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    if die_with_grader:
        die_with_parent()  # after setuid, which clears it


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), ""
    )
    if not found:
        raise ClusterError(f"{name} is not installed (Debian: apt-get install postgresql)")
    return found
