"""Variant questions: parameters drawn when an attempt starts, and the question rendered from them.

A question's `[questions.params]` table names its parameters in order; each is a list of
choices (numbers or texts) or an inclusive whole-number range `{ from = 3, to = "count" }`
whose bounds may be expressions over the parameters before it. A `where` entry, if any, is an
expression every drawn set must satisfy. Text fields then say `{{ count + 1 }}`: a small
expression (without braces) over the parameters, evaluated by `evaluate` (names, numbers, strings, arithmetic,
comparisons and a few named functions; nothing else of Python).
"""

from __future__ import annotations

import ast
import json
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Value = int | str
Values = dict[str, Value]
PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")  # no braces inside: `{{{id}}: 1}` is `{` + {{id}}
WHERE = "where"
MAX_VARIANTS = 5000  # a question's whole variant space is enumerated by the lint
_DRAW_TRIES = 200


class VariantError(ValueError):
    """A parameter table or a placeholder that cannot be drawn or evaluated."""


def _sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "repr": repr,  # a Python literal: repr('buy milk') is 'buy milk' in quotes
    "sql": _sql,  # an SQL string literal, quotes doubled
    "json": lambda value: json.dumps(value, ensure_ascii=False),
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "str": str,
}
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}


def evaluate(expression: str, values: Mapping[str, Value]) -> Any:
    """The value of a placeholder or bound expression; VariantError for anything else."""
    try:
        return _eval(_parse(expression.strip()), values)
    except VariantError:
        raise
    except SyntaxError:
        raise VariantError(f"{expression.strip()!r} is not an expression") from None
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise VariantError(f"{expression.strip()!r} fails: {exc}") from None


@lru_cache(maxsize=4096)
def _parse(expression: str) -> ast.expr:
    return ast.parse(expression, mode="eval").body


def _eval(node: ast.AST, values: Mapping[str, Value]) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, str)):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise VariantError(f"no parameter {node.id!r}")
        return values[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_eval(node.left, values), _eval(node.right, values))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, values)
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        left = _eval(node.left, values)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, values)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BoolOp):
        results = (_eval(value, values) for value in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in FUNCTIONS
        and not node.keywords
    ):
        return FUNCTIONS[node.func.id](*(_eval(arg, values) for arg in node.args))
    raise VariantError(f"{ast.unparse(node)!r} is not allowed in a placeholder")


@dataclass(frozen=True)
class Param:
    """One parameter: `choices`, or the whole numbers from `low` to `high` (expressions allowed)."""

    name: str
    choices: tuple[Value, ...] = ()
    low: Value | None = None
    high: Value | None = None

    def candidates(self, values: Mapping[str, Value]) -> Sequence[Value]:
        """The values this parameter may take given the ones before it (a range stays lazy)."""
        if self.choices:
            return self.choices
        low, high = (_bound(b, values, self.name) for b in (self.low, self.high))
        return range(low, high + 1)


def _bound(bound: Value | None, values: Mapping[str, Value], name: str) -> int:
    value = evaluate(bound, values) if isinstance(bound, str) else bound
    if not isinstance(value, int) or isinstance(value, bool):
        raise VariantError(f"parameter {name!r}: bound {bound!r} is not a whole number")
    return value


def parse_params(raw: Any, where: str) -> tuple[tuple[Param, ...], str | None]:
    """The `[questions.params]` table as parameters and its `where` rule."""
    if not isinstance(raw, dict) or not raw:
        raise VariantError(f"{where}: 'params' must be a table of one or more parameters")
    rule = raw.get(WHERE)
    if rule is not None and not isinstance(rule, str):
        raise VariantError(f"{where}: params.where must be an expression in a string")
    params = []
    for name, spec in raw.items():
        if name == WHERE:
            continue
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise VariantError(f"{where}: parameter name {name!r} must be a lowercase identifier")
        if isinstance(spec, list) and spec and all(_is_value(v) for v in spec):
            params.append(Param(name, choices=tuple(spec)))
        elif (
            isinstance(spec, dict)
            and set(spec) == {"from", "to"}
            and all(_is_value(v) for v in spec.values())
        ):
            params.append(Param(name, low=spec["from"], high=spec["to"]))
        else:
            raise VariantError(
                f"{where}: parameter {name!r} must be a list of numbers or texts, "
                "or { from = ..., to = ... }"
            )
    return tuple(params), rule


def _is_value(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _extend(params: tuple[Param, ...], values: Values) -> Iterator[Values]:
    if len(values) == len(params):
        yield dict(values)
        return
    param = params[len(values)]
    for candidate in param.candidates(values):
        yield from _extend(params, {**values, param.name: candidate})


def all_values(
    params: tuple[Param, ...], rule: str | None, limit: int = MAX_VARIANTS
) -> list[Values]:
    """Every parameter set, in order; VariantError past `limit` sets."""
    found = []
    for values in _extend(params, {}):
        if rule is None or evaluate(rule, values):
            found.append(values)
            if len(found) > limit:
                raise VariantError(f"more than {limit} variants; narrow the parameters")
    return found


def draw(params: tuple[Param, ...], rule: str | None, rng: random.Random) -> Values:
    """One parameter set, each parameter uniform given the ones before it, redrawn until `where`
    holds."""
    for _ in range(_DRAW_TRIES):
        values: Values = {}
        for param in params:
            candidates = param.candidates(values)
            if not candidates:
                break
            values[param.name] = rng.choice(candidates)
        else:
            if rule is None or evaluate(rule, values):
                return values
    raise VariantError(f"no parameter set satisfying {rule!r} in {_DRAW_TRIES} draws")


def first(params: tuple[Param, ...], rule: str | None) -> Values:
    """The first parameter set in order: what a question shows when none was stored."""
    for values in _extend(params, {}):
        if rule is None or evaluate(rule, values):
            return values
    raise VariantError(f"no parameter set satisfies {rule!r}")


def sample(params: tuple[Param, ...], rule: str | None, count: int, seed: str) -> list[Values]:
    """`count` different parameter sets (all of them if there are fewer), the same for the same
    seed: what an export writes."""
    every = all_values(params, rule)
    return random.Random(seed).sample(every, min(count, len(every)))


def render_text(text: str, values: Mapping[str, Value]) -> str:
    def value(match: re.Match[str]) -> str:
        try:
            return str(evaluate(match.group(1), values))
        except VariantError as exc:
            raise VariantError(f"{{{{{match.group(1)}}}}}: {exc}") from None

    return PLACEHOLDER.sub(value, text)


def placeholders(text: str) -> list[str]:
    return [m.group(1).strip() for m in PLACEHOLDER.finditer(text)]


def outline(text: str) -> str:
    """A template for people: each placeholder as ⟨expression⟩."""
    return PLACEHOLDER.sub(lambda m: f"⟨{m.group(1).strip()}⟩", text)


def dumps(values: Mapping[str, Value] | None) -> str | None:
    """Values as stored with an attempt's question (None for a question without parameters)."""
    return None if values is None else json.dumps(values, sort_keys=True, ensure_ascii=False)


def loads(text: str | None) -> Values | None:
    if text is None:
        return None
    values = json.loads(text)
    if not isinstance(values, dict) or not all(_is_value(v) for v in values.values()):
        raise VariantError(f"stored parameters {text!r} are not a table of numbers and texts")
    return values
