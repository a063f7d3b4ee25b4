"""A check's server for an app started as a real uvicorn run would be, explained as one."""

from __future__ import annotations

import re

from grader.checks.postgres import postgres_hint
from grader.engine.process import ChildReport
from grader.feedback import CheckFailure, killed, signal_name, student_line
from grader.migration_feedback import migration_hint
from grader.results import CRASHED, TIMEOUT
from grader.server import StudentServer


class RealServer(StudentServer):
    """A StudentServer started as a real uvicorn run would be, with `env` added to its environment:
    `main:app` served by the zygote, or the app's own `command` (the Dockerfile's CMD)."""

    def startup_failure(self, report: ChildReport, output: str) -> CheckFailure:
        if report.code is not None and report.code < 0:
            return killed(f"The app was killed by {signal_name(-report.code)} before it answered",
                          -report.code)
        if report.stage == "timeout":
            said = (output.strip().splitlines() or ["nothing"])[-1][:300]
            return CheckFailure(
                f"The app did not start within {self.startup_allowed:g} s; the last line it "
                f"printed: {said}",
                "Run the same command yourself and time it: a start that waits for something "
                "(a database that does not answer, input()) or loops never comes up.",
                TIMEOUT,
            )
        # the app's own traceback last: uvicorn logs the lifespan's, the child reports its own
        return startup_error(f"{report.traceback}\n{output}", CRASHED)


_ERROR = re.compile(r"^[\w.]*(Error|Exception)\b.*:")


def startup_error(output: str, outcome: str = CRASHED) -> CheckFailure:
    """Why the app did not start, from the last exception line uvicorn printed."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if _ERROR.match(line)]
    last = (errors or lines or ["no output"])[-1][:300]
    where = student_line(output)
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
            f"{where or 'Your code'} runs a PRAGMA, SQLite's own statement, on PostgreSQL. Run it "
            "only when `engine.dialect.name == \"sqlite\"`: PostgreSQL enforces foreign keys by "
            "itself."
        )
    elif migration_hint(output):
        hint = migration_hint(output)
    elif postgres_hint(output):
        hint = postgres_hint(output)
    return CheckFailure(f"The app did not start: {last}" + (f" ({where})" if where else ""), hint,
                        outcome)


def _at(output: str) -> str:
    """ " (in migrations.py line 12)": where the traceback left the student's own files."""
    where = student_line(output)
    return f" (in {where})" if where else ""
