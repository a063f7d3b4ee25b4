"""What runs inside a student process: import main.py, then serve `app`.

The parent forks into `run_child` (or, where fork is missing, starts
`python -m grader.engine.child`).
Nothing here decides a verdict: it only says on the status socket whether main.py imported and
the server started, or the error that stopped it. Every message carries the run's token, which
the grader sent down the status socket and which is read only once main.py has been imported.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import shutil
import socket
import sys
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader.engine.limits import die_with_parent, set_limits

TOKEN_BYTES = 32
MESSAGE_CHARS = 1500  # of an error's message: what the grader says around it still fits its 2000

# taken when the zygote loads this module, before any student code can replace them
_dumps = json.dumps
_write = os.write


@dataclass
class ChildSpec:
    folder: str
    mode: str  # "serve" main:app, or "exec" (run `command`, which listens on its own)
    status_fd: int
    output_fd: int
    socket_fd: int = -1
    trusted_fd: int = -1  # the pipe for what only the grader's side says (grader.engine.status)
    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30
    file_bytes: int = 64 << 20
    sandbox: dict[str, Any] | None = None
    alive_fd: int = -1  # set by the zygote when it forked the child into its own pid namespace
    verdict_fd: int = -1  # with alive_fd: where the namespace's init writes the app's wait status
    token: str = ""  # never sent by the grader in the spec: read from the status socket
    env: dict[str, str] = field(default_factory=dict)  # added to the environment before main.py
    command: list[str] = field(default_factory=list)  # for "exec"
    inline: dict[str, Any] | None = None  # for "exec": `command` as this process can run it (Inline)


@dataclass(frozen=True)
class Inline:
    """A start command the child runs without a shell or a fresh interpreter: each stage of
    `alembic` (the NAME=value words before it, its arguments) in a forked process, as `&&` would,
    then uvicorn's command line with `uvicorn` (and the grader's --uds) in the child itself."""

    alembic: tuple[tuple[dict[str, str], tuple[str, ...]], ...]
    uvicorn: tuple[str, ...]


def _take_token(spec: ChildSpec) -> None:
    """Read the run's token, which the grader wrote to the status socket before the fork."""
    try:
        with socket.socket(fileno=os.dup(spec.status_fd)) as sock:
            data = sock.recv(TOKEN_BYTES + 1, socket.MSG_DONTWAIT)
    except OSError:
        data = b""
    spec.token = data.decode("ascii", "replace").strip()


def _report(spec: ChildSpec, **message: Any) -> None:
    message["token"] = spec.token
    data = (_dumps(message, default=repr) + "\n").encode()
    try:
        _write(spec.status_fd, data)
    except OSError:
        pass


