"""Step 10 runs against a real PostgreSQL server, and says so when there is none."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.check import run_checks
from grader.checks.postgres import (
    DEFAULT_URL,
    HIDDEN_FROM_THE_APP,
    ThrowawayDatabases,
    app_environment,
    query,
)
from grader.course import Course
from grader.results import FAIL, PASS
from tests.checks.test_variants import QUICK
from tests.checks.variants import COUNT_PINNED, S10, Variant


def test_no_server_is_never_a_pass(course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERSISTLAB_POSTGRES_URL", "postgresql://postgres@127.0.0.1:1/test")
    step = course.step(10)
    report = run_checks(step, step.solution_dir, QUICK)
    assert report.status == FAIL and report.score == 0
    assert all(t.message == "skipped: no PostgreSQL server" for t in report.tests)


def test_one_database_per_run_and_a_role_per_create_all_dropped() -> None:
    with ThrowawayDatabases() as databases:  # a failed assertion leaves nothing behind either
        made = [databases.create(), databases.create()]
        assert {m.database for m in made} == {databases.database} <= _persistlab(
            "SELECT datname FROM pg_database"
        )
        roles = {m.role for m in made}
        assert len(roles) == 2 and roles <= _persistlab("SELECT rolname FROM pg_roles")
        assert query(made[0].url, "SELECT current_user, current_schema()") == [(made[0].role,) * 2]
        databases.drop_all()
        assert not ({made[0].database} | roles) & (
            _persistlab("SELECT datname FROM pg_database")
            | _persistlab("SELECT rolname FROM pg_roles")
        )


def test_the_app_never_sees_the_admins_login() -> None:
    env = app_environment("postgresql+psycopg://role:secret@host/db")
    assert env["DATABASE_URL"] == "postgresql+psycopg://role:secret@host/db"
    assert all(env[name] == "" for name in ("PERSISTLAB_POSTGRES_URL", "PGPASSWORD"))
    assert set(HIDDEN_FROM_THE_APP) < set(env)


def test_the_solution_passes_on_the_graders_own_cluster(
    course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERSISTLAB_POSTGRES_URL", "private")
    step = course.step(10)
    report = run_checks(step, step.solution_dir)
    assert report.status == PASS, report.first_failure
    assert report.score == step.points


PORTABLE_COUNT = Variant(
    "count-by-case",
    10,
    S10,
    {
        "main.py": [
            (
                COUNT_PINNED,
                "    pinned = db.scalar(select(func.sum(case((Note.pinned, 1), else_=0)))) or 0\n",
            ),
            ("from sqlalchemy import func, select", "from sqlalchemy import case, func, select"),
        ]
    },
)


def test_a_portable_count_in_another_style_gets_full_marks(course: Course, tmp_path: Path) -> None:
    report = run_checks(course.step(10), PORTABLE_COUNT.write(tmp_path / "submission"))
    assert report.score == report.max_score, report.first_failure


def _persistlab(sql: str) -> set[str]:
    return {row[0] for row in query(DEFAULT_URL, sql) if row[0].startswith("persistlab_")}
