"""What the SQLAlchemy steps (6 on) look at besides HTTP: open database files, get_db, tables."""

from __future__ import annotations

import ast
import os
import sqlite3
from pathlib import Path

from grader.checks.sqlite_file import quoted, read_only
from grader.engine.family import descendants
from grader.feedback import CheckFailure
from grader.server import StudentServer
from grader.source import parse_source, python_files, read_source

MAX_OPEN = 3  # connections to notes.db a server that closes its sessions may hold
SESSION_HINT = (
    "Write get_db as a generator: `db = SessionLocal()`, then `try: yield db` and "
    "`finally: db.close()`. FastAPI runs the code after the yield once the answer is sent, "
    "so every session is closed, even when the route raised an error."
)
ORM_COMMIT_HINT = (
    "`db.add(row)` only puts the note in the session; nothing reaches notes.db until "
    "`db.commit()`. Commit in every route that writes, then read `row.id`."
)


def open_db_files(server: StudentServer, name: str = "notes.db") -> int | None:
    """How many descriptors the server and its descendants hold on `name`; None without /proc."""
    process = server.process
    if process is None or not Path("/proc/self/fd").is_dir():
        return None
    count = 0
    for pid in (process.pid, *descendants(process.pid)):
        try:
            entries = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for entry in entries:
            try:
                count += os.readlink(entry).endswith(f"/{name}")
            except OSError:
                continue
    return count


def get_db_problem(folder: Path) -> str:
    """Why get_db (or the session dependency the routes take under another name) does not close
    its session after the request; "" when it does."""
    found = _session_dependency(folder)
    if found is None:
        return (
            "There is no function called get_db in your .py files, and no route takes a "
            "session through `Depends(...)`."
        )
    path, func = found
    file = path.relative_to(folder).as_posix()
    yields = [n for n in ast.walk(func) if isinstance(n, (ast.Yield, ast.YieldFrom))]
    if not yields:
        return (
            f"{func.name} in {file} (line {func.lineno}) returns the session instead of "
            "yielding it, so nothing runs after the request to close it."
        )
    closes = any(
        _calls_close(node.finalbody) for node in ast.walk(func) if isinstance(node, ast.Try)
    ) or any(isinstance(node, ast.With) for node in ast.walk(func))
    if not closes:
        return (
            f"{func.name} in {file} (line {func.lineno}) yields the session but does not close "
            "it in a `finally:` block (or a `with` block), so a route that raises leaves it open."
        )
    return ""


def _calls_close(body: list[ast.stmt]) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "close"
        for stmt in body
        for node in ast.walk(stmt)
    )


Function = ast.FunctionDef | ast.AsyncFunctionDef


def _session_dependency(folder: Path) -> tuple[Path, Function] | None:
    """get_db, unless the routes take their session from a function of another name through
    `Depends(name)`: then that one (the first that mentions a Session, if several)."""
    functions: dict[str, tuple[Path, Function]] = {}
    depended: list[str] = []
    for path in python_files(folder):
        tree = parse_source(path)
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.setdefault(node.name, (path, node))
            elif isinstance(node, ast.Call) and _depends_on(node):
                depended.append(_depends_on(node))
    used = [functions[name] for name in depended if name in functions]
    if "get_db" in functions and ("get_db" in depended or not used):
        return functions["get_db"]
    sessions = [found for found in used if "Session" in ast.unparse(found[1])]
    return next(iter(sessions or used), None)


def _depends_on(call: ast.Call) -> str:
    """The function's name in `Depends(name)` or `Depends(module.name)` (or `fastapi.Depends(...)`),
    "" for any other call."""
    func = call.func
    named = (isinstance(func, ast.Name) and func.id == "Depends") or (
        isinstance(func, ast.Attribute) and func.attr == "Depends"
    )
    given = call.args[0] if named and call.args else None
    if isinstance(given, ast.Attribute):
        return given.attr
    return given.id if isinstance(given, ast.Name) else ""


def source_text(folder: Path, name: str) -> str:
    """The code of one file without its comments ("" if missing; as written if it does not parse)."""
    path = folder / name
    if not path.is_file():
        return ""
    tree = parse_source(path)
    return ast.unparse(tree) if tree is not None else read_source(path)


def table_columns(db: Path, table: str) -> dict[str, str] | None:
    """Column name -> declared type of `table` in the SQLite file `db`; None if there is none."""

    def columns(conn: sqlite3.Connection) -> dict[str, str] | None:
        rows = conn.execute(f"PRAGMA table_info({quoted(table)})").fetchall()
        return {row[1]: str(row[2]).upper() for row in rows} or None

    return read_only(db, columns)


def column_values(db: Path, table: str, column: str) -> list[object]:
    """Every value of one column, read read-only; [] when it cannot be read."""

    def values(conn: sqlite3.Connection) -> list[object]:
        return [row[0] for row in conn.execute(f"SELECT {quoted(column)} FROM {quoted(table)}")]

    return read_only(db, values) or []


def expect_sessions_closed(server: StudentServer, folder: Path, requests: int) -> None:
    """After `requests` requests in a row: few connections to notes.db held, and a get_db that
    closes its session; the step-6 contract, for any step that keeps it."""
    held = open_db_files(server)
    if held is not None and held > MAX_OPEN:
        raise CheckFailure(
            f"After {requests} requests in a row, the server holds {held} connections to notes.db "
            "open: each request opened a session and none was closed. A server that leaks like "
            "this stops answering once the connection pool is empty.",
            SESSION_HINT,
        )
    problem = get_db_problem(folder)
    if problem:
        raise CheckFailure(problem, SESSION_HINT)
