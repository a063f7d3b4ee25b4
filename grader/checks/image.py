"""A step folder's container image, read from its files: the Dockerfile's stages, its server,
its requirements, and what the app needs. Every problem is a CheckFailure a student can act on."""

from __future__ import annotations

import ast
import importlib.metadata
import re
from functools import partial
from pathlib import Path

from grader.checks.dockerfile import (
    DockerfileError,
    Stage,
    commands,
    ignored,
    parse,
    program,
    stages,
)
from grader.checks.requirements import (
    POSTGRES_DRIVER,
    Requirement,
    RequirementsError,
    imported_modules,
    installed_on,
    normalise,
    pip_requirement_files,
    provides,
    server_needs,
)
from grader.checks.requirements import parse as parse_requirements
from grader.checks.server_command import SHELLS, NotAServer, Server, production_problem, read_server
from grader.feedback import CheckFailure
from grader.source import parse_source, read_source

SLIM_PYTHON = re.compile(
    r"^(?:(?:index\.)?docker\.io/)?(?:library/)?python:(?P<tag>[^@\s]+)(?:@sha256:[0-9a-f]{64})?$"
)
NESTING = 5  # requirement files including others, at most this deep
TOOLS = {"alembic": "alembic"}  # a program run before the server -> the package it comes from
CMD_HINT = '`CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]`.'
REQUIREMENTS_HINT = (
    "List what the app needs, one package a line, each pinned: `fastapi==0.115.0`. "
    "`pip freeze` prints what your environment has, with versions."
)


def dockerfile_of(folder: Path) -> Path:
    """The file `docker build` reads in `folder`: Dockerfile, else dockerfile (as Docker and
    BuildKit fall back to it)."""
    path = folder / "Dockerfile"
    return path if path.is_file() or not (folder / "dockerfile").is_file() else folder / "dockerfile"


def image_stages(folder: Path) -> list[Stage]:
    path = dockerfile_of(folder)
    if not path.is_file():
        raise CheckFailure(
            "There is no Dockerfile beside main.py.",
            "Write one: FROM a slim Python image, install requirements.txt, copy the app, and "
            "start uvicorn. README.md shows the shape.",
        )
    try:
        return stages(parse(path.read_text(encoding="utf-8", errors="replace")))
    except DockerfileError as error:
        raise CheckFailure(
            f"Docker cannot build this Dockerfile: {error}.", "README.md shows the shape."
        ) from None


def installs_requirements(stage: Stage) -> bool:
    """Whether a RUN of the stage pip-installs a file named requirements.txt."""
    for run in stage.runs:
        argv = run.argv(stage.shell)
        try:
            simple = [argv] if run.exec_form else commands(argv[-1], {**stage.args, **stage.env})
        except DockerfileError:
            continue
        if any(
            Path(f).name == "requirements.txt"
            for words in simple
            for f in pip_requirement_files(words)
        ):
            return True
    return False


def image_server(folder: Path) -> Server:
    """The server the image's ENTRYPOINT and CMD start, as Docker joins them."""
    final = image_stages(folder)[-1]
    argv = final.start()
    unread = argv if argv[:1] and Path(argv[0]).name not in SHELLS else []  # no shell reads them
    exec_words = [
        w
        for form in (final.entrypoint, final.cmd)
        if form is not None and form.exec_form
        for w in form.words
    ]
    dollar = next((w for w in exec_words if "$" in w and w in unread), "")
    if dollar:
        raise CheckFailure(
            f"The image's start command is written in exec form (a JSON list), so no shell reads "
            f"it: {dollar!r} reaches the program as it is written, not as a value.",
            'Write the value itself (`"--port", "8000"`), or use the shell form, `CMD uvicorn '
            "main:app --host 0.0.0.0 --port $PORT`, where the shell replaces $PORT.",
        )
    try:
        return read_server(argv, final.env, gunicorn_config(folder, argv), partial(shell_script, folder))
    except NotAServer as error:
        raise CheckFailure(
            f"The image's start command cannot serve the app: {error}.", CMD_HINT
        ) from None


