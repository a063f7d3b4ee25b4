"""Turning what a student's process did into a message and a hint a student can act on."""

from __future__ import annotations

import ast
import re
import signal
import sqlite3
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import httpx

from grader.engine.process import ChildReport
from grader.migration_feedback import migration_hint
from grader.results import CRASHED, FAILED, MEMORY, SANDBOX_ERROR, SYNTAX_ERROR, TIMEOUT
from grader.source import parse_source, python_files
from grader.student_files import plain_file

UNREADABLE = ("SyntaxError", "IndentationError", "TabError")  # Python cannot read the code at all


class CheckFailure(AssertionError):
    """A check failed because of the student's code: `message` says what, `hint` what to try,
    `outcome` what kind of failure it is (grader.results: TIMEOUT, CRASHED, ...).

    A failure raised while handling another, without an outcome of its own, keeps that one's:
    "Cannot check X yet: ..." after a timeout is still a timeout.
    """

    def __init__(self, message: str, hint: str = "", outcome: str | None = None, log: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self._outcome = outcome
        self.log = log  # what the app printed, for `check --verbose`

    @property
    def outcome(self) -> str:
        failure: BaseException | None = self
        seen: set[int] = set()
        while isinstance(failure, CheckFailure) and id(failure) not in seen:
            if failure._outcome is not None:
                return failure._outcome
            seen.add(id(failure))
            failure = failure.__cause__ or failure.__context__
        return FAILED


def _where(report: ChildReport) -> str:
    if report.file and report.line:
        return f"{report.file} line {report.line}"
    return report.file or "main.py"


def startup_outcome(report: ChildReport) -> str:
    """What kind of failure a child's report is, from its stage and error, never its message."""
    if report.error == "SandboxError":
        return SANDBOX_ERROR
    if report.stage == "timeout":
        return TIMEOUT
    if report.code is not None and report.code < 0:
        return signal_outcome(-report.code)
    if report.error == "MemoryError":
        return MEMORY
    if report.error in UNREADABLE:
        return SYNTAX_ERROR
    return FAILED if report.error == "NoApp" else CRASHED


def startup_failure(report: ChildReport, output: str, timeout: float) -> CheckFailure:
    """Explain why main.py could not be imported or its server did not come up, at the line of the
    student's code that raised, with the app's output kept for `check --verbose`."""
    failure = located(_explain_startup(report, output, timeout),
                      report.traceback if report.stage == "import" else output, output)
    return CheckFailure(failure.message, failure.hint, startup_outcome(report), failure.log)


def _explain_startup(report: ChildReport, output: str, timeout: float) -> CheckFailure:
    where = _where(report)
    if report.error == "SandboxError":
        return CheckFailure(
            f"The grader could not start your app inside its sandbox ({report.message}), so this "
            "check was not run.",
            "This is a fault of the grading machine, not of your code: tell your instructor.",
        )
    if report.error == "Exited" and report.code is not None and report.code < 0:
        return killed(f"The server process was killed by {signal_name(-report.code)} before it "
                      "answered", -report.code)
    if report.error in UNREADABLE:
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
        migration = migration_hint(output)
        if migration:
            return CheckFailure(f"The app crashed while starting up, at {where}: {last}", migration)
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
        MEANINGS.get(report.error or "", "Run `python main.py` in the step folder to see the full "
                     "traceback; the line named above is where it went wrong."),
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
    moved_to = httpx.URL(response.headers.get("location", "")).path
    if code in (307, 308) and moved_to == path + "/":
        return CheckFailure(
            f"{got}, to {moved_to}: the route is declared with a slash at the end, and FastAPI "
            f"sends a request for {path} on to it instead of answering.",
            f"Declare the path without the trailing slash, `\"{path}\"`; under "
            f"`APIRouter(prefix=\"{path}\")` that is `@router.{method.lower()}(\"\")`. Many clients "
            "(curl among them) do not follow the redirect.",
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
        return located(server_error(got, output, sent_text), output, output)
    return CheckFailure(f"{got}, but {expected} was expected.", log=output)


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
    if re.search(r"no such table: \w+|relation \"\w+\" does not exist", output):
        missing = re.search(r"no such table: (\w+)|relation \"(\w+)\" does not exist", output)
        table = next(name for name in missing.groups() if name) if missing else "notes"
        return CheckFailure(
            f"{got}: the table {table} was never made in this database ({error_line(output)}).",
            "Make the tables before the first request. From step 8 on, the migrations make them: "
            "`command.upgrade(Config(ALEMBIC_INI), \"head\")` in the lifespan, or `alembic "
            "upgrade head && exec uvicorn ...` as the image's start command (step 11). Before "
            "step 8, `Base.metadata.create_all(engine)` in the lifespan (or `CREATE TABLE IF NOT "
            "EXISTS` with sqlite3).",
        )
    if "database is locked" in output:
        return CheckFailure(
            f"{got}: SQLite said \"database is locked\": another connection had begun a write "
            "and neither committed nor closed it.",
            LOCK_HINT,
        )
    last = error_line(output)
    if not last and "Traceback" not in output and "[alembic." in output:
        return CheckFailure(
            f"{got}, and the app's log holds no traceback to say why: the server's loggers were "
            "silenced when Alembic ran at startup.",
            "migrations/env.py calls `fileConfig(...)`, which by default disables every logger "
            "that already exists, uvicorn's among them. Call it as "
            "`fileConfig(config.config_file_name, disable_existing_loggers=False)`, then run "
            "the check again to see the error.",
        )
    name = last.split(":", 1)[0].rsplit(".", 1)[-1]
    raised = f"your code raised {last}" if student_frames(output) else "the server raised an error while answering"
    return CheckFailure(
        f"{got}: {raised}" + ("" if last and raised.endswith(last) else f": {last}" if last else "."),
        f"{MEANINGS.get(name, 'Read the line named above with this request in mind.')} "
        "`persistlab check --verbose` prints everything the app printed.",
    )


MEANINGS = {
    "KeyError": "A KeyError means a dict was asked for a key it does not hold: was the value stored "
    "under that key, and is the key of the same type (the int 1 is not the string \"1\")?",
    "TypeError": "A TypeError means a value of the wrong type reached that line, or a function got "
    "arguments it does not take.",
    "AttributeError": "An AttributeError means the object on that line has no attribute of that "
    "name: check the spelling, and what the object really is there (None?).",
    "NameError": "A NameError means the name is not defined where that line uses it: a typo, a "
    "missing import, or a variable made only in another function.",
    "IndexError": "An IndexError means a list or tuple was indexed past its end (or a query found "
    "no row).",
    "ValueError": "A ValueError means a function got a value of the right type it cannot use.",
}


_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+)(?:, in (\S+))?\s*$')
_NOT_THE_STUDENTS = tuple(
    {str(Path(__file__).resolve().parent), sys.prefix, sys.base_prefix, sys.exec_prefix,
     *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib"))}
)


@dataclass(frozen=True)
class Frame:
    """A line of the student's own code in a traceback."""

    file: str
    line: int
    function: str
    source: str

    def where(self) -> str:
        inside = f", in {self.function}" if self.function and self.function != "<module>" else ""
        return f"{self.file} line {self.line}{inside}"


def student_frames(output: str) -> list[Frame]:
    """The frames of the last traceback in `output` that are in the student's files (not
    Python's, not an installed package's, not the grader's), outermost first."""
    start = output.rfind("Traceback (most recent call last):")
    if start < 0:
        return []
    lines = output[start:].splitlines()
    frames = []
    for index, text in enumerate(lines):
        match = _FRAME.match(text)
        if not match or match.group(1).startswith(("<", *_NOT_THE_STUDENTS)):
            continue
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        source = "" if _FRAME.match(following) or following.startswith(("^", "~")) else following
        frames.append(Frame(Path(match.group(1)).name, int(match.group(2)), match.group(3) or "", source))
    return frames


def student_line(output: str) -> str:
    """The last traceback frame in the student's own files, as "db.py line 12"."""
    frames = student_frames(output)
    return f"{frames[-1].file} line {frames[-1].line}" if frames else ""


def located(failure: CheckFailure, traceback: str, log: str) -> CheckFailure:
    """`failure` with the line of the student's code that raised (file, line, and the line
    itself), and the app's output kept for `check --verbose`."""
    frames = student_frames(traceback)
    message = failure.message
    if frames and frames[-1].source:
        last = frames[-1]
        named = f"{last.file} line {last.line}" in message
        message += f"\n{'That line reads' if named else f'At {last.where()}'}:\n    {last.source}"
    return CheckFailure(message, failure.hint, failure._outcome, log)


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


ROUTE_METHODS = {"get", "post", "put", "patch", "delete"}


def no_answer(
    action: str, timeout: float, exited: int | None, output: str = "", folder: Path | None = None,
) -> CheckFailure:
    """Why `action` got no (whole) answer: the process died, a write lock, or a hang."""
    if exited is not None and exited < 0:
        return killed(f"{action}: the server process was killed by {signal_name(-exited)} while "
                      "answering", -exited)
    if exited is not None:
        return CheckFailure(
            f"{action}: the server process died while answering (exit status {exited}).",
            "Something in the handler ended the process: sys.exit(), os._exit(), or a crash.",
            CRASHED,
        )
    said = f"{action} got no answer within {timeout:g} s"
    locked = locked_database(folder) if folder is not None else ""
    if "database is locked" in output or locked:
        where = f"{locked} was locked for writing" if locked else "SQLite said \"database is locked\""
        return CheckFailure(
            f"{said}: {where}. Another connection had begun a write and neither committed nor "
            "closed it, so this request waited for a lock that was never given back.",
            LOCK_HINT, TIMEOUT,
        )
    blocking = async_route_with_session(folder) if folder is not None else ""
    if blocking:
        return CheckFailure(
            f"{said}. The route at {blocking} is an `async def` that uses a SQLAlchemy session: "
            "each of its database calls stops the server's one event loop while it waits, so "
            "requests that come at once wait for each other, and for connections that only that "
            "loop can give back.",
            "Write the routes that use `db` with plain `def`: FastAPI runs those in a pool of "
            "threads, one session each, and the loop stays free.",
            TIMEOUT,
        )
    return CheckFailure(
        f"{said}.",
        "The handler never returns: look for a loop that does not end, or a call that waits "
        "forever (input(), a lock, time.sleep).",
        TIMEOUT,
    )


def async_route_with_session(folder: Path) -> str:
    """Where an `async def` route takes a (blocking) SQLAlchemy session, as "main.py line 40";
    "" when none does (an AsyncSession is what such a route should use)."""
    for path in python_files(folder):
        tree = parse_source(path)
        for node in ast.walk(tree) if tree is not None else ():
            if not isinstance(node, ast.AsyncFunctionDef) or not any(
                isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ROUTE_METHODS
                for d in node.decorator_list
            ):
                continue
            takes = ast.unparse(node.args)
            if re.search(r"Session|get_db", takes) and "AsyncSession" not in takes:
                return f"{path.relative_to(folder).as_posix()} line {node.lineno}"
    return ""


def signal_name(number: int) -> str:
    """"SIGSEGV (signal 11)", or "signal 77" for a number the system has no name for."""
    try:
        return f"{signal.Signals(number).name} (signal {number})"
    except ValueError:
        return f"signal {number}"


_SIGNALS = {
    signal.SIGSEGV: "a segmentation fault: code written in C (a compiled package, or ctypes) read "
                    "or wrote memory it does not own. Python code alone cannot do this.",
    signal.SIGBUS: "a bus error: code written in C touched memory it cannot reach, such as a "
                   "memory-mapped file that was cut short.",
    signal.SIGFPE: "an arithmetic fault in code written in C, such as an integer division by zero.",
    signal.SIGILL: "an illegal instruction in code written in C (or a package built for another "
                   "processor).",
    signal.SIGABRT: "an abort: code written in C gave up, usually on a failed internal check or "
                    "corrupted memory.",
    signal.SIGKILL: "a kill that cannot be caught: the system does this to a process over a hard "
                    "limit, most often memory.",
    signal.SIGXCPU: "its CPU time limit was used up: something kept the processor busy for a long "
                    "time, such as a loop that does not end.",
    signal.SIGXFSZ: "it wrote a file larger than the limit.",
    signal.SIGTERM: "a request to stop, sent by os.kill() or by another process: the grader sends "
                    "none before an answer.",
}


def signal_outcome(number: int) -> str:
    """A death by signal `number`: the CPU time limit is a time limit, any other a crash."""
    return TIMEOUT if number == signal.SIGXCPU else CRASHED


def killed(what: str, number: int) -> CheckFailure:
    """A process ended by a signal: which one, what it means, and no talk of sys.exit()."""
    meaning = _SIGNALS.get(number, "something outside Python ended it.")  # type: ignore[call-overload]
    return CheckFailure(
        f"{what}: {meaning}",
        "Python code alone cannot end a process this way. Look at what your code calls outside "
        "Python (ctypes, os.kill, a compiled package) and run `uvicorn main:app` in the step "
        "folder to see whether it happens there too.",
        signal_outcome(number),
    )


def memory_exceeded(action: str, limit: int) -> CheckFailure:
    """The kernel killed the app for using more memory than a student's app may."""
    return CheckFailure(
        f"{action}: your app used more than {limit >> 20} MiB of memory, all its processes "
        "together, and was stopped.",
        "A notes app needs a few dozen MiB. Look for a list or string that keeps growing, a "
        "whole table or file read into memory at once, or a loop that starts processes.",
        MEMORY,
    )


def locked_database(folder: Path) -> str:
    """The name of a SQLite file in `folder` that some connection holds a write lock on, or ""."""
    for db in sorted(folder.glob("*.db")):
        if not plain_file(db):
            continue
        try:
            conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=rw", uri=True, timeout=0)
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
