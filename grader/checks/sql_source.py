"""Reading a student's sqlite3 code for how values reach the SQL: `?` placeholders, or pasted in.

Each `execute()` call's SQL is followed back through simple assignments (`sql = ...`) in the same
function, then at module level, in a class body (`self.INSERT`), and into a module of the folder
it is imported from (`from queries import INSERT`); a string built from values anywhere on that
way is reported. SQL handed to a helper (`def run(sql, params=()): ... conn.execute(sql, params)`)
is read where the helper is called.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from grader.source import parse_source, python_files

RUNS_SQL = ("execute", "executemany", "executescript")
INSERT = re.compile(r"\binsert\b", re.IGNORECASE)
_HOPS = 5  # how many `a = b` links are followed back before giving up

Names = dict[str, list[ast.expr]]
Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class SqlCall:
    """One execute() call: where it is, the SQL it runs (when known), and whether values are passed."""

    where: str
    sql: str | None  # None when some of it is built from values at run time
    built_at: str  # where a string built from values came from, "" if none
    has_parameters: bool


@dataclass
class _Module:
    """One .py file of the folder: what its module level and its class bodies assign, what it
    imports, and each call with the names of the function it is in."""

    file: str
    names: Names
    class_names: Names = field(default_factory=dict)
    imported: dict[str, tuple[str, str]] = field(default_factory=dict)  # as -> (module, name or "")
    calls: list[tuple[ast.Call, Function | None, Names]] = field(default_factory=list)


@dataclass(frozen=True)
class _Helper:
    """A function that runs the SQL it is given: the parameters that carry the SQL and the values."""

    name: str
    params: list[str]  # in order, a method's `self` or `cls` left out
    sql: str
    values: str | None  # the parameter handed on as the values, None when the values are its own
    has_values: bool


def sql_calls(folder: Path) -> list[SqlCall]:
    """Every execute(), executemany() and executescript() call in the folder's .py files (its
    packages' included), and every call of a helper function that hands the SQL it is given on
    to one."""
    modules = {}
    for path in python_files(folder):
        tree = parse_source(path)
        file = path.relative_to(folder)
        if tree is not None:
            modules[".".join(file.with_suffix("").parts)] = _read_module(file.as_posix(), tree)
    found, helpers = [], []
    for module in modules.values():
        for call, function, names in module.calls:
            if _runs_sql(call):
                found.append(_read_call(call, call.args[0], [names, module.names], module, modules,
                                        _has_values(call)))
                helper = _as_helper(function, call, names) if function else None
                helpers += [helper] if helper else []
    for module in modules.values():
        for call, _, names in module.calls:
            for helper in (h for h in helpers if _calls(call, h.name, module, modules)):
                sql = _argument(call, helper, helper.sql)
                if sql is not None:
                    given = helper.values is None or _argument(call, helper, helper.values) is not None
                    found.append(_read_call(call, sql, [names, module.names], module, modules,
                                            helper.has_values and given))
    return sorted(found, key=lambda c: (c.where.split(" line ")[0], int(c.where.split()[-1])))


PLACEHOLDER = re.compile(r"\?|(?<![\w:])[:@$][A-Za-z_]\w*")  # ?, ?1, or :name, @name, $name


def inserts_without_placeholders(calls: list[SqlCall]) -> list[SqlCall]:
    """INSERTs that do not take their values through placeholders (`?`, or sqlite3's named
    `:text` with a dict) and parameters."""
    return [
        c for c in calls
        if c.sql is not None and INSERT.search(c.sql) and not (PLACEHOLDER.search(c.sql) and c.has_parameters)
    ]


def _read_module(file: str, tree: ast.Module) -> _Module:
    module = _Module(file, _assignments(tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for name, values in _assignments(node.body).items():
                module.class_names.setdefault(name, []).extend(values)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                module.imported[alias.asname or alias.name] = (node.module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                module.imported[alias.asname or alias.name] = (alias.name, "")
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    seen: set[int] = set()
    owners: list[tuple[ast.AST, Function | None, Names]] = [
        (f, f, _assignments(ast.walk(f))) for f in reversed(functions)  # innermost first
    ]
    for scope, function, names in owners + [(tree, None, module.names)]:
        for node in ast.walk(scope):
            if isinstance(node, ast.Call) and id(node) not in seen:
                seen.add(id(node))
                module.calls.append((node, function, names))
    return module


def _runs_sql(node: ast.Call) -> bool:
    return isinstance(node.func, ast.Attribute) and node.func.attr in RUNS_SQL and bool(node.args)


def _has_values(call: ast.Call) -> bool:
    return len(call.args) > 1 or any(k.arg == "parameters" for k in call.keywords)


def _as_helper(function: Function, call: ast.Call, names: Names) -> _Helper | None:
    """The function as a helper when the SQL it runs is one of its parameters, left unchanged."""
    params = [a.arg for a in function.args.posonlyargs + function.args.args]
    if params and params[0] in ("self", "cls"):
        params = params[1:]
    sql = _untrimmed(call.args[0])
    if not isinstance(sql, ast.Name) or sql.id not in params or sql.id in names:
        return None
    values = call.args[1] if len(call.args) > 1 else None
    handed_on = isinstance(values, ast.Name) and values.id in params and values.id not in names
    return _Helper(function.name, params, sql.id, values.id if handed_on else None,  # type: ignore[union-attr]
                   _has_values(call))


def _calls(call: ast.Call, name: str, module: _Module, modules: dict[str, _Module]) -> bool:
    """Whether the call is one of the helper's: by its name, as a method, or from a module of the
    folder (`subprocess.run(...)` is not a helper `run`)."""
    func = call.func
    if isinstance(func, ast.Name) and func.id == name:
        source = module.imported.get(name, ("", ""))[0]  # `from subprocess import run`: not it
    elif isinstance(func, ast.Attribute) and func.attr == name:
        source = module.imported.get(func.value.id, ("", ""))[0] if isinstance(func.value, ast.Name) else ""
    else:
        return False
    return not source or source in modules


def _argument(call: ast.Call, helper: _Helper, param: str) -> ast.expr | None:
    """The argument a call of the helper gives for one of its parameters, None if it gives none."""
    index = helper.params.index(param)
    if index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == param), None)


def _read_call(call: ast.Call, sql_node: ast.expr, scopes: list[Names], module: _Module,
               modules: dict[str, _Module], has_parameters: bool) -> SqlCall:
    where = f"{module.file} line {call.lineno}"
    sql, built = _follow(sql_node, scopes, module, modules, _HOPS)
    return SqlCall(where, None if built else sql, f"{built[0]} line {built[1]}" if built else "",
                   has_parameters)


def _follow(
    node: ast.expr, scopes: list[Names], module: _Module, modules: dict[str, _Module], hops: int
) -> tuple[str | None, tuple[str, int] | None]:
    """(the SQL text if it is a constant, (file, line) of a string built from values or None)."""
    node = _untrimmed(node)
    values, where = _values_of(node, scopes, module, modules)
    if values is not None and hops > 0:
        texts = []
        for value in values:
            text, built = _follow(value, [where.names], where, modules, hops - 1)
            if built:
                return None, built
            texts.append(text)
        return (texts[0] if len(texts) == 1 else None), None
    if _is_built(node):
        return None, (module.file, node.lineno)
    return _constant(node), None


def _values_of(node: ast.expr, scopes: list[Names], module: _Module,
               modules: dict[str, _Module]) -> tuple[list[ast.expr] | None, _Module]:
    """What a name stands for: its assignments in scope, in a class body, or in the module of the
    folder it comes from; None when it is not a name, or not one assigned where it can be seen."""
    if isinstance(node, ast.Name):
        for names in scopes:
            if node.id in names:
                return names[node.id], module
        source, name = module.imported.get(node.id, ("", ""))
        if name and source in modules and name in modules[source].names:
            return modules[source].names[name], modules[source]
    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        source, name = module.imported.get(node.value.id, ("", ""))
        if not name and source in modules and node.attr in modules[source].names:
            return modules[source].names[node.attr], modules[source]
        if node.attr in module.class_names:
            return module.class_names[node.attr], module
    return None, module


def _assignments(nodes: Iterable[ast.AST]) -> Names:
    """name -> every value given to it by `name = ...`, `name: T = ...` or `name += ...`."""
    found: Names = {}
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
    inner = _untrimmed(node)
    return None if inner is node else _constant(inner)


def _untrimmed(node: ast.expr) -> ast.expr:
    """The text inside `dedent(...)`, `cleandoc(...)` or `(...).strip()`: the same SQL, less white
    space; the node itself when it is none of these."""
    while isinstance(node, ast.Call) and not node.keywords:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in ("strip", "lstrip", "rstrip") and isinstance(func, ast.Attribute) and not node.args:
            node = func.value
        elif name in ("dedent", "cleandoc") and len(node.args) == 1:
            node = node.args[0]
        else:
            break
    return node
