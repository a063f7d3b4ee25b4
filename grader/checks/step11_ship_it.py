"""Step 11: pinned requirements, settings from the environment, /health, a Dockerfile."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.checks.real_server import RealServer
from grader.feedback import CheckFailure
from grader.plugin import Target, check
from grader.runner import Limits, Scratch
from grader.server import StudentServer

NEEDED = ("fastapi", "uvicorn", "sqlalchemy")
PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.*+!-]+(\s*;.*)?$")
BAKED = (
    (re.compile(r"\b[a-z+]+://[^/\s:@]+:[^@\s/]+@"), "a password inside a database URL"),
    (re.compile(r"(?i)\b\w*(secret|password|token)\w*\s*=\s*['\"][^'\"]+['\"]"), "a secret written in the code"),
    (re.compile(r"(/home/|/Users/|/root/|[A-Z]:\\\\|sqlite:////)"), "an absolute path"),
)
SHIPPED = ("requirements.txt", "Dockerfile", ".dockerignore")


def dockerfile(folder: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each instruction, continuation lines joined."""
    path = folder / "Dockerfile"
    if not path.is_file():
        raise CheckFailure(
            "There is no Dockerfile beside main.py.",
            "Write one: FROM a slim Python image, install requirements.txt, copy the app, and "
            "start uvicorn. README.md shows the shape.",
        )
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8", errors="replace"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def start_command(folder: Path) -> list[str]:
    """The Dockerfile's CMD as a list of words."""
    commands = [rest for word, rest in dockerfile(folder) if word == "CMD"]
    if not commands:
        raise CheckFailure(
            "The Dockerfile has no CMD, so the image does not say how to start the app.",
            "End it with `CMD [\"uvicorn\", \"main:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8000\"]`.",
        )
    last = commands[-1]
    try:
        words = json.loads(last) if last.startswith("[") else shlex.split(last)
    except (ValueError, json.JSONDecodeError):
        raise CheckFailure(
            f"The Dockerfile's CMD cannot be read: {last}",
            "Write it as a JSON list of words: `CMD [\"uvicorn\", \"main:app\", ...]`.",
        ) from None
    return [str(word) for word in words]


@pytest.fixture(scope="module")
def real() -> Iterator[list[RealServer]]:
    """Every real server a check started; all are killed after the module."""
    servers: list[RealServer] = []
    yield servers
    for server in servers:
        server.crash()


