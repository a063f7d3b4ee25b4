"""Which web server a container's start command runs, whether it is fit for production, and the
same server run here on the grader's socket. Pure functions on words and settings.

Production servers: `uvicorn main:app` (also `python -m uvicorn`), `fastapi run main.py`, and
gunicorn with uvicorn's workers (`-k uvicorn.workers.UvicornWorker`). A shell command
(`sh -c "..."`, Docker's shell form) is read as the shell would: variables from the image's ENV,
`exec`, `VAR=value` prefixes, a shell script of the image's (`ENTRYPOINT ["./start.sh"]`), read
line by line, and the last server of a `migrate && serve` chain, whose commands
before the server (`alembic upgrade head`) run first here too, through a shell, as in a container;
or, when they are all alembic's, in the student process itself (`inline_here`), which saves a
shell and two fresh interpreters at every start.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace

from grader.checks.dockerfile import ASSIGNMENT, DockerfileError, commands, program
from grader.engine.child import Inline

SHELLS = {"sh", "bash", "dash", "ash", "zsh"}
ALL_ARGUMENTS = {"$@", "${@}", "$*", "${*}"}  # a script's arguments, in its text
STARTUP_VARIABLES = ("PYTHON", "LD_")
EVERY_INTERFACE = {"0.0.0.0", "::", "[::]", ""}
UVICORN_FLAGS = {
    "--reload",
    "--http2",
    "--factory",
    "--version",
    "--help",
    "--reset-contextvars",
    *(
        f"--{no}{name}"
        for no in ("", "no-")
        for name in ("access-log", "use-colors", "proxy-headers", "server-header", "date-header")
    ),
}
LISTEN_OPTIONS = {"--host", "--port", "--uds", "--fd"}  # the grader's own socket replaces them
RELOAD_OPTIONS = {
    "--reload",
    "--reload-dir",
    "--reload-include",
    "--reload-exclude",
    "--reload-delay",
}
GUNICORN_FLAGS = {
    "--reload",
    "--preload",
    "--daemon",
    "-D",
    "--capture-output",
    "--check-config",
    "--print-config",
    "--spew",
    "--reuse-port",
    "--no-sendfile",
    "--enable-stdio-inheritance",
    "-R",
    "--help",
    "-v",
    "--version",
    "--strip-header-spaces",
}
UVICORN_WORKERS = {
    "uvicorn.workers.UvicornWorker",
    "uvicorn.workers.UvicornH11Worker",
    "uvicorn_worker.UvicornWorker",
    "uvicorn_worker.UvicornH11Worker",
}
FASTAPI_RUN_VALUES = {
    "--host",
    "--port",
    "--workers",
    "--root-path",
    "--app",
    "--entrypoint",
    "-e",
    "--forwarded-allow-ips",
}


class NotAServer(ValueError):
    """The command starts no server the grader knows; the message says what it does start."""


@dataclass(frozen=True)
class Server:
    program: str  # "uvicorn", "fastapi run" or "gunicorn"
    app: str  # module:name, as uvicorn takes it
    hosts: tuple[str, ...]  # the interfaces it listens on, defaults resolved
    reload: bool
    options: tuple[str, ...]  # uvicorn's options as written, without where it listens
    written: str  # the command as the container runs it
    worker: str = ""  # gunicorn's worker class
    before: tuple[tuple[str, ...], ...] = ()  # the commands a shell runs before the server


def read_server(
    argv: list[str],
    env: dict[str, str],
    gunicorn_config: dict[str, object] | None = None,
    read_script: Callable[[str, bool], str | None] = lambda path, by_a_shell: None,
) -> Server:
    """The server `argv` starts (through a shell if it is one, or a shell script of the image's,
    whose text `read_script` gives for its path, and whether a shell is named to run it);
    NotAServer with the reason if none."""
    if not argv:
        raise NotAServer(
            "the image has no CMD or ENTRYPOINT, so a container would not start the app"
        )
    at = _script_index(argv)
    if at is not None:
        script = argv[at] if at < len(argv) else ""
        try:
            simple = commands(script, env)
        except DockerfileError as error:
            raise NotAServer(str(error)) from None
    else:
        if "&&" in argv:
            raise NotAServer(
                f"it is written in exec form (a JSON list), so no shell reads `&&`: "
                f"{argv[0]} is run with `&&` as one of its arguments. Let a shell run the chain: "
                '`CMD ["sh", "-c", "alembic upgrade head && exec uvicorn main:app ..."]`'
            )
        simple = [argv]
    simple = _scripts_read(simple, env, read_script)
    written = " ".join(argv[at:] if at is not None else argv)
    last = ""
    for index in reversed(range(len(simple))):
        words = simple[index]
        name, rest, command_env = program(words, env)
        if not name:
            continue
        last = last or " ".join(words)
        server: Server | None = None
        if name == "uvicorn":
            server = _uvicorn(rest, command_env, written)
        elif name == "fastapi":
            server = _fastapi(rest, written)
        elif name == "gunicorn":
            server = _gunicorn(rest, command_env, written, gunicorn_config or {})
        if server is not None:
            before = tuple(tuple(w) for w in simple[:index] if w[:1] not in (["cd"], ["set"]))
            return replace(server, before=before)
    if last.startswith("python "):
        raise NotAServer(
            f"it runs `{last}`, which starts whatever that file starts: the grader (and a platform "
            "that runs the image) cannot tell which server it is or where it listens"
        )
    raise NotAServer(
        f"it runs `{last or written}`, which is not uvicorn, `fastapi run` or gunicorn"
    )


def _script_index(argv: list[str]) -> int | None:
    """Where the script is in `sh [options] -c SCRIPT` (`sh -ec`, `bash -o pipefail -c`, `bash
    -lc`); None when argv does not give a shell a script to read."""
    if argv[0].rsplit("/", 1)[-1] not in SHELLS:
        return None
    index = 1
    while index < len(argv) and argv[index][:1] in ("-", "+"):
        word = argv[index]
        if word in ("-o", "+o", "-O", "+O"):
            index += 2
            continue
        if not word.startswith("--") and "c" in word[1:]:
            return index + 1
        index += 1
    return None


def _scripts_read(
    simple: list[list[str]], env: dict[str, str], read_script: Callable[[str, bool], str | None]
) -> list[list[str]]:
    """The commands, each that runs a shell script (`./start.sh`, `sh start.sh`) replaced by the
    script's own commands, as the shell runs them, its arguments given to `"$@"` (a CMD after an
    ENTRYPOINT script that ends `exec "$@"`)."""
    found = []
    for words in simple:
        name, rest, _ = program(words, env)
        by_a_shell = name in SHELLS and bool(rest) and not rest[0].startswith("-")
        path, arguments = (rest[0], rest[1:]) if by_a_shell else (words[len(words) - len(rest) - 1], rest)
        text = read_script(path, by_a_shell) if name else None
        if text is None:
            found.append(words)
            continue
        try:
            for line in text.replace("\\\n", " ").splitlines():  # a comment ends with its line
                found += [
                    [part for word in command for part in (arguments if word in ALL_ARGUMENTS else [word])]
                    for command in commands(line, env)
                ]
        except DockerfileError as error:
            raise NotAServer(str(error)) from None
    return found


def _uvicorn(rest: list[str], env: dict[str, str], written: str) -> Server:
    app, options, values = "", [], _option_values(rest, UVICORN_FLAGS)
    skip = False
    for index, word in enumerate(rest):
        if skip:
            skip = False
            continue
        name = word.split("=", 1)[0]
        takes_value = word.startswith("-") and "=" not in word and word not in UVICORN_FLAGS
        if (
            name in LISTEN_OPTIONS or name in RELOAD_OPTIONS
        ):  # not run here: judged by the Dockerfile check
            skip = takes_value
        elif word.startswith("-"):
            options.append(word)
            if takes_value and index + 1 < len(rest):
                options.append(rest[index + 1])
                skip = True
        elif not app:
            app = word
        else:
            options.append(word)
    if not app:
        raise NotAServer("uvicorn is given no application to serve (such as main:app)")
    host = (values.get("--host") or [env.get("UVICORN_HOST", "127.0.0.1")])[-1]
    return Server(
        "uvicorn",
        app,
        (host,),
        "--reload" in rest or env.get("UVICORN_RELOAD", "").lower() in ("1", "true"),
        tuple(options),
        written,
    )


def _fastapi(rest: list[str], written: str) -> Server:
    if not rest or rest[0] not in ("run", "dev"):
        raise NotAServer(f"`fastapi {' '.join(rest)}` is neither `fastapi run` nor `fastapi dev`")
    words = rest[1:]
    values = _option_values(words, set(), FASTAPI_RUN_VALUES)
    paths = [
        w
        for i, w in enumerate(words)
        if not w.startswith("-") and (i == 0 or words[i - 1] not in FASTAPI_RUN_VALUES)
    ]
    module = (paths[0] if paths else "main.py").removesuffix(".py").replace("/", ".")
    app = (
        values.get("--entrypoint")
        or values.get("-e")
        or [f"{module}:{(values.get('--app') or ['app'])[-1]}"]
    )[-1]
    dev = rest[0] == "dev"
    host = (values.get("--host") or ["127.0.0.1" if dev else "0.0.0.0"])[-1]
    options = [
        w
        for option in ("--root-path",)
        for value in values.get(option, [])
        for w in (option, value)
    ]
    options += [w for w in words if w in ("--proxy-headers", "--no-proxy-headers")]
    reload = dev and "--no-reload" not in words or "--reload" in words
    return Server(f"fastapi {rest[0]}", app, (host,), reload, tuple(options), written)


def _gunicorn(
    rest: list[str], env: dict[str, str], written: str, config: dict[str, object]
) -> Server:
    extra = shlex.split(env.get("GUNICORN_CMD_ARGS", ""))
    words = [*extra, *rest]
    values = _option_values(words, GUNICORN_FLAGS)
    apps = [
        w
        for i, w in enumerate(words)
        if not w.startswith("-") and (i == 0 or not _takes_value(words[i - 1], GUNICORN_FLAGS))
    ]
    app = apps[-1] if apps else str(config.get("wsgi_app", ""))
    if not app:
        raise NotAServer("gunicorn is given no application to serve (such as main:app)")
    worker = (
        values.get("-k")
        or values.get("--worker-class")
        or [str(config.get("worker_class", "sync"))]
    )[-1]
    binds = values.get("-b", []) + values.get("--bind", [])
    if not binds:
        configured = config.get("bind", env.get("BIND", ""))
        binds = (
            [str(b) for b in configured]
            if isinstance(configured, list)
            else [str(configured or "127.0.0.1:8000")]
        )
    hosts = tuple(_bind_host(b) for b in binds)
    reload = "--reload" in words or config.get("reload") is True
    return Server("gunicorn", app, hosts, reload, (), written, worker)


def _bind_host(bind: str) -> str:
    if bind.startswith(("unix:", "fd://")):
        return bind
    if bind.startswith("["):
        return bind.split("]", 1)[0] + "]"
    return bind.rsplit(":", 1)[0] if ":" in bind else bind


def _takes_value(word: str, flags: set[str]) -> bool:
    return word.startswith("-") and "=" not in word and word not in flags


def _option_values(
    words: list[str], flags: set[str], valued: set[str] | None = None
) -> dict[str, list[str]]:
    """Every value given to each option, as `--name value`, `--name=value` or `-kvalue`."""
    found: dict[str, list[str]] = {}
    for index, word in enumerate(words):
        if not word.startswith("-"):
            continue
        name, equals, value = word.partition("=")
        if not equals and len(word) > 2 and not word.startswith("--") and word not in flags:
            name, value, equals = word[:2], word[2:], "="  # -kuvicorn.workers.UvicornWorker
        takes = name in valued if valued is not None else _takes_value(name, flags)
        if equals:
            found.setdefault(name, []).append(value)
        elif takes and index + 1 < len(words):
            found.setdefault(name, []).append(words[index + 1])
    return found


def production_problem(server: Server) -> str:
    """Why this server is not fit to run in a container ("" when it is)."""
    if server.program == "fastapi dev":
        return "`fastapi dev` is the development server: it reloads on every file change"
    if server.reload:
        return f"`{server.written}` reloads on every file change (--reload)"
    if server.program == "gunicorn" and server.worker not in UVICORN_WORKERS:
        return (
            f"gunicorn runs its {server.worker!r} workers, which speak WSGI; a FastAPI app speaks "
            "ASGI and needs `-k uvicorn.workers.UvicornWorker`"
        )
    closed = [host for host in server.hosts if host not in EVERY_INTERFACE]
    if closed and len(closed) == len(server.hosts):
        return f"`{server.written}` listens on {closed[0]} only, not on 0.0.0.0"
    return ""


def runnable_here(server: Server, python: str) -> list[str]:
    """The same app served here by uvicorn through `python` (the grader adds its own --uds),
    after the commands the image runs before its server."""
    return after(server.before, [python, "-m", "uvicorn", server.app, *server.options])


def after(before: tuple[tuple[str, ...], ...], command: list[str]) -> list[str]:
    """`command`, run by a shell once every command of `before` succeeded, as `a && b && exec
    command`; the arguments the grader appends (--uds) reach `command` through "$@"."""
    if not before:
        return command
    chain = " && ".join(shlex.join(words) for words in before)
    return ["sh", "-c", f'{chain} && exec "$@"', "sh", *command]


def inline_here(server: Server, python: str) -> Inline | None:
    """`runnable_here(server, python)` as the student process runs it without a shell: None
    unless every command before the server is alembic's own, with nothing but NAME=value words
    before it, none of them PATH, PYTHON* or LD_* (anything else is the shell's to run)."""
    return inline(server.before, [python, "-m", "uvicorn", server.app, *server.options])


def inline(before: tuple[tuple[str, ...], ...], command: list[str]) -> Inline | None:
    """`after(before, command)` without a shell, when `command` is `python -m uvicorn ...` and
    every command of `before` runs alembic; else None."""
    if command[1:3] != ["-m", "uvicorn"]:
        return None
    stages = []
    for words in before:
        names = 0
        while names < len(words) and ASSIGNMENT.match(words[names]):
            names += 1
        if words[names:names + 1] != ("alembic",):
            return None
        if any(shlex.quote(word) != word for word in words[:names]):  # quoted: no longer a NAME=
            return None
        env = {name: value for name, _, value in (w.partition("=") for w in words[:names])}
        if any(name == "PATH" or name.startswith(STARTUP_VARIABLES) for name in env):
            return None  # they change which alembic runs, or how its Python starts
        stages.append((env, tuple(words[names + 1:])))
    return Inline(tuple(stages), tuple(command[3:]))