def shell_script(folder: Path, path: str, by_a_shell: bool) -> str | None:
    """The text of the shell script at `path` in the image, when the folder holds it (the build
    context copied in, relative to the working directory or by name) and it is a shell's: given
    to a shell (`sh start`), named *.sh, or with a `#!` line naming a shell."""
    found = folder / path if not Path(path).is_absolute() else folder / Path(path).name
    try:
        if not found.resolve().is_relative_to(folder.resolve()) or not found.is_file():
            return None
        text = found.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    interpreter = text.partition("\n")[0].removeprefix("#!").split()
    shell = [w for w in interpreter if w.rsplit("/", 1)[-1] != "env"][:1]
    named = text.startswith("#!") and bool(shell) and shell[0].rsplit("/", 1)[-1] in SHELLS
    return text if by_a_shell or named or found.suffix == ".sh" else None


def gunicorn_config(folder: Path, argv: list[str]) -> dict[str, object]:
    """The settings a gunicorn config file (-c FILE, or ./gunicorn.conf.py) gives as literals."""
    named = re.search(r"(?:-c|--config)[= ]\s*(?:python:)?(\S+)", " ".join(argv))
    path = folder / named.group(1).strip("'\"") if named else folder / "gunicorn.conf.py"
    if not path.is_file() or not path.resolve().is_relative_to(folder.resolve()):
        return {}
    tree = parse_source(path)  # as Python reads it, a BOM honoured
    if tree is None:
        return {}
    found: dict[str, object] = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return found


def python_version(folder: Path) -> str:
    """The Python version of the image's base ("3.12"), or "" when the tag does not say."""
    try:
        tag = SLIM_PYTHON.match(image_stages(folder)[-1].image())
    except CheckFailure:
        return ""
    version = re.match(r"\d+\.\d+", tag.group("tag")) if tag else None
    return version.group(0) if version else ""


def requirements(path: Path, folder: Path, depth: int = NESTING) -> list[Requirement]:
    """Every requirement of the file and of the files it includes with -r (inside `folder`)."""
    if not path.is_file():
        raise CheckFailure(f"There is no {path.name} beside main.py.", REQUIREMENTS_HINT)
    try:
        found, nested = parse_requirements(path.read_text(encoding="utf-8", errors="replace"))
    except RequirementsError as error:
        raise CheckFailure(f"pip cannot install {path.name}: {error}.", REQUIREMENTS_HINT) from None
    for name in nested:
        inner = (path.parent / name).resolve()
        if depth <= 0 or not inner.is_relative_to(folder.resolve()) or not inner.is_file():
            raise CheckFailure(
                f"{path.name} includes {name} (-r), which is not a file in the step folder.",
                "Keep every requirement in requirements.txt itself.",
            )
        found += requirements(inner, folder, depth - 1)
    return found


def distributions_of(modules: set[str]) -> dict[str, list[str]]:
    """`importlib.metadata.packages_distributions()` for `modules` only, the same lists in the same
    order, without parsing the metadata and file list of every installed distribution (most of a
    tenth of a second): a distribution's file list (RECORD) is parsed only when a line of it
    starts with one of the names, its metadata only when it provides one."""
    metadata = importlib.metadata
    declared = getattr(metadata, "_top_level_declared", None)
    inferred = getattr(metadata, "_top_level_inferred", None)
    if declared is None or inferred is None:  # another Python's packages_distributions()
        everything = metadata.packages_distributions()
        return {module: everything[module] for module in modules if module in everything}
    names = "|".join(map(re.escape, sorted(modules))) or "(?!)"
    first = re.compile(rf'^"?(?:\./)*(?:{names})(?:[/.,"]|$)', re.MULTILINE)
    found: dict[str, list[str]] = {}
    for dist in metadata.distributions():
        tops = declared(dist)
        if not tops:
            record = dist.read_text("RECORD") if type(dist) is metadata.PathDistribution else None
            if record and not first.search(record):
                continue  # no file of it can make one of the names
            tops = inferred(dist)
        hits = [top for top in tops if top in modules]
        if hits:
            name = dist.metadata["Name"]
            for top in hits:
                found.setdefault(top, []).append(name)
    return found


