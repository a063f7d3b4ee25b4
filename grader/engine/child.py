"""What runs inside a student process: import main.py, then report module facts or serve `app`.

The parent forks into `run_child` (or, where fork is missing, starts
`python -m grader.engine.child`).
Nothing here decides a verdict: it only reports raw facts on the status socket, computed with
references taken before main.py runs. Every message carries the run's token, which the grader
sent down the status socket and which is read only once main.py has been imported.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import socket
import sys
import traceback
import types
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader.engine.limits import die_with_parent, set_limits

PROBED_NAMES = ("notes_db", "next_id", "app")
TOKEN_BYTES = 32

# taken when the zygote loads this module, long before any student code can replace them
_type, _id, _str = type, id, str
_mro_of = type.__dict__["__mro__"].__get__
_module_of = type.__dict__["__module__"].__get__
_qualname_of = type.__dict__["__qualname__"].__get__
_namespace_of = vars(types.ModuleType)["__dict__"].__get__
_dict_len = dict.__len__
_dumps = json.dumps
_write = os.write


@dataclass
class ChildSpec:
    folder: str
    mode: str  # "probe" or "serve"
    status_fd: int
    output_fd: int
    socket_fd: int = -1
    cpu_seconds: int = 60
    memory_bytes: int = 2 << 30
    file_bytes: int = 64 << 20
    sandbox: dict[str, Any] | None = None
    alive_fd: int = -1  # set by the zygote when it forked the child into its own pid namespace
    token: str = ""  # never sent by the grader in the spec: read from the status socket
    env: dict[str, str] = field(default_factory=dict)  # added to os.environ before main.py runs


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


def _error(spec: ChildSpec, stage: str, exc: BaseException) -> None:
    file, line = _student_frame(exc, spec.folder)
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    _report(
        spec,
        stage=stage,
        error=type(exc).__name__,
        message=detail,
        file=file,
        line=line,
        traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:],
    )


def _class_name(cls: type) -> str:
    module = _module_of(cls)
    return f"{module if _type(module) is _str else '?'}.{_qualname_of(cls)}"


def reference_classes() -> dict[int, str]:
    """The classes a verdict may depend on, by id, taken before main.py is imported."""
    from fastapi import FastAPI

    return {_id(cls): _class_name(cls) for cls in (FastAPI, dict, int)}


def _describe(value: Any, genuine: dict[int, str]) -> dict[str, Any]:
    """Raw facts: the class names of the value's MRO and which of them are the genuine ones."""
    cls = _type(value)
    mro = _mro_of(cls)
    facts: dict[str, Any] = {
        "type": _class_name(cls),
        "mro": [_class_name(c) for c in mro],
        "genuine": [genuine[_id(c)] for c in mro if _id(c) in genuine],
    }
    if _id(dict) in (_id(c) for c in mro):
        facts["dict_len"] = _dict_len(value)
    if cls is int:
        facts["int_value"] = value
    return facts


def _probe(module: Any, genuine: dict[int, str]) -> dict[str, Any]:
    namespace = _namespace_of(module)
    return {n: _describe(namespace[n], genuine) for n in PROBED_NAMES if n in namespace}


def _serve(spec: ChildSpec, app: Any) -> None:
    import uvicorn

    class ReportingServer(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                _report(spec, stage="ready")

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
    fds = (spec.status_fd, spec.output_fd, spec.socket_fd)
    try:
        return enter(Sandbox(**settings), Path(spec.folder), tuple(fd for fd in fds if fd >= 0),
                     spec.alive_fd)
    except (SandboxError, OSError) as exc:
        _take_token(spec)
        _report(spec, stage="import", error="SandboxError", message=f"the sandbox failed: {exc}")
        return 6


def run_child(spec: ChildSpec) -> int:
    """Import the student's main.py in `spec.folder`; report facts or serve its app."""
    try:
        os.setsid()
    except PermissionError:  # spawned with start_new_session: already leads its session
        pass
    die_with_parent()
    if spec.sandbox is not None:
        supervisor_code = _contain(spec)
        if supervisor_code is not None:
            return supervisor_code
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
    sys.path.insert(0, spec.folder)
    sys.argv = [str(Path(spec.folder) / "main.py")]
    for name in ("main", "db", "database", "models", "schemas"):
        sys.modules.pop(name, None)
    genuine = reference_classes()
    try:
        module = importlib.import_module("main")
        names = _probe(module, genuine) if spec.mode == "probe" else {}
    except BaseException as exc:  # noqa: BLE001 - whatever main.py raises, SystemExit too, is reported
        _take_token(spec)
        _error(spec, "import", exc)
        return 3
    _take_token(spec)
    if spec.mode == "probe":
        _report(spec, stage="facts", names=names)
        return 0
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
