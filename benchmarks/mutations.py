"""Mutants of a solution folder: one small change to one Python file each, made on its AST."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mutant:
    file: str
    name: str  # stable across unrelated edits: file, function, what changed (never a line number)
    source: str  # the whole mutated file


STATUS = {200: 201, 201: 200, 204: 200, 400: 422, 404: 400, 409: 400, 422: 400, 500: 200, 503: 500}
HTTP_NAMES = {200: "HTTP_200_OK", 201: "HTTP_201_CREATED", 204: "HTTP_204_NO_CONTENT",
              400: "HTTP_400_BAD_REQUEST", 404: "HTTP_404_NOT_FOUND", 409: "HTTP_409_CONFLICT",
              422: "HTTP_422_UNPROCESSABLE_CONTENT", 500: "HTTP_500_INTERNAL_SERVER_ERROR",
              503: "HTTP_503_SERVICE_UNAVAILABLE"}
FLIP: dict[type, type] = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt,
                          ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
                          ast.In: ast.NotIn, ast.NotIn: ast.In}
SQL_WORDS = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA)\b", re.IGNORECASE)
SQL_CLAUSES = [r"\s+WHERE\s+.*?(?=\s+(ORDER|LIMIT|GROUP)\b|$)", r"\s+ORDER\s+BY\s+[\w.]+(\s+(ASC|DESC))?",
               r"\s+LIMIT\s+\S+", r"\s+IF\s+NOT\s+EXISTS", r"\s+AUTOINCREMENT", r"\s+NOT\s+NULL",
               r"\s+DEFAULT\s+\S+", r"\s+PRIMARY\s+KEY", r"\s+REFERENCES\s+\w+\s*\(\w+\)",
               r"\s+ON\s+DELETE\s+\w+(\s+\w+)?", r"\s+UNIQUE", r"\s+ON\s+CONFLICT\b.*?(?=\)|$)"]
ORM_CLAUSES = {"where", "filter", "filter_by", "order_by", "limit", "offset", "group_by", "join",
               "distinct", "returning", "with_for_update"}


def short(node: ast.AST, limit: int = 60) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first))
                found.add(id(first.value))
    return found


def _enclosing(tree: ast.AST) -> dict[int, str]:
    """The name of the function or class each node sits in ("module" at the top)."""
    where: dict[int, str] = {}

    def visit(node: ast.AST, name: str) -> None:
        where[id(node)] = name
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else name
            visit(child, inner)

    visit(tree, "module")
    return where


# One mutation: given the node at its walk index in a fresh tree (and the parent map), change the tree.
Apply = Callable[[ast.AST, dict[int, tuple[ast.AST, str]]], None]


def _sites(tree: ast.Module) -> Iterator[tuple[int, str, Apply]]:
    """(walk index, label, how to apply) for every mutation this tree offers."""
    docstrings = _docstrings(tree)
    statuses = _status_constants(tree)
    contexts = _contexts(tree)
    for index, node in enumerate(ast.walk(tree)):
        if isinstance(node, ast.stmt) and id(node) not in docstrings and not isinstance(
                node, (ast.Import, ast.ImportFrom, ast.Pass, ast.Global, ast.Nonlocal)):
            yield index, _deletion_label(node), _delete
        if isinstance(node, (ast.With, ast.AsyncWith)) and len(node.items) > 1:
            for k, item in enumerate(node.items):
                kind = "commit removed" if isinstance(item.context_expr, ast.Name) else "drop with-item"
                yield index, f"{kind}: with … {short(item.context_expr)}", _drop_item(k)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "begin" and not node.args:
                yield index, f"commit removed: {short(node)} -> connect()", _rename_attr("connect")
            if node.func.attr in ORM_CLAUSES:
                yield index, f"SQL clause dropped: .{node.func.attr}({', '.join(short(a, 30) for a in node.args)})", _unwrap_call
        if isinstance(node, ast.Call):
            for k, keyword in enumerate(node.keywords):
                if keyword.arg is not None:
                    yield index, f"argument dropped: {short(node.func, 30)}(… {keyword.arg}={short(keyword.value, 30)})", _drop_keyword(k)
        if isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                if type(op) in FLIP:
                    yield index, f"comparison flipped: {short(node)}", _flip(k)
        if isinstance(node, ast.BoolOp):
            yield index, f"and/or swapped: {short(node)}", _swap_boolop
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield index, f"not dropped: {short(node)}", _drop_not
        if isinstance(node, ast.Attribute) and node.attr.startswith("HTTP_"):
            code = int(node.attr.split("_")[1])
            if code in STATUS:
                label = f"status changed: {contexts.get(id(node), '')}{node.attr} -> {HTTP_NAMES[STATUS[code]]}"
                yield index, label, _rename_attr(HTTP_NAMES[STATUS[code]])
        if isinstance(node, ast.Constant) and id(node) not in docstrings:
            yield from _constant_sites(index, node, id(node) in statuses, contexts.get(id(node), ""))


def _status_constants(tree: ast.AST) -> set[int]:
    """Integers that are status codes: a status_code= value, or the first argument of an exception or response."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "status_code":
            found.add(id(node.value))
        if isinstance(node, ast.Call) and node.args and short(node.func).endswith(("Exception", "Response")):
            found.add(id(node.args[0]))
    return found


