"""Reading a student's sqlite3 code for how values reach the SQL: `?` placeholders, or pasted in.

Each `execute()` call's SQL is followed back through simple assignments (`sql = ...`) in the same
function, then at module level; a string built from values anywhere on that way is reported.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.source import parse_source

RUNS_SQL = ("execute", "executemany", "executescript")
INSERT = re.compile(r"\binsert\b", re.IGNORECASE)
_HOPS = 5  # how many `a = b` links are followed back before giving up


@dataclass(frozen=True)
class SqlCall:
    """One execute() call: where it is, the SQL it runs (when known), and whether values are passed."""

    where: str
    sql: str | None  # None when some of it is built from values at run time
    built_at: str  # where a string built from values came from, "" if none
    has_parameters: bool


def sql_calls(folder: Path) -> list[SqlCall]:
    """Every execute(), executemany() and executescript() call in the folder's .py files."""
    calls = []
    for path in sorted(folder.glob("*.py")):
        tree = parse_source(path)
        if tree is None:
            continue
        module = _assignments(tree.body)
        scopes = [(tree, module)] + [
            (node, _assignments(ast.walk(node)))
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        ]
        seen: set[int] = set()
        for scope, names in reversed(scopes):  # innermost first: a call belongs to its function
            for node in ast.walk(scope):
                if isinstance(node, ast.Call) and _runs_sql(node) and id(node) not in seen:
                    seen.add(id(node))
                    calls.append(_read_call(path.name, node, [names, module]))
    return sorted(calls, key=lambda c: (c.where.split(" line ")[0], int(c.where.split()[-1])))


def inserts_without_placeholders(calls: list[SqlCall]) -> list[SqlCall]:
    """INSERTs that do not take their values through `?` and a tuple of parameters."""
    return [
        c for c in calls
        if c.sql is not None and INSERT.search(c.sql) and not ("?" in c.sql and c.has_parameters)
    ]


def _runs_sql(node: ast.Call) -> bool:
    return (
        isinstance(node.func, ast.Attribute)
        and node.func.attr in RUNS_SQL
        and bool(node.args)
    )


def _read_call(file: str, call: ast.Call, scopes: list[dict[str, list[ast.expr]]]) -> SqlCall:
    where = f"{file} line {call.lineno}"
    sql, built = _follow(call.args[0], scopes, _HOPS)
    has_parameters = len(call.args) > 1 or any(k.arg == "parameters" for k in call.keywords)
    return SqlCall(where, None if built else sql, f"{file} line {built}" if built else "", has_parameters)


def _follow(
    node: ast.expr, scopes: list[dict[str, list[ast.expr]]], hops: int
) -> tuple[str | None, int]:
    """(the SQL text if it is a constant, the line of a string built from values or 0)."""
    if isinstance(node, ast.Name) and hops > 0:
        values = next((scope[node.id] for scope in scopes if node.id in scope), [])
        texts = []
        for value in values:
            text, built = _follow(value, scopes, hops - 1)
            if built:
                return None, built
            texts.append(text)
        return (texts[0] if len(texts) == 1 else None), 0
    if _is_built(node):
        return None, node.lineno
    return _constant(node), 0


def _assignments(nodes: Iterable[ast.AST]) -> dict[str, list[ast.expr]]:
    """name -> every value given to it by `name = ...`, `name: T = ...` or `name += ...`."""
    found: dict[str, list[ast.expr]] = {}
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and node.value and isinstance(node.target, ast.Name):
            found.setdefault(node.target.id, []).append(node.value)
        elif (
            isinstance(node, ast.AugAssign)
            and isinstance(node.target, ast.Name)
            and _constant(node.value) is None  # `sql += text` pastes a value into the string
        ):
            pasted = ast.BinOp(left=ast.Constant(""), op=ast.Add(), right=node.value)
            found.setdefault(node.target.id, []).append(ast.copy_location(pasted, node))
    return found


def _is_built(node: ast.expr) -> bool:
    """An f-string with values, a .format() or .join(), or + / % with something not constant."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _constant(node) is None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("format", "join", "replace")
    return False


def _constant(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _constant(node.left), _constant(node.right)
        return None if left is None or right is None else left + right
    return None