def needs(folder: Path) -> dict[str, str]:
    """Distribution -> why the app needs it: its imports, the PostgreSQL driver, its server."""
    sources = {p.name: read_source(p) for p in sorted(folder.glob("*.py"))}  # as Python reads them
    packages = {p.name for p in folder.iterdir() if p.is_dir()}
    imported = imported_modules(sources, packages)
    distributions = distributions_of(set(imported))
    found: dict[str, str] = {}
    for module, file in imported.items():
        names = distributions.get(module) or [module]
        found.setdefault(normalise(names[0]), f"{file} imports {module}")
    found[POSTGRES_DRIVER] = (
        "SQLAlchemy needs it to reach PostgreSQL with a postgresql+psycopg:// DATABASE_URL "
        "(psycopg2 is the older driver, for postgresql+psycopg2:// URLs)"
    )
    try:
        server = image_server(folder)
    except CheckFailure:
        return found  # the Dockerfile check says what is wrong with the command
    for need in server_needs(server.program, server.worker):
        found.setdefault(need, f"the image starts the app with {server.program}")
    for words in server.before:
        name = program(list(words), {})[0]
        if name in TOOLS:
            found.setdefault(TOOLS[name], f"the image's start command runs {name}")
    return found


def check_requirements(folder: Path) -> None:
    """Fail unless requirements.txt pins every package and lists what the app needs."""
    listed = requirements(folder / "requirements.txt", folder)
    version = python_version(folder)
    installed = [r for r in listed if installed_on(r, version)]
    loose = [r for r in installed if not r.pinned()]
    if loose:
        raise CheckFailure(
            f"requirements.txt line {loose[0].line} has {loose[0].text!r}, which is not pinned to one version.",
            "Pin each package with ==, such as `sqlalchemy==2.0.36`: the image built next month "
            "must install exactly what you tested today.",
        )
    for need, why in needs(folder).items():
        if not provides(installed, need):
            skipped = [r for r in listed if r.name == need]
            where = (
                f" for a Linux image (it is there only where {skipped[0].marker})"
                if skipped
                else ""
            )
            raise CheckFailure(
                f"requirements.txt does not list {need}{where}, and {why}.",
                "List every package the app imports and the server that starts it, each pinned: "
                "`pip freeze` prints the versions in your environment (`fastapi==...`, "
                "`uvicorn==...`, `sqlalchemy==...`, `pydantic==...`, `psycopg[binary]==...`).",
            )


def check_dockerfile(folder: Path) -> None:
    """Fail unless the image is a slim Python with requirements.txt installed, serving for production."""
    built = image_stages(folder)
    base = built[-1].image()
    match = SLIM_PYTHON.match(base)
    if match is None or "slim" not in match.group("tag"):
        raise CheckFailure(
            f"The image is built FROM {base or 'nothing'!r}; use a slim Python image.",
            "`FROM python:3.12-slim`: the full image is several times larger, for tools the app "
            "never uses.",
        )
    if not any(installs_requirements(stage) for stage in built):
        raise CheckFailure(
            "The Dockerfile never runs `pip install -r requirements.txt`.",
            "`COPY requirements.txt .` then `RUN pip install --no-cache-dir -r requirements.txt`, "
            "before `COPY . .`, so a code change does not reinstall every package.",
        )
    problem = production_problem(image_server(folder))
    if problem:
        raise CheckFailure(
            f"The image's start command is not fit for production: {problem}.",
            "--reload watches files and restarts on changes, a development aid that costs time "
            "and memory in production: leave it out. Inside a container, 127.0.0.1 is the "
            "container itself and nothing outside can reach it: `--host 0.0.0.0` listens on every "
            "interface. " + CMD_HINT,
        )
    ignore = folder / ".dockerignore"
    if not ignored(
        ignore.read_text(encoding="utf-8", errors="replace") if ignore.is_file() else "", "notes.db"
    ):
        raise CheckFailure(
            "There is no .dockerignore that keeps notes.db out of the image, so `COPY . .` "
            "would bake your local notes into it.",
            "Write a .dockerignore with `*.db`, `__pycache__/` and `.venv/`, one a line.",
        )