def _contexts(tree: ast.AST) -> dict[int, str]:
    """What names a constant: the keyword it is passed as, or its key in a dict."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for value in node.comparators:
                found[id(value)] = f"{short(node.left, 30)} … "
        if isinstance(node, ast.Call):
            for value in node.args:
                found[id(value)] = f"{short(node.func, 30)}("
            for keyword in node.keywords:
                if keyword.arg:
                    found[id(keyword.value)] = f"{short(node.func, 30)}(… {keyword.arg}="
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if key is not None:
                    found[id(value)] = f"{short(key, 30)}: "
    return found


def _constant_sites(index: int, node: ast.Constant, status: bool, context: str) -> Iterator[tuple[int, str, Apply]]:
    value = node.value
    if isinstance(value, bool):
        yield index, f"constant changed: {context}{value} -> {not value}", _set_constant(not value)
    elif isinstance(value, int) and status and value in STATUS:
        yield index, f"status changed: {context}{value} -> {STATUS[value]}", _set_constant(STATUS[value])
    elif isinstance(value, (int, float)):
        yield index, f"constant changed: {context}{value!r} -> {value + 1!r}", _set_constant(value + 1)
    elif isinstance(value, str) and SQL_WORDS.match(value):
        for pattern in SQL_CLAUSES:
            match = re.search(pattern, value, re.IGNORECASE)
            if match:
                dropped = value[: match.start()] + value[match.end():]
                yield index, f"SQL clause dropped: {match.group().strip()!r} from {value[:40]!r}", _set_constant(dropped)
    elif isinstance(value, str) and value:
        changed = value + "x"
        yield index, f"constant changed: {context}{value[:40]!r} -> {changed[:41]!r}", _set_constant(changed)


def _deletion_label(node: ast.stmt) -> str:
    call = node.value if isinstance(node, ast.Expr) else None
    if isinstance(call, ast.Await):
        call = call.value
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "commit":
        return f"commit removed: {short(node)}"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return f"statement deleted: def {node.name}"
    head = short(node).split("\n")[0]
    return f"statement deleted: {head}"


def _delete(node: ast.AST, parents: dict[int, tuple[ast.AST, str]]) -> None:
    parent, field = parents[id(node)]
    body: list[ast.stmt] = getattr(parent, field)
    body.remove(node)  # type: ignore[arg-type]
    if not body:
        body.append(ast.Pass())


def _drop_item(k: int) -> Apply:
    def apply(node: ast.AST, parents: dict[int, tuple[ast.AST, str]]) -> None:
        del node.items[k]  # type: ignore[attr-defined]
    return apply


def _rename_attr(attr: str) -> Apply:
    def apply(node: ast.AST, parents: dict[int, tuple[ast.AST, str]]) -> None:
        target = node.func if isinstance(node, ast.Call) else node
        target.attr = attr  # type: ignore[union-attr]
    return apply


def _unwrap_call(node: ast.AST, parents: dict[int, tuple[ast.AST, str]]) -> None:
    _replace(node, node.func.value, parents)  # type: ignore[attr-defined]


def _drop_keyword(k: int) -> Apply:
    def apply(node: ast.AST, parents: dict[int, tuple[ast.AST, str]]) -> None:
        del node.keywords[k]  # type: ignore[attr-defined]
    return apply


def _flip(k: int) -> Apply:
    def apply(node: ast.AST, parents: dict[int, tuple[ast.AST, str]]) -> None:
        node.ops[k] = FLIP[type(node.ops[k])]()  # type: ignore[attr-defined]
    return apply


def _swap_boolop(node: ast.AST, parents: dict[int, tuple[ast.AST, str]]) -> None:
    node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()  # type: ignore[attr-defined]


def _drop_not(node: ast.AST, parents: dict[int, tuple[ast.AST, str]]) -> None:
    _replace(node, node.operand, parents)  # type: ignore[attr-defined]


def _set_constant(value: object) -> Apply:
    def apply(node: ast.AST, parents: dict[int, tuple[ast.AST, str]]) -> None:
        node.value = value  # type: ignore[attr-defined]
    return apply


def _replace(old: ast.AST, new: ast.AST, parents: dict[int, tuple[ast.AST, str]]) -> None:
    parent, field = parents[id(old)]
    current = getattr(parent, field)
    if isinstance(current, list):
        current[current.index(old)] = new
    else:
        setattr(parent, field, new)


def _parents(tree: ast.AST) -> dict[int, tuple[ast.AST, str]]:
    parents = {}
    for node in ast.walk(tree):
        for field, value in ast.iter_fields(node):
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    parents[id(child)] = (node, field)
    return parents


def mutants_of_file(path: Path) -> Iterator[Mutant]:
    text = path.read_text(encoding="utf-8")
    original = ast.unparse(ast.parse(text))
    tree = ast.parse(text)
    where = _enclosing(tree)
    nodes = list(ast.walk(tree))
    seen: dict[str, int] = {}
    for index, label, apply in _sites(tree):
        fresh = ast.parse(text)
        target = list(ast.walk(fresh))[index]
        apply(target, _parents(fresh))
        source = ast.unparse(ast.fix_missing_locations(fresh))
        if source == original:
            continue
        name = f"{path.name} {where[id(nodes[index])]}: {label}"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name += f" #{seen[name]}"
        yield Mutant(path.name, name, source)


def mutants_of(folder: Path) -> list[Mutant]:
    return [m for path in sorted(folder.glob("*.py")) for m in mutants_of_file(path)]