@check(points=2, task=1)
def test_requirements_are_pinned(target: Target) -> None:
    """requirements.txt pins every package with == and lists fastapi, uvicorn and sqlalchemy"""
    path = target.folder / "requirements.txt"
    if not path.is_file():
        raise CheckFailure(
            "There is no requirements.txt beside main.py.",
            "List what the app needs, one package a line, each pinned: `fastapi==0.115.0`. "
            "`pip freeze` prints what your environment has, with versions.",
        )
    lines = [line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    loose = [line for line in lines if not PINNED.match(line)]
    if loose:
        raise CheckFailure(
            f"requirements.txt has {loose[0]!r}, which is not pinned to one version.",
            "Pin each package with ==, such as `sqlalchemy==2.0.36`: the image built next month "
            "must install exactly what you tested today.",
        )
    names = {re.split(r"[\[=]", line, maxsplit=1)[0].lower().replace("_", "-") for line in lines}
    missing = [name for name in NEEDED if name not in names]
    if missing:
        raise CheckFailure(
            f"requirements.txt does not list {', '.join(missing)}.",
            "Every package main.py and its modules import must be there, pinned.",
        )


@check(points=2, task=3)
def test_health_answers(server: StudentServer) -> None:
    """GET /health answers 200 {"status": "ok"} while the database answers"""
    body = server.expect(server.request("GET", "/health"), (200,))
    if not isinstance(body, dict) or body.get("status") != "ok":
        raise CheckFailure(
            f"GET /health answered {body!r}; it should be {{\"status\": \"ok\"}}.",
            "Run `SELECT 1` through the session (`db.execute(text(\"SELECT 1\"))`) and answer "
            "{\"status\": \"ok\"} when it works.",
        )


@check(points=2, task=3)
def test_health_needs_the_database(
    target: Target, scratch: Scratch, limits: Limits, workdir: Path, real: list[RealServer]
) -> None:
    """with a DATABASE_URL that cannot be opened, /health does not answer 200"""
    folder = scratch.fresh(target.folder, "no-database")
    server = RealServer(folder, limits, workdir, {"DATABASE_URL": "sqlite:///no-such-dir/notes.db"})
    real.append(server)
    try:
        server.start()
    except CheckFailure:
        return  # the app refused to start without its database: nothing answers, which is right
    response = server.request("GET", "/health")
    if response.status_code == 200:
        raise CheckFailure(
            "DATABASE_URL pointed at a database that cannot be opened, and GET /health still "
            "answered 200. A load balancer would send users to a server that cannot serve them.",
            "Read DATABASE_URL from the environment in config.py, and make /health ask the "
            "database: `db.execute(text(\"SELECT 1\"))`, answering 503 on SQLAlchemyError.",
        )


@check(points=3, task=4)
def test_dockerfile(target: Target) -> None:
    """the Dockerfile starts from a slim Python, installs requirements.txt, serves on 0.0.0.0 without --reload"""
    steps = dockerfile(target.folder)
    base = next((rest for word, rest in steps if word == "FROM"), "")
    if not re.match(r"python:[\w.-]*slim", base):
        raise CheckFailure(
            f"The Dockerfile starts FROM {base or 'nothing'!r}; use a slim Python image.",
            "`FROM python:3.12-slim`: the full image is several times larger, for tools the app "
            "never uses.",
        )
    runs = " ".join(rest for word, rest in steps if word == "RUN")
    if not re.search(r"pip install .*-r requirements\.txt", runs):
        raise CheckFailure(
            "The Dockerfile never runs `pip install -r requirements.txt`.",
            "`COPY requirements.txt .` then `RUN pip install --no-cache-dir -r requirements.txt`, "
            "before `COPY . .`, so a code change does not reinstall every package.",
        )
    words = start_command(target.folder)
    if "--reload" in words:
        raise CheckFailure(
            "The Dockerfile's CMD passes --reload.",
            "--reload watches files and restarts on changes, a development aid that costs time "
            "and memory in production. Leave it out.",
        )
    if "0.0.0.0" not in words:
        raise CheckFailure(
            f"The Dockerfile's CMD, {' '.join(words)}, does not listen on 0.0.0.0.",
            "Inside a container, 127.0.0.1 is the container itself: nothing outside can reach "
            "it. `--host 0.0.0.0` listens on every interface.",
        )
    ignore = target.folder / ".dockerignore"
    ignored = ignore.read_text(encoding="utf-8") if ignore.is_file() else ""
    if "*.db" not in ignored and "notes.db" not in ignored:
        raise CheckFailure(
            "There is no .dockerignore that keeps notes.db out of the image, so `COPY . .` "
            "would bake your local notes into it.",
            "Write a .dockerignore with `*.db`, `__pycache__/` and `.venv/`, one a line.",
        )


@check(points=3, task=4)
def test_production_command_serves(
    target: Target, scratch: Scratch, limits: Limits, workdir: Path, real: list[RealServer]
) -> None:
    """the CMD's app starts as a real process, uses DATABASE_URL, and /health answers"""
    words = start_command(target.folder)
    if "uvicorn" not in words[:3] or "main:app" not in words:
        raise CheckFailure(
            f"The Dockerfile's CMD is {' '.join(words)}; it should run `uvicorn main:app`.",
            "`CMD [\"uvicorn\", \"main:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8000\"]`.",
        )
    folder = scratch.fresh(target.folder, "production")
    (folder / "data").mkdir()
    server = RealServer(folder, limits, workdir, {"DATABASE_URL": "sqlite:///data/production.db"})
    real.append(server)
    server.start()
    body = server.expect(server.request("GET", "/health"), (200,))
    if not isinstance(body, dict) or body.get("status") != "ok":
        raise CheckFailure(f"GET /health answered {body!r}.", "Answer {\"status\": \"ok\"}.")
    if not (folder / "data" / "production.db").is_file():
        raise CheckFailure(
            "DATABASE_URL was sqlite:///data/production.db, but the app did not create that "
            "file: it does not take its database from the environment.",
            "In config.py, read `os.environ.get(\"DATABASE_URL\", \"sqlite:///notes.db\")` and "
            "build the engine from that setting.",
        )


@check(points=2, task=5)
def test_nothing_baked_in(target: Target) -> None:
    """no password, secret or absolute path is written into the code, the Dockerfile or requirements"""
    names = sorted(p.name for p in target.folder.glob("*.py")) + list(SHIPPED)
    for name in names:
        path = target.folder / name
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for pattern, what in BAKED:
                if pattern.search(line):
                    raise CheckFailure(
                        f"{name} line {number} has {what}: {line.strip()[:120]}",
                        "Anything that differs between machines, or must stay secret, comes from "
                        "the environment (DATABASE_URL), never from the code or the image. Use "
                        "relative paths such as sqlite:///notes.db.",
                    )
