"""What main.py's module-level code does with a name, read from its syntax tree in the grader.

Module-level code is every statement that runs when main.py is imported: the module's own
statements and those inside its if/for/while/try/with/match blocks, but not function bodies,
lambdas, or the body of `if __name__ == "__main__":`. Names are followed as written: a change
made through another name, exec() or globals() is not seen.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_SOURCE_BYTES = 1 << 20
READ_ONLY_METHODS = {"get", "keys", "values", "items", "copy", "__len__", "__contains__",
                     "__getitem__", "__iter__", "__repr__", "__str__", "__eq__"}
READ_ONLY_CALLS = {"print", "len", "repr", "str", "type", "isinstance", "id", "bool", "sorted",
                   "list", "tuple", "iter", "any", "all", "max", "min", "sum", "format", "hash"}


@dataclass(frozen=True)
class Use:
    """A statement of module-level code that binds or changes a name."""

    line: int
    text: str  # the statement, shortened, as written
    value: ast.expr | None = None  # for `name = value` or `name: T = value` in the module body
    changes: bool = False  # changes the object (`notes_db[1] = ...`) rather than binding the name


class Unreadable(Exception):
    """main.py could not be read as Python: `line` is where, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def parse(path: Path) -> tuple[ast.Module, str]:
    """main.py's syntax tree and text, read as Python reads it (a BOM or a coding line is obeyed)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        raise Unreadable(f"it could not be opened ({exc.strerror})") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise Unreadable(f"it is larger than {MAX_SOURCE_BYTES >> 20} MiB")
    try:
        tree = ast.parse(data, filename=path.name)
    except SyntaxError as exc:
        raise Unreadable(f"SyntaxError: {exc.msg}", exc.lineno) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise Unreadable(f"{type(exc).__name__}: {exc}") from None
    try:  # parsed above, so the encoding is one Python knows
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        source = data.decode(encoding)
    except (LookupError, SyntaxError, UnicodeDecodeError):
        source = data.decode("utf-8", "replace")
    return tree, source


def _is_main_guard(node: ast.If) -> bool:
    if not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    sides = [test.left, *test.comparators]
    return (len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
            and any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")


def _statements(
    body: list[ast.AST], top: bool, in_class: bool = False
) -> Iterator[tuple[ast.AST, bool, bool]]:
    """Each statement of module-level code (an except clause and a match case count as one), with
    whether it sits in the module body itself and whether in a class body."""
    for node in body:
        yield node, top, in_class
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If) and _is_main_guard(node):
            yield from _statements(list(node.orelse), False, in_class)
            continue
        for field in BLOCKS:
            inner = getattr(node, field, None)
            if isinstance(inner, list):
                nested_class = in_class or (isinstance(node, ast.ClassDef) and field == "body")
                yield from _statements(inner, False, nested_class)


def _expressions(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of one statement that run with it: not its blocks (their statements come on their
    own), function or lambda bodies, or a comprehension's own loop variables."""
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, ast.Lambda):
            stack.extend(current.args.defaults + [d for d in current.args.kw_defaults if d])
            continue
        for field, value in ast.iter_fields(current):
            if (current is node and field in BLOCKS) or (
                isinstance(current, ast.comprehension) and field == "target"
            ):
                continue
            children = value if isinstance(value, list) else [value]
            stack.extend(c for c in children if isinstance(c, ast.AST) and not isinstance(c, ast.stmt))


def _binds(node: ast.AST, name: str) -> bool:
    if isinstance(node, ast.Name):
        return node.id == name and isinstance(node.ctx, (ast.Store, ast.Del))
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name == name
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return any((a.asname or a.name.split(".")[0]) == name for a in node.names)
    if isinstance(node, ast.ExceptHandler):
        return node.name == name
    if isinstance(node, (ast.MatchAs, ast.MatchStar)):
        return node.name == name
    if isinstance(node, ast.MatchMapping):
        return node.rest == name
    return False


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _changes(node: ast.AST, name: str) -> bool:
    if isinstance(node, (ast.Subscript, ast.Attribute)) and not isinstance(node.ctx, ast.Load):
        return _is_name(node.value, name)
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and _is_name(func.value, name):
        return func.attr not in READ_ONLY_METHODS
    passed = any(_is_name(a, name) or (isinstance(a, ast.Starred) and _is_name(a.value, name))
                 for a in [*node.args, *(k.value for k in node.keywords)])
    return passed and not (isinstance(func, ast.Name) and func.id in READ_ONLY_CALLS)


def _assigned(statement: ast.AST, name: str) -> ast.expr | None:
    """The value of `name = value`, `name: T = value` or `a, name = x, value`, with one target."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) \
                and len(target.elts) == len(value.elts):
            pairs = [(t, v) for t, v in zip(target.elts, value.elts) if _is_name(t, name)]
            return pairs[0][1] if len(pairs) == 1 else None
        return value if _is_name(target, name) else None
    if isinstance(statement, ast.AnnAssign) and _is_name(statement.target, name):
        return statement.value
    return None


def uses(tree: ast.Module, source: str, name: str) -> list[Use]:
    """Every statement of module-level code that binds `name` or changes what it names, in order."""
    found: list[Use] = []
    for statement, top, in_class in _statements(list(tree.body), True):
        if isinstance(statement, ast.AnnAssign) and statement.value is None:
            continue  # `name: T` alone binds nothing
        nodes = list(_expressions(statement))
        binds = not in_class and any(_binds(n, name) for n in nodes)  # a class body binds its own
        changes = any(_changes(n, name) for n in nodes)
        if not (binds or changes):
            continue
        value = _assigned(statement, name) if top else None
        text = (ast.get_source_segment(source, statement) or name).splitlines()[0][:80]
        found.append(Use(getattr(statement, "lineno", 0), text, value, changes and not binds))
    return found


__all__ = ["Unreadable", "Use", "parse", "uses"]
