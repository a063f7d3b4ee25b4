"""A student's app starts with an environment made on purpose, and nothing of the grader's folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.engine.limits import Limits
from grader.engine.process import StudentProcess
from grader.engine.zygote import Zygote, shared_zygote

ECHO_ENVIRONMENT = """\
import os, sys
from fastapi import FastAPI

app = FastAPI()


@app.get("/env")
def env() -> dict:
    return {"environ": dict(os.environ), "path": sys.path,
            "fastapi": sys.modules["fastapi"].__file__}
"""


@pytest.fixture
def fresh_zygote(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Zygote]:
    """The grader's zygote, started anew from a folder holding a planted `fastapi.py`, with a
    secret and a DATABASE_URL in the grader's own environment."""
    planted = tmp_path / "grading-folder"
    planted.mkdir()
    (planted / "fastapi.py").write_text("raise SystemExit('the planted fastapi.py was imported')\n")
    monkeypatch.chdir(planted)
    monkeypatch.setenv("INSTRUCTOR_TOKEN", "s3cret-token")
    monkeypatch.setenv("DATABASE_URL", "postgresql://admin:pw@db/prod")
    monkeypatch.setenv("PYTHONPATH", str(planted))
    shared_zygote("web").close()
    fresh = shared_zygote("web")
    yield fresh
    fresh.close()  # a later test finds no zygote of this one's left running


def test_the_app_gets_no_grader_environment_and_no_grader_folder(
    fresh_zygote: Zygote, tmp_path: Path
) -> None:
    folder = tmp_path / "scratch" / "app"
    folder.mkdir(parents=True)
    (folder / "main.py").write_text(ECHO_ENVIRONMENT)
    child = StudentProcess(folder, Limits(preload="web"), tmp_path, env={"DATABASE_URL": "sqlite:///x.db"})
    try:
        assert child.wait_report("ready").ok, child.output()
        with child.client() as client:
            seen = client.get("/env").json()
    finally:
        child.close()
    environ = seen["environ"]
    assert "INSTRUCTOR_TOKEN" not in environ and "PYTHONPATH" not in environ
    assert environ["DATABASE_URL"] == "sqlite:///x.db", "only what the step hands the app"
    assert environ["LANG"] == "C.UTF-8" and environ["PATH"]
    assert str(tmp_path / "grading-folder") not in seen["path"]
    assert seen["fastapi"].endswith(os.path.join("fastapi", "__init__.py"))
