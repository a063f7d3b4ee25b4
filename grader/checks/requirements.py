"""requirements.txt read as pip reads it, and what an app needs from it. Pure functions on text.

Comments, line continuations, pip's options (`-r other.txt`, `--index-url`, `--hash=...` after a
requirement, as pip-compile writes them), extras and environment markers (judged for the Linux
CPython of the image). A requirement is pinned when it names one exact version (`==1.2.3` or
`===1.2.3`) or one exact file or commit.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as Pep508

from grader.checks.dockerfile import program

_COMMENT = re.compile(r"(^|\s+)#.*$")
_TRAILING_OPTIONS = re.compile(r"\s+--?[A-Za-z].*$")
_NESTED = re.compile(r"^(-r|--requirement)(\s*=?\s*)(\S+)$")
_EXACT_FILE = re.compile(r"(\.whl|\.tar\.gz|\.zip)(#.*)?$|@[0-9a-f]{40}(#.*)?$")
STANDARD_EXTRAS = {
    "standard",
    "standard-no-fastapi-cloud-cli",
    "all",
}  # fastapi's, with fastapi-cli
POSTGRES_DRIVER = "psycopg"


class RequirementsError(ValueError):
    """A line pip would refuse; the message says which and why."""


@dataclass(frozen=True)
class Requirement:
    name: str  # normalised: lower case, runs of -_. as one -
    extras: frozenset[str]
    specifier: str  # such as "==2.0.36" or ">=2,<3"; "" for none
    url: str
    marker: str
    line: int
    text: str  # as written, options left out

    def pinned(self) -> bool:
        if self.url:
            return _EXACT_FILE.search(self.url) is not None
        exact = re.fullmatch(r"(===?)\s*([^,;\s]+)", self.specifier)
        return exact is not None and "*" not in exact.group(2)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of each line pip reads: continuations joined, comments left out."""
    found: list[tuple[int, str]] = []
    pending, first = "", 0
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        line = _COMMENT.sub("", raw) if not pending or not raw.lstrip().startswith("#") else ""
        if not pending:
            first = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined = (pending + line).strip()
        pending = ""
        if joined:
            found.append((first, joined))
    if pending.strip():
        found.append((first, pending.strip()))
    return found


def parse(text: str) -> tuple[list[Requirement], list[str]]:
    """The requirements of the text, and the files it includes with -r."""
    requirements: list[Requirement] = []
    nested: list[str] = []
    for number, line in logical_lines(text):
        if line.startswith("-"):
            include = _NESTED.match(line)
            if include:
                nested.append(include.group(3))
            elif line.startswith(("-e", "--editable")):
                raise RequirementsError(
                    f"line {number}, {line!r}, installs a folder as it is, not a version"
                )
            continue  # --index-url, --hash, -c constraints and the like install nothing
        spec = _TRAILING_OPTIONS.sub("", line)
        try:
            parsed = Pep508(spec)
        except InvalidRequirement as error:
            raise RequirementsError(
                f"line {number}, {line!r}, is not a requirement pip can read: {error}"
            ) from None
        requirements.append(
            Requirement(
                normalise(parsed.name),
                frozenset(normalise(e) for e in parsed.extras),
                str(parsed.specifier),
                parsed.url or "",
                str(parsed.marker or ""),
                number,
                spec,
            )
        )
    return requirements, nested


def installed_on(requirement: Requirement, python_version: str = "") -> bool:
    """Whether pip installs it in a Linux CPython image (markers evaluated there)."""
    if not requirement.marker:
        return True
    environment = {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    if python_version:
        environment |= {
            "python_version": python_version,
            "python_full_version": f"{python_version}.0",
        }
    try:
        return Marker(requirement.marker).evaluate(environment)
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
        return True


def imported_modules(sources: dict[str, str], local: set[str] | None = None) -> dict[str, str]:
    """Top-level modules the files import, except the standard library, the app's own modules
    (the files themselves and `local`, such as its package folders), imports only a type checker
    reads (`if TYPE_CHECKING:`) and imports that may fail (`try: ... except ImportError:`):
    module -> the first file that imports it. `sources` maps a file name to its text."""
    own = {name.removesuffix(".py") for name in sources} | (local or set())
    found: dict[str, str] = {}
    for name, text in sorted(sources.items()):
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        optional = _optional_imports(tree)
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".", 1)[0]
                if top not in own and top not in sys.stdlib_module_names and top != "__future__":
                    found.setdefault(top, name)
    return found


def _optional_imports(tree: ast.Module) -> set[int]:
    """The ids of the nodes inside `if TYPE_CHECKING:` and inside a try that catches ImportError."""
    guarded: list[ast.stmt] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded += node.body
        if isinstance(node, ast.Try) and any(map(_catches_import_error, node.handlers)):
            guarded += node.body
    return {id(inner) for statement in guarded for inner in ast.walk(statement)}


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    caught = ast.unparse(handler.type) if handler.type else "BaseException"
    return (
        re.search(r"\b(ImportError|ModuleNotFoundError|Exception|BaseException)\b", caught)
        is not None
    )


def provides(requirements: list[Requirement], need: str) -> bool:
    """Whether installing these gives distribution `need` (fastapi-cli also comes with fastapi[standard])."""
    names = {r.name for r in requirements}
    if need in names:
        return True
    return need == "fastapi-cli" and any(
        r.name == "fastapi" and r.extras & STANDARD_EXTRAS for r in requirements
    )


def server_needs(program: str, worker: str = "") -> list[str]:
    """The distributions a start command's program comes from."""
    if program == "gunicorn":
        return ["gunicorn", "uvicorn-worker" if worker.startswith("uvicorn_worker.") else "uvicorn"]
    if program.startswith("fastapi"):
        return ["fastapi-cli"]
    return [program]


def pip_requirement_files(words: list[str]) -> list[str]:
    """The requirement files a pip command installs from (`pip install -r FILE`, `pip3`,
    `python -m pip`, `uv pip install`, `pip wheel`); [] for any other command."""
    name, rest, _ = program(words, {})
    if name == "uv" and rest[:1] == ["pip"]:
        name, rest = "pip", rest[1:]
    if not re.fullmatch(r"pip(3(\.\d+)?)?", name) or rest[:1] not in (["install"], ["wheel"]):
        return []
    files: list[str] = []
    for index, word in enumerate(rest):
        if word in ("-r", "--requirement") and index + 1 < len(rest):
            files.append(rest[index + 1])
        elif word.startswith("--requirement="):
            files.append(word.split("=", 1)[1])
        elif word.startswith("-r") and len(word) > 2 and not word.startswith("--"):
            files.append(word[2:].lstrip("="))
    return files
