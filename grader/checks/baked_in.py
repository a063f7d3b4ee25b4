"""What a shipped app must not carry: passwords, secrets and paths of one machine.

In the .py files only string values count (comments and docstrings are prose). A leading slash
alone does not make a file path, since URL paths have one too: a string counts when it starts in
a directory found at the root of Unix machines and containers (`/var/...`, `/home/...`, `/data/...`),
at a drive (`C:\\`), in a home folder (`~/`), or is a four-slash `sqlite:////` URL. Route paths
given to decorators and routers are skipped; `/dev/null` is the same on every machine, so `/dev`
is not in the list. In the Dockerfile, `WORKDIR /app` and the like describe the image itself and
are fine; an ENV or ARG whose name says it is a secret (KEY, SECRET, TOKEN, PASSWORD), written
with a value, is baked into every copy of the image.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from grader.checks.dockerfile import DockerfileError, parse, settings
from grader.checks.image import dockerfile_of
from grader.source import parse_source, read_source

PASSWORD_URL = re.compile(r"\b[a-z+]+://[^/\s:@]+:[^@\s/]+@")
SECRET_WORD = r"(secret|passw(or)?d|token|api_?key|private_?key|access_?key)"
SECRET_ASSIGNED = re.compile(rf"(?i)\b\w*{SECRET_WORD}\w*\s*=\s*['\"](?P<value>[^'\"]+)['\"]")
# what such a name is given that is no secret: a URL path (`TOKEN_URL = "/token"`), a header's
# name (`TOKEN_HEADER = "X-Token"`), or the name of the setting that holds it (`"API_TOKEN"`)
NOT_A_SECRET = re.compile(rf"/[\w/{{}}.-]*|X-[\w-]+|Authorization|(?=.*{SECRET_WORD.upper()})[A-Z][A-Z0-9]*(_[A-Z0-9]+)+")
SECRET_NAME = re.compile(r"(?i)(key|secret|token|passw(or)?d)")
ABSOLUTE_IN_TEXT = re.compile(r"(/home/|/Users/|/root/|[A-Z]:\\\\|sqlite:////)")
ROOTS = "home|Users|root|var|tmp|etc|opt|srv|mnt|media|usr|run|data|app|Volumes|private|workspace"
ABSOLUTE = re.compile(rf"^(/({ROOTS})(/|$)|~/|[A-Za-z]:[\\/]|[a-z+]+:////)")
ROUTES = {
    "get", "post", "put", "patch", "delete", "head", "options", "trace", "api_route", "route",
    "websocket", "mount", "add_api_route", "include_router", "url_path_for", "RedirectResponse",
}
ROUTE_KEYWORDS = {"path", "prefix", "url", "tokenUrl", "openapi_url", "docs_url", "redoc_url"}


def baked_in(folder: Path) -> tuple[str, int, str, str] | None:
    """(file, line, what, the line) for the first thing baked in; None when there is none."""
    for path in sorted(folder.glob("*.py")):
        found = _in_python(path)
        if found:
            return found
    dockerfile = dockerfile_of(folder)
    for path in (dockerfile, folder / "requirements.txt", folder / ".dockerignore"):
        found = _in_text(path, paths=path != dockerfile)  # the Dockerfile's paths are the image's own
        if found:
            return found
    return _secret_setting(dockerfile)


def _secret_setting(path: Path) -> tuple[str, int, str, str] | None:
    """An ENV or ARG whose name says it is a secret, given a value in the Dockerfile."""
    try:
        instructions = parse(path.read_text(encoding="utf-8", errors="replace")) if path.is_file() else []
    except DockerfileError:
        return None
    for instruction in instructions:
        if instruction.keyword not in ("ENV", "ARG"):
            continue
        for name, value in settings(instruction.keyword, instruction.arguments):
            if SECRET_NAME.search(name) and value and not value.startswith("$"):
                what = f"a secret ({name}) given a value in the image"
                return (path.name, instruction.line, what, f"{instruction.keyword} {name}=...")
    return None


def _in_text(path: Path, paths: bool = True) -> tuple[str, int, str, str] | None:
    if not path.is_file():
        return None
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        for pattern, what in (
            (PASSWORD_URL, "a password inside a database URL"),
            (SECRET_ASSIGNED, "a secret written in the code"),
            (ABSOLUTE_IN_TEXT, "an absolute path"),
        ):
            found = pattern.search(line)
            if found and (paths or pattern is not ABSOLUTE_IN_TEXT) and not _no_secret(found):
                return (path.name, number, what, line.strip())
    return None


def _in_python(path: Path) -> tuple[str, int, str, str] | None:
    text = read_source(path)  # as Python reads it: a BOM or a coding line honoured
    tree = parse_source(path)
    if tree is None:
        return _in_text(path)
    lines = text.splitlines()
    skipped = _docstrings(tree) | _route_paths(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skipped:
            continue
        line = lines[node.lineno - 1].strip() if node.lineno <= len(lines) else node.value
        if PASSWORD_URL.search(node.value):
            return (path.name, node.lineno, "a password inside a database URL", line)
        if ABSOLUTE.match(node.value):
            return (path.name, node.lineno, "an absolute path", line)
    for number, line in enumerate(lines, 1):
        code = line.split("#", 1)[0]
        if any(not _no_secret(found) for found in SECRET_ASSIGNED.finditer(code)):
            return (path.name, number, "a secret written in the code", line.strip())
    return None


def _no_secret(found: re.Match[str]) -> bool:
    """Whether a name that says "secret" is given something else (a path, a header's name)."""
    value = found.groupdict().get("value")
    return value is not None and NOT_A_SECRET.fullmatch(value) is not None


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _route_paths(tree: ast.Module) -> set[int]:
    """The URL paths given to route decorators and routers: they start with / and are no files."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        paths = [node.args[0]] if name in ROUTES and node.args else []
        paths += [keyword.value for keyword in node.keywords if keyword.arg in ROUTE_KEYWORDS]
        found.update(id(part) for path in paths for part in ast.walk(path))
    return found
