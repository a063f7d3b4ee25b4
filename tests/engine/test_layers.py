"""The engine imports nothing above it, and no module of the package imports in a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import grader

PACKAGE = Path(grader.__file__).parent


def _imports(path: Path) -> set[str]:
    """The grader modules `path` imports, leaving out `if TYPE_CHECKING:` blocks and its own
    package (`from grader.quiz.web import deps` in grader.quiz.web.app imports deps)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            node.body = []
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    own = _module(path).rsplit(".", 1)[0]
    return {name for name in found if name.split(".")[0] == "grader" and name != own}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(path): path for path in PACKAGE.rglob("*.py")}


def test_the_engine_imports_nothing_above_it() -> None:
    upward = {
        name: sorted(i for i in _imports(path) if not i.startswith("grader.engine"))
        for name, path in MODULES.items() if name.startswith("grader.engine")
    }
    assert {name: found for name, found in upward.items() if found} == {}


def test_no_import_cycle() -> None:
    graph = {
        name: {i for i in _imports(path) if i in MODULES and i != name} for name, path in MODULES.items()
    }
    cycles = []
    for start in graph:
        stack, seen = [(start, (start,))], set()
        while stack:
            node, trail = stack.pop()
            for after in graph[node]:
                if after == start:
                    cycles.append(" -> ".join((*trail, start)))
                elif after not in seen:
                    seen.add(after)
                    stack.append((after, (*trail, after)))
    assert cycles == []
