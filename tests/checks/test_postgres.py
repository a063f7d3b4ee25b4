"""The throwaway role an app gets on PostgreSQL can do what the app needs, and nothing to the host."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest

from grader.checks.postgres import (
    DEFAULT_URL,
    SCRAM_ITERATIONS,
    PrivateCluster,
    Throwaway,
    ThrowawayDatabases,
    query,
    with_database,
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    with PrivateCluster() as started:
        yield started


@pytest.fixture(params=["host server", "private cluster"])
def databases(request: pytest.FixtureRequest) -> Iterator[ThrowawayDatabases]:
    """Throwaway databases on the server at 127.0.0.1:5432, and on the grader's own cluster."""
    url = (
        DEFAULT_URL
        if request.param == "host server"
        else request.getfixturevalue("cluster").admin_url
    )
    with ThrowawayDatabases(url) as made:
        yield made


def _refused(url: str, statement: str) -> str:
    """The server's refusal of `statement`, run as the login in `url`."""
    with (
        psycopg.connect(url, autocommit=True, connect_timeout=3) as conn,
        pytest.raises(psycopg.Error) as refused,
    ):
        conn.execute(statement)
    return str(refused.value)


def test_the_role_builds_in_a_schema_of_its_own(databases: ThrowawayDatabases) -> None:
    made = databases.create()
    with psycopg.connect(made.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id SERIAL PRIMARY KEY, text TEXT)")
        conn.execute("INSERT INTO notes (text) VALUES ('kept')")
        conn.execute("CREATE TEMP TABLE scratch (n INT)")
    assert query(made.url, "SELECT current_user, current_database(), current_schema()") == [
        (made.role, made.database, made.role)
    ]
    assert query(made.url, "SELECT schemaname FROM pg_tables WHERE tablename = 'notes'") == [
        (made.role,)
    ]
    assert query(made.url, "SELECT text FROM notes") == [("kept",)]
    assert query(made.url, "SHOW synchronous_commit") == [("off",)]  # no wait for the disk
    assert made.app_url().startswith(f"postgresql+psycopg://{made.role}:{made.password}@")
    assert urlsplit(made.app_url()).path == f"/{made.database}"


def test_the_role_has_no_power_over_the_server(databases: ThrowawayDatabases) -> None:
    made = databases.create()
    rows = query(
        databases.url,
        (
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
            f"FROM pg_roles WHERE rolname = '{made.role}'"
        ),
    )
    assert rows == [(False, False, False, False, False)]
    assert "permission denied" in _refused(made.url, "SELECT pg_read_file('/etc/passwd')")
    assert "pg_execute_server_program" in _refused(made.url, "COPY (SELECT 1) TO PROGRAM 'id'")
    assert "permission denied to create role" in _refused(made.url, "CREATE ROLE intruder LOGIN")
    assert "permission denied to create database" in _refused(made.url, "CREATE DATABASE intruder")
    assert "permission denied" in _refused(made.url, "SELECT rolpassword FROM pg_authid")
    assert "permission denied" in _refused(made.url, "SELECT pg_ls_dir('.')")
    assert "permission denied for database" in _refused(made.url, "CREATE SCHEMA intruder")
    assert "permission denied for schema public" in _refused(
        made.url, "CREATE TABLE public.intruder (n INT)"
    )
    owner = query(made.url, "SELECT pg_get_userbyid(datdba) FROM pg_database "
                  "WHERE datname = current_database()")
    assert owner and owner[0][0] != made.role