def _student_frame(exc: BaseException, folder: str) -> tuple[str | None, int | None]:
    if isinstance(exc, SyntaxError) and exc.filename:
        return Path(exc.filename).name, exc.lineno
    found: tuple[str | None, int | None] = (None, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(folder):
            found = (Path(frame.filename).name, frame.lineno)
    return found


def _last_traceback(exc: BaseException, keep: int = 16000) -> str:
    """The end of the traceback as Python prints it: `keep` characters, or up to twice as many
    where that keeps the last exception's own header (where the grader looks for the student's
    frames)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    start = max(0, len(text) - keep)
    last = text.rfind("Traceback (most recent call last):")
    if 0 <= last < start and len(text) - last <= 2 * keep:
        start = last
    return text[start:]


def _error(spec: ChildSpec, stage: str, exc: BaseException) -> None:
    file, line = _student_frame(exc, spec.folder)
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    if len(detail) > MESSAGE_CHARS:  # its middle cut, saying how much, as the grader cuts messages
        keep = (MESSAGE_CHARS - 48) // 2
        detail = f"{detail[:keep]} [... {len(detail) - 2 * keep} characters cut ...] {detail[-keep:]}"
    _report(
        spec,
        stage=stage,
        error=type(exc).__name__,
        message=detail,
        file=file,
        line=line,
        traceback=_last_traceback(exc),
    )


def _prompt_server() -> type:
    """uvicorn's Server, as the grader runs it (main:app served, or uvicorn's own command run
    inline): a stop seen within 0.01 s, and no wait for connections when none is left."""
    import uvicorn

    class PromptServer(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # uvicorn sleeps 0.1 s for open connections to finish; the grader closes its own
            # connections, so with none left the app's shutdown code runs at once
            if self.server_state.connections or not hasattr(self, "_wait_tasks_to_complete"):
                await super().shutdown(sockets=sockets)
                return
            for server in self.servers:
                server.close()
            for sock in sockets or []:
                sock.close()
            await asyncio.wait_for(
                self._wait_tasks_to_complete(), timeout=self.config.timeout_graceful_shutdown
            )
            if not self.force_exit:
                await self.lifespan.shutdown()

        async def main_loop(self) -> None:
            # uvicorn looks for a stop signal every 0.1 s; a grader that restarts servers
            # all day looks every 0.01 s
            ticks = 0
            while not await self.on_tick(ticks // 10):
                ticks += 1
                await asyncio.sleep(0.01)

    return PromptServer


def _serve(spec: ChildSpec, app: Any) -> None:
    import uvicorn

    class ReportingServer(_prompt_server()):  # type: ignore[misc]
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                _report(spec, stage="ready")

    sock = socket.socket(fileno=spec.socket_fd)
    handlers = logging.getLogger("uvicorn").handlers
    for handler in handlers:  # configured in the zygote, before stderr became the output file
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)
    config = uvicorn.Config(
        app, lifespan="on", ws="none", log_level="warning", access_log=False,
        log_config=None if handlers else uvicorn.config.LOGGING_CONFIG,
    )
    server = ReportingServer(config)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    except BaseException as exc:  # the student's startup code crashed the server
        _error(spec, "startup", exc)
        raise
    if not server.started:
        _report(spec, stage="startup", error="StartupFailed", message="the app did not start")


def _contain(spec: ChildSpec) -> int | None:
    """Enter the sandbox; in the supervisor left outside, the contained process's exit code."""
    from grader.engine.sandbox import Sandbox, SandboxError, enter

    settings = dict(spec.sandbox or {})
    settings["hide"] = tuple(settings.get("hide", ()))
    fds = (spec.status_fd, spec.output_fd, spec.socket_fd, spec.trusted_fd)
    try:
        return enter(Sandbox(**settings), Path(spec.folder), tuple(fd for fd in fds if fd >= 0),
                     spec.alive_fd, spec.verdict_fd)
    except (SandboxError, OSError) as exc:  # said where only the grader's side may say it
        message = {"stage": "import", "error": "SandboxError", "message": f"the sandbox failed: {exc}"}
        try:
            _write(spec.trusted_fd, (_dumps(message) + "\n").encode())
        except OSError:
            pass
        return 6


def _exec(spec: ChildSpec) -> int:
    """Run the app's own command; no status message can come from it. `python -m uvicorn ...`
    runs uvicorn's own command line right here, its modules already loaded: the same parsing
    and start as a fresh interpreter's, a second sooner; so does an Inline chain of alembic
    stages and uvicorn, when the `alembic` on PATH is the one installed beside this Python.
    Any other command replaces the process."""
    os.close(spec.status_fd)
    inline = spec.inline
    if inline is not None and (not inline["alembic"] or _own_alembic()):
        for env, argv in inline["alembic"]:
            code = _alembic(env, argv)
            if code != 0:
                return code  # as `a && b` ends: with a's status, b never run
        return _uvicorn(spec.folder, inline["uvicorn"])
    if spec.command[:3] == [sys.executable, "-m", "uvicorn"]:
        return _uvicorn(spec.folder, spec.command[3:])
    try:
        os.execvp(spec.command[0], spec.command)
    except OSError as exc:
        print(f"could not run {spec.command[0]}: {exc.strerror}", file=sys.stderr)
    return 127


