"""A check's server for an app started with its own command (`grader.engine.own_command`)."""

from __future__ import annotations

import re
from pathlib import Path

from grader.checks.postgres import postgres_hint
from grader.engine.limits import Limits
from grader.engine.own_command import UvicornProcess
from grader.feedback import CheckFailure, _student_line
from grader.server import StudentServer


class RealServer(StudentServer):
    """A StudentServer whose process is a real uvicorn run with `env` added to its environment."""

    def __init__(
        self, folder: Path, limits: Limits, workdir: Path, env: dict[str, str],
        command: list[str] | None = None,
    ) -> None:
        super().__init__(folder, limits, workdir)
        self.env = env
        self.command = command

    def start(self) -> RealServer:
        if self.process is not None:
            raise RuntimeError("server already running")
        process = UvicornProcess(self.folder, self.limits, self.workdir, self.env, self.command)
        self.starts += 1
        if not process.wait_ready():
            output = process.output()
            process.close()
            raise startup_error(output)
        self.process = process  # type: ignore[assignment]
        self._client = process.client()
        return self


_ERROR = re.compile(r"^[\w.]*(Error|Exception)\b.*:")


def startup_error(output: str) -> CheckFailure:
    """Why the app did not start, from the last exception line uvicorn printed."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if _ERROR.match(line)]
    last = (errors or lines or ["no output"])[-1][:300]
    hint = (
        "Run it the same way yourself, `DATABASE_URL=... uvicorn main:app`, and read the "
        "traceback: the code that runs at import or in the lifespan raised an error."
    )
    if "check_same_thread" in output:
        hint = (
            "`check_same_thread` is an option of Python's sqlite3 module, and psycopg refuses it. "
            "Pass `connect_args={\"check_same_thread\": False}` only when the URL starts with \"sqlite\"."
        )
    elif "PRAGMA" in output and "foreign_keys" not in output:
        hint = (
            f"PRAGMA is SQLite's own statement{_at(output)}; PostgreSQL answers it with a syntax "
            "error. To list a table's columns on any database, ask SQLAlchemy: "
            "`{c[\"name\"] for c in inspect(engine).get_columns(\"notes\")}`."
        )
    elif "PRAGMA" in output:
        hint = (
            f"PRAGMA is SQLite's own statement{_at(output)}. Register the listener that runs it "
            "only when `engine.dialect.name == \"sqlite\"`; PostgreSQL enforces foreign keys by itself."
        )
    elif postgres_hint(output):
        hint = postgres_hint(output)
    return CheckFailure(f"The app did not start: {last}", hint)


def _at(output: str) -> str:
    """ " (in migrations.py line 12)": where the traceback left the student's own files."""
    where = _student_line(output)
    return f" (in {where})" if where else ""