def test_a_role_cannot_touch_another_roles_schema(databases: ThrowawayDatabases) -> None:
    ann, bob = databases.create(), databases.create()
    assert ann.database == bob.database and ann.role != bob.role
    with psycopg.connect(bob.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE secrets (text TEXT)")
        conn.execute("INSERT INTO secrets VALUES ('bob''s')")
    theirs = f"{bob.role}.secrets"
    for statement in (
        f"SELECT * FROM {theirs}",
        f"INSERT INTO {theirs} VALUES ('ann''s')",
        f"DELETE FROM {theirs}",
        f"DROP TABLE {theirs}",
        f"CREATE TABLE {bob.role}.planted (n INT)",
    ):
        assert f"permission denied for schema {bob.role}" in _refused(ann.url, statement)
    assert "permission denied" in _refused(ann.url, f"SET ROLE {bob.role}")
    assert query(ann.url, "SELECT * FROM secrets") == []  # no table of that name in ann's schema
    assert query(bob.url, "SELECT text FROM secrets") == [("bob's",)]


def test_the_role_cannot_reach_another_students_database(databases: ThrowawayDatabases) -> None:
    ann = databases.create()
    with ThrowawayDatabases(databases.url) as others:
        bob = others.create()
        assert bob.database != ann.database
        with psycopg.connect(bob.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE secrets (text TEXT)")
        into_bobs = with_database(ann.url, bob.database)
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(into_bobs, connect_timeout=3)
        assert "permission denied" in _refused(ann.url, f"SET ROLE {bob.role}")


def test_everything_is_dropped_even_after_a_crash() -> None:
    made: list[Throwaway] = []
    with pytest.raises(RuntimeError), ThrowawayDatabases(DEFAULT_URL) as databases:
        made += [databases.create(), databases.create()]
        app = psycopg.connect(made[0].url, autocommit=True)  # still connected: dropped all the same
        app.execute("CREATE TABLE notes (text TEXT)")
        raise RuntimeError("the checks crashed")
    app.close()
    names = {m.database for m in made} | {m.role for m in made}
    assert len(names) == 3
    left = query(
        DEFAULT_URL, "SELECT datname FROM pg_database UNION ALL SELECT rolname FROM pg_roles"
    )
    assert not names & {row[0] for row in left}


def test_a_role_granted_something_elsewhere_is_dropped_too(databases: ThrowawayDatabases) -> None:
    made = [databases.create(), databases.create(), databases.create()]
    with psycopg.connect(databases.url, autocommit=True) as admin:  # in the admin's database
        admin.execute(f"GRANT CONNECT ON DATABASE {admin.info.dbname} TO {made[1].role}")
        admin.execute(f"CREATE TABLE {made[1].role}_left (n INT)")
        admin.execute(f"ALTER TABLE {made[1].role}_left OWNER TO {made[1].role}")
    databases.roles.append("persistlab_never_made")  # a create() that failed before its role
    databases.drop_all()
    roles = {m.role for m in made}
    assert not roles & {row[0] for row in query(databases.url, "SELECT rolname FROM pg_roles")}
    assert query(databases.url, f"SELECT to_regclass('{made[1].role}_left')") == [(None,)]


def test_the_private_cluster_listens_on_its_socket_only_and_asks_for_passwords(
    cluster: PrivateCluster,
) -> None:
    assert query(cluster.admin_url, "SHOW listen_addresses") == [("",)]
    assert [p.name for p in cluster.socket_dir.iterdir() if not p.name.endswith(".lock")] == [
        ".s.PGSQL.5432"
    ]
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(cluster.url_for(cluster.ADMIN, "postgres"), connect_timeout=3)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(cluster.url_for(cluster.ADMIN, "postgres", "guess"), connect_timeout=3)
    with ThrowawayDatabases(cluster.admin_url) as databases:
        made = databases.create()
        assert made.app_url().startswith(
            f"postgresql+psycopg://{made.role}:{made.password}@/{made.database}?host=/"
        )
        for other in ("postgres", "template1"):
            with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
                psycopg.connect(with_database(made.url, other), connect_timeout=3)
        # the role's SCRAM secret is made by the grader, with few rounds: its password logs in
        assert query(made.url, "SELECT current_user") == [(made.role,)]
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(made.url.replace(made.password, made.password[::-1]), connect_timeout=3)
        secret = query(cluster.admin_url, f"SELECT rolpassword FROM pg_authid WHERE rolname = '{made.role}'")
        assert secret[0][0].startswith(f"SCRAM-SHA-256${SCRAM_ITERATIONS}:")


def test_the_private_cluster_is_gone_once_stopped() -> None:
    cluster = PrivateCluster().start()
    assert cluster.process is not None and reachable_once(cluster)
    cluster.stop()
    assert cluster.process.poll() is not None
    assert not cluster.root.exists()


def reachable_once(cluster: PrivateCluster) -> bool:
    return query(cluster.admin_url, "SELECT current_user") == [(cluster.ADMIN,)]
