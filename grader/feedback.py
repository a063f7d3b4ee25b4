"""Turning what a student's process did into a message and a hint a student can act on."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import httpx

from grader.engine.process import ChildReport


class CheckFailure(AssertionError):
    """A check failed because of the student's code: `message` says what, `hint` what to try."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _where(report: ChildReport) -> str:
    if report.file and report.line:
        return f"{report.file} line {report.line}"
    return report.file or "main.py"


def startup_failure(report: ChildReport, output: str, timeout: float) -> CheckFailure:
    """Explain why main.py could not be imported or its server did not come up."""
    where = _where(report)
    if report.error in ("SyntaxError", "IndentationError", "TabError"):
        return CheckFailure(
            f"Python cannot read {where}: {report.error}: {report.message}.",
            "Look at that line and the one above it: an unclosed bracket or quote, a missing "
            "colon after `def ...` or a mixed-up indent is the usual cause.",
        )
    if report.error in ("ModuleNotFoundError", "ImportError"):
        return CheckFailure(
            f"An import failed at {where}: {report.error}: {report.message}.",
            "Check the spelling of the module and name. `fastapi` is installed; a module of "
            "your own, such as db.py, must sit in the same folder as main.py.",
        )
    if report.error == "NoApp":
        return CheckFailure(
            "main.py imports fine, but it defines no `app`, so there is no server to start.",
            "Create the application at module level: `from fastapi import FastAPI`, then "
            "`app = FastAPI()`. The grader serves it as `main:app`.",
        )
    if report.error == "Timeout":
        return CheckFailure(
            f"The server did not start within {timeout:g} s: importing main.py never finished.",
            "Something in main.py runs forever or waits when the file is imported: a loop, "
            "input(), or `uvicorn.run(...)` outside `if __name__ == \"__main__\":`.",
        )
    if report.error == "SystemExit" and report.stage == "import":
        return CheckFailure(
            f"main.py called sys.exit() at {where} while it was imported, so the server process "
            "ended before it answered.",
            "main.py must not call sys.exit(), exit() or os._exit() when it is imported.",
        )
    if report.error == "Exited":
        return CheckFailure(
            f"The server process ended before it answered ({report.message}).",
            "main.py must not call sys.exit(), exit() or os._exit() when it is imported.",
        )
    if report.stage == "startup":
        last = error_line(output) or _last_line(report.traceback) or report.error or "unknown"
        where = student_line(output) or where
        if "already exists" in last:
            return CheckFailure(
                f"The app crashed while starting up again, at {where}: {last}. The table was "
                "made on the first start, and the second start tried to make it again.",
                "Write `CREATE TABLE IF NOT EXISTS notes (...)`: it makes the table the first "
                "time and does nothing on every start after that.",
            )
        return CheckFailure(
            f"The app crashed while starting up, at {where}: {last}",
            f"Code that runs at startup raised that error at {where}, the last line of your own "
            "code in the traceback (a lifespan function, a migration, table creation). Run "
            "`uvicorn main:app` in the step folder to see the whole traceback.",
        )
    return CheckFailure(
        f"main.py raised {report.error} at {where} when it was imported: {report.message}",
        "Run `python main.py` in the step folder to see the full traceback; the line named "
        "above is where it went wrong.",
    )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _reads_query(response: httpx.Response) -> bool:
    body = _json(response)
    details = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(details, list):
        return False
    return any(isinstance(d, dict) and (d.get("loc") or [None])[0] == "query" for d in details)


def status_failure(
    response: httpx.Response, expected: str, action: str, output: str, sent_text: str = ""
) -> CheckFailure:
    """Explain an unexpected status code for `action` (such as "POST /add_note")."""
    method, path = action.split(" ", 1)
    got = f"{action} answered {response.status_code} {response.reason_phrase}"
    code = response.status_code
    if code == 404:
        return CheckFailure(
            f"{got}, but {expected} was expected: there is no route at {path}.",
            f"Check the path in the decorator: it must be exactly \"{path}\" "
            "(leading slash, underscore, no trailing slash).",
        )
    if code == 405:
        return CheckFailure(
            f"{got}: the path exists, but not for {method}.",
            f"Use `@app.{method.lower()}(\"{path}\")`; the method in the decorator decides "
            "which requests the function answers.",
        )
    if code == 422 and _reads_query(response):
        return CheckFailure(
            f"{got}: your function looks for the note text in the URL's query string, "
            "but the grader sends it in a JSON body.",
            "A parameter written `text: str` is read from the query string. Declare a Pydantic "
            "model (`class NoteIn(BaseModel): text: str`) and take `note: NoteIn` instead.",
        )
    if code == 422:
        return CheckFailure(
            f"{got}: FastAPI rejected a body of the right shape ({_detail(response)}).",
            "The grader sends `{\"text\": \"...\"}`. The field of your model must be called "
            "`text` and typed `str`, and the function must take that model as its parameter.",
        )
    if code >= 500:
        return server_error(got, output, sent_text)
    return CheckFailure(f"{got}, but {expected} was expected.")


def _detail(response: httpx.Response) -> str:
    body = _json(response)
    details = body.get("detail") if isinstance(body, dict) else None
    if isinstance(details, list) and details and isinstance(details[0], dict):
        first = details[0]
        loc = ".".join(str(part) for part in first.get("loc", []))
        return f"{loc}: {first.get('msg', '')}"
    return "no detail"


