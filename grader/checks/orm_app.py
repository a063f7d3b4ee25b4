"""What the SQLAlchemy steps (6 on) look at besides HTTP: open database files, get_db, tables."""

from __future__ import annotations

import ast
import os
import sqlite3
from pathlib import Path

from grader.engine.family import descendants
from grader.feedback import CheckFailure
from grader.server import StudentServer

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
    """Why get_db does not close its session after the request; "" when it does."""
    found = _find_function(folder, "get_db")
    if found is None:
        return "There is no function called get_db in your .py files."
    path, func = found
    yields = [n for n in ast.walk(func) if isinstance(n, (ast.Yield, ast.YieldFrom))]
    if not yields:
        return (
            f"get_db in {path.name} (line {func.lineno}) returns the session instead of "
            "yielding it, so nothing runs after the request to close it."
        )
    closes = any(
        _calls_close(node.finalbody) for node in ast.walk(func) if isinstance(node, ast.Try)
    ) or any(isinstance(node, ast.With) for node in ast.walk(func))
    if not closes:
        return (
            f"get_db in {path.name} (line {func.lineno}) yields the session but does not close "
            "it in a `finally:` block (or a `with` block), so a route that raises leaves it open."
        )
    return ""


def _calls_close(body: list[ast.stmt]) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "close"
        for stmt in body
        for node in ast.walk(stmt)
    )


def _find_function(folder: Path, name: str) -> tuple[Path, ast.FunctionDef] | None:
    for path in sorted(folder.glob("*.py")):
        tree = _parsed(path)
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)] if tree else []
        for node in functions:
            if node.name == name:
                return path, node
    return None


def _parsed(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return None


def source_text(folder: Path, name: str) -> str:
    """The code of one file without its comments ("" if missing; as written if it does not parse)."""
    path = folder / name
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        return ast.unparse(ast.parse(text))
    except (SyntaxError, ValueError):
        return text


def table_columns(db: Path, table: str) -> dict[str, str] | None:
    """Column name -> declared type of `table` in the SQLite file `db`; None if there is none."""
    if not db.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        quoted = '"' + table.replace('"', '""') + '"'
        rows = conn.execute(f"PRAGMA table_info({quoted})").fetchall()
        return {row[1]: str(row[2]).upper() for row in rows} or None
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def column_values(db: Path, table: str, column: str) -> list[object]:
    """Every value of one column, read read-only; [] when it cannot be read."""
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    try:
        quoted_t = '"' + table.replace('"', '""') + '"'
        quoted_c = '"' + column.replace('"', '""') + '"'
        return [row[0] for row in conn.execute(f"SELECT {quoted_c} FROM {quoted_t}")]
    except sqlite3.Error:
        return []
    finally:
        conn.close()


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
