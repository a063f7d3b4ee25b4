"""Step 10 runs against a real PostgreSQL server, and says so when there is none."""

from __future__ import annotations

import pytest

from grader.check import run_checks
from grader.checks.postgres import DEFAULT_URL, ThrowawayDatabases, query
from grader.course import Course
from grader.results import FAIL
from tests.checks.test_variants import QUICK


def test_no_server_is_never_a_pass(course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERSISTLAB_POSTGRES_URL", "postgresql://postgres@127.0.0.1:1/test")
    step = course.step(10)
    report = run_checks(step, step.solution_dir, QUICK)
    assert report.status == FAIL and report.score == 0
    assert all(t.message == "skipped: no PostgreSQL server" for t in report.tests)


def test_throwaway_databases_are_made_and_dropped() -> None:
    databases = ThrowawayDatabases()
    urls = [databases.create(), databases.create()]
    names = {url.rsplit("/", 1)[1] for url in urls}
    assert names <= _persistlab_databases()
    assert query(urls[0], "SELECT 1") == [(1,)]
    databases.drop_all()
    assert not names & _persistlab_databases()


def _persistlab_databases() -> set[str]:
    rows = query(DEFAULT_URL, "SELECT datname FROM pg_database WHERE datname LIKE 'persistlab_%'")
    return {row[0] for row in rows}