def _uvicorn(folder: str, argv: list[str]) -> int:
    from uvicorn.main import main as uvicorn_main

    # its Server stops as main:app's does: the tick and the shutdown of _prompt_server
    sys.modules["uvicorn.main"].Server = _prompt_server()  # type: ignore[attr-defined]
    sys.argv = ["uvicorn", *argv]
    sys.path.insert(0, folder)
    return _as_python_runs(uvicorn_main)


def _own_alembic() -> bool:
    """Whether a shell would run the alembic installed beside this Python (whose modules the
    zygote loaded), and not another one, or none."""
    found = shutil.which("alembic")
    beside = os.path.join(os.path.dirname(sys.executable), "alembic")
    try:
        return found is not None and os.path.samefile(found, beside)
    except OSError:
        return False


def _alembic(env: dict[str, str], argv: list[str]) -> int:
    """`alembic ARGV` with `env` added, run by alembic's own entry point in a forked process
    with this one's folder, streams and limits; its exit status as a shell reports it."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked process
        code = 1
        try:
            die_with_parent()
            os.environ.update(env)
            sys.argv = [shutil.which("alembic") or "alembic", *argv]
            code = _as_python_runs(lambda: _alembic_main(argv))
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _alembic_main(argv: list[str]) -> None:
    from alembic.config import main

    main(argv=argv, prog="alembic")


def _as_python_runs(entry_point: Callable[[], object]) -> int:
    """Call a program's entry point as `python` runs it: the status the program would exit
    with, and an uncaught exception's traceback printed as Python prints it."""
    try:
        entry_point()
    except SystemExit as exc:
        return _exit_status(exc)
    except BaseException:  # noqa: BLE001 - whatever escapes ends the program, as it would
        traceback.print_exc()
        return 1
    return 0


def _exit_status(exc: SystemExit) -> int:
    """The status Python exits with for an uncaught SystemExit (printing a message, as it does)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def run_child(spec: ChildSpec) -> int:
    """Import the student's main.py in `spec.folder` and serve its app."""
    try:
        os.setsid()
    except PermissionError:  # spawned with start_new_session: already leads its session
        pass
    die_with_parent()
    if spec.sandbox is not None:
        supervisor_code = _contain(spec)
        if supervisor_code is not None:
            return supervisor_code
    else:
        from grader.engine.sandbox import private_tmp

        private_tmp(Path(spec.folder))
    if spec.trusted_fd >= 0:  # never held by the student's code
        os.close(spec.trusted_fd)
    os.dup2(spec.output_fd, 1)
    os.dup2(spec.output_fd, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    # the student's streams for as long as the process lives: never closed by us
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115
    set_limits(spec.cpu_seconds, spec.memory_bytes, spec.file_bytes)
    os.chdir(spec.folder)
    os.environ.update(spec.env)
    if spec.mode == "exec":
        return _exec(spec)
    sys.path.insert(0, spec.folder)
    sys.argv = [str(Path(spec.folder) / "main.py")]
    for name in ("main", "db", "database", "models", "schemas"):
        sys.modules.pop(name, None)
    try:
        module = importlib.import_module("main")
    except BaseException as exc:  # noqa: BLE001 - whatever main.py raises, SystemExit too, is reported
        _take_token(spec)
        _error(spec, "import", exc)
        return 3
    _take_token(spec)
    app = getattr(module, "app", None)
    if app is None:
        _report(spec, stage="import", error="NoApp", message="main.py defines no `app`")
        return 4
    try:
        _serve(spec, app)
    except BaseException:  # noqa: BLE001 - _serve reported it; the exit code says it too
        return 5
    return 0


def main() -> None:
    spec = ChildSpec(**json.loads(sys.argv[1]))
    code = run_child(spec)
    sys.stdout.flush()
    os._exit(code)


def spec_arg(spec: ChildSpec) -> str:
    return json.dumps(asdict(spec))


if __name__ == "__main__":
    main()
