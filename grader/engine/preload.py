"""Import and warm up what every student app needs, once, in the grader before it forks.

A forked child then finds fastapi, pydantic, uvicorn and sqlite3 ready (and, in the "orm" kind,
SQLAlchemy's ORM with its SQLite and psycopg dialects, httpx and Alembic), and starts in milliseconds instead of the third of a second a fresh
Python takes to import them. The "web" kind is two thirds of the size: every fork, copy-on-write
fault and exit of a student process that needs no ORM (steps 1-5) is that much cheaper. A
"growing" zygote (check's) is ready with "web" in half the time, and adds "orm" once told that
an app needs it.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

WEB = (
    "ctypes",
    "sqlite3",
    "fastapi",
    "fastapi.encoders",
    "pydantic",
    "uvicorn",
    "uvicorn.config",
    "uvicorn.lifespan.on",
    "uvicorn.loops.asyncio",
    "uvicorn.protocols.http.h11_impl",
)
ORM = (
    "httpx", "sqlalchemy", "sqlalchemy.orm", "alembic.command", "alembic.config",
    "sqlalchemy.dialects.sqlite.pysqlite",  # the drivers an app's engine loads: 10 ms and 60 ms a start
    "psycopg", "sqlalchemy.dialects.postgresql.psycopg",
)
KINDS = {"web": WEB, "orm": WEB + ORM}
GROWING = "growing"  # a zygote that starts as "web" and becomes "orm" on demand
_IMPORTS_ORM = re.compile(rb"^\s*(?:from|import)\s+sqlalchemy\b", re.MULTILINE)
_warm: set[str] = set()  # the kinds this process has loaded
TYPE_CHECKING = False  # typing is not imported: the grader imports this before starting its zygote
if TYPE_CHECKING:
    from typing import Any


def kind_for(folder: Path) -> str:
    """"orm" when a module of the app imports SQLAlchemy, else "web" (a guess: a wrong one only
    costs the child its own import)."""
    for path in folder.glob("*.py"):
        try:
            if _IMPORTS_ORM.search(path.read_bytes()):
                return "orm"
        except OSError:
            continue
    return "web"


def warm_up(kind: str = "orm") -> None:
    """Import the modules of `kind` and push one request through a FastAPI app, in-process."""
    if kind in _warm:
        return
    for name in KINDS[kind]:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    try:
        import asyncio

        configure_uvicorn_logging()
        asyncio.run(_exercise_app())
    except Exception:  # noqa: BLE001, S110 - a warm-up is an optimisation; a failure only costs time
        pass
    _warm.add(kind)


def configure_uvicorn_logging() -> None:
    """uvicorn's own logging setup, done once here instead of in every server the zygote forks."""
    import copy
    import logging.config

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["use_colors"] = False  # what uvicorn picks when the output is a file
    logging.config.dictConfig(config)


async def _exercise_app() -> None:
    from fastapi import FastAPI
    from pydantic import BaseModel

    class Item(BaseModel):
        text: str

    app = FastAPI()

    @app.post("/item")
    async def create(item: Item) -> dict[str, int]:
        return {"id": len(item.text)}

    @app.get("/items")
    def items() -> dict[int, str]:
        return {1: "one"}

    for method, path, body in (("POST", "/item", b'{"text": "x"}'), ("GET", "/items", b"")):
        await _call(app, method, path, body)


async def _call(app: Any, method: str, path: str, body: bytes) -> None:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        return None

    await app(scope, receive, send)