def server_error(got: str, output: str, sent_text: str = "") -> CheckFailure:
    """Explain a 500 from the traceback the server printed."""
    if "UnboundLocalError" in output and "next_id" in output:
        return CheckFailure(
            f"{got}: the function reads `next_id` before Python knows it is the global one "
            "(UnboundLocalError).",
            "Assigning to a name inside a function makes it local to that function. Put "
            "`global next_id` on the first line of the function that changes it.",
        )
    if "sqlite3" in output and ("OperationalError" in output or "syntax error" in output) and (
        "'" in sent_text or '"' in sent_text
    ):
        return CheckFailure(
            f"{got} for a note containing a quote ({sent_text!r}): the quote ended the SQL "
            "string early, so SQLite saw broken SQL.",
            "Never put values into SQL with an f-string or +. Write `?` where the value goes and "
            "pass it separately: `execute(\"INSERT INTO notes (text) VALUES (?)\", (text,))`. "
            "The same mistake lets an attacker run their own SQL (SQL injection).",
        )
    if "ResponseValidationError" in output:
        return CheckFailure(
            f"{got}: the function returned a value that does not match the return type it "
            f"declares ({error_line(output).split(': ', 1)[-1] or 'ResponseValidationError'}).",
            "FastAPI checks what you return against the annotation after `->`. Return what the "
            "step asks for, or fix the annotation so it describes that value.",
        )
    if "IntegrityError" in output:
        return CheckFailure(
            f"{got}: the database refused the write ({error_line(output).split(': ', 1)[-1] or 'IntegrityError'}), "
            "and the IntegrityError reached FastAPI unhandled.",
            "A rule the database keeps (a foreign key, UNIQUE, NOT NULL) refused the change: that "
            "is the client's conflict, not a crash. Catch it where you commit: `except "
            "IntegrityError: db.rollback()`, then `raise HTTPException(status_code=409, "
            "detail=...)` saying what conflicted. The rollback makes the session usable again.",
        )
    if "database is locked" in output:
        return CheckFailure(
            f"{got}: SQLite said \"database is locked\": another connection had begun a write "
            "and neither committed nor closed it.",
            LOCK_HINT,
        )
    last = error_line(output)
    return CheckFailure(
        f"{got}: the server raised an error while answering" + (f": {last}" if last else "."),
        "Run the app with `uvicorn main:app` and send the same request: the traceback in the "
        "terminal names the line.",
    )


_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def student_line(output: str) -> str:
    """The last traceback frame in the student's own files, as "db.py line 12"."""
    found = ""
    for path, line in _FRAME.findall(output):
        if "site-packages" not in path and "/lib/python" not in path and "/grader/" not in path:
            found = f"{path.rsplit('/', 1)[-1]} line {line}"
    return found


_ERROR_LINE = re.compile(r"^\s*([A-Za-z0-9_.]*(?:Error|Exception)[A-Za-z]*:?.*)$")


def error_line(output: str) -> str:
    """The last exception line of a traceback in `output` ("" if there is none)."""
    for line in reversed(output.splitlines()):
        match = _ERROR_LINE.match(line)
        if match:
            return match.group(1).strip()[:300]
    return ""


LOCK_HINT = (
    "SQLite lets one connection write at a time; the others wait for it, and after their busy "
    "timeout (5 s in Python's sqlite3, `connect_args={\"timeout\": ...}`) give up with "
    "\"database is locked\". Commit or roll back every write, and close every session: get_db "
    "with `try: yield db` and `finally: db.close()`. Never keep a session or a connection in a "
    "global or on app.state, and end what a migration opens with `with engine.begin() as conn:`."
)
RELOAD_HINT = (
    "--reload makes uvicorn a watcher that runs your app in a second process and restarts it "
    "whenever a file changes: a development aid. A server in production, or under the grader, "
    "is started without it: remove --reload from the command."
)


def no_answer(
    action: str, timeout: float, exited: int | None, output: str = "", folder: Path | None = None,
    command: list[str] | None = None,
) -> CheckFailure:
    """Why `action` got no (whole) answer: the process died, a write lock, --reload, or a hang."""
    if exited is not None:
        return CheckFailure(
            f"{action}: the server process died while answering (exit status {exited}).",
            "Something in the handler ended the process: sys.exit(), os._exit(), or a crash.",
        )
    said = f"{action} got no answer within {timeout:g} s"
    locked = locked_database(folder) if folder is not None else ""
    if "database is locked" in output or locked:
        where = f"{locked} was locked for writing" if locked else "SQLite said \"database is locked\""
        return CheckFailure(
            f"{said}: {where}. Another connection had begun a write and neither committed nor "
            "closed it, so this request waited for a lock that was never given back.",
            LOCK_HINT,
        )
    if command and "--reload" in command:
        return CheckFailure(f"{said}, from a server started with --reload.", RELOAD_HINT)
    return CheckFailure(
        f"{said}.",
        "The handler never returns: look for a loop that does not end, or a call that waits "
        "forever (input(), a lock, time.sleep).",
    )


def locked_database(folder: Path) -> str:
    """The name of a SQLite file in `folder` that some connection holds a write lock on, or ""."""
    for db in sorted(folder.glob("*.db")):
        try:
            conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=rw", uri=True, timeout=0)
        except sqlite3.Error:
            continue
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.rollback()
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                return db.name
        except sqlite3.Error:
            continue
        finally:
            conn.close()
    return ""
