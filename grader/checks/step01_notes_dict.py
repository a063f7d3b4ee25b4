"""Step 1: main.py holds the notes in a dict, `notes_db`, and counts ids with `next_id`.

Judged from main.py's syntax tree, read here in the grader (grader.checks.bindings). A child
process imports main.py only to show that it imports, or the error that stopped it: nothing
else it says is believed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.checks.bindings import Unreadable, Use, parse, uses
from grader.engine.limits import Limits
from grader.engine.process import ChildReport
from grader.engine.scratch import Scratch
from grader.feedback import CheckFailure, startup_failure
from grader.plugin import Target, check
from grader.server import StudentServer


@dataclass(frozen=True)
class MainPy:
    """main.py as read by the grader before any of it ran."""

    tree: ast.Module | None
    source: str = ""
    unreadable: Unreadable | None = None

    def uses(self, name: str) -> list[Use]:
        if self.tree is None:
            assert self.unreadable is not None
            raise CheckFailure(f"main.py could not be read as Python: {self.unreadable.message}.")
        return uses(self.tree, self.source, name)


@dataclass(frozen=True)
class Started:
    """The student's server as started once for the module, and how the start went."""

    server: StudentServer
    report: ChildReport
    output: str

    @property
    def imported(self) -> bool:
        """main.py imported: the server started, or failed only after the import."""
        return self.report.ok or self.report.error == "NoApp" or self.report.stage == "startup"

    def require_import(self) -> None:
        if not self.imported:
            raise startup_failure(self.report, self.output, self.server.startup_allowed)


@pytest.fixture(scope="module")
def main_py(target: Target) -> MainPy:
    """The step folder's main.py, read from the folder given, where no student code runs."""
    try:
        tree, source = parse(Path(target.folder) / "main.py")
    except Unreadable as exc:
        return MainPy(None, unreadable=exc)
    return MainPy(tree, source)


@pytest.fixture(scope="module")
def started(
    main_py: MainPy, scratch: Scratch, limits: Limits, workdir: Path
) -> Iterator[Started]:
    """`main:app` served from a scratch copy (main.py was read first)."""
    server = StudentServer(scratch.folder, limits, workdir)
    report, output = server.try_start()
    yield Started(server, report, output)
    server.crash()


def _only_binding(main: MainPy, name: str, missing: CheckFailure) -> ast.expr:
    """The value `name` is bound to, once, at the top level; a failure for anything else."""
    found = main.uses(name)
    if not found:
        raise missing
    first, later = found[0], found[1:]
    if first.value is None:
        raise CheckFailure(
            f"`{name}` is first made at main.py line {first.line} by `{first.text}`; it should "
            "be made by a plain assignment at the top level of main.py.",
            f"Write `{name} = ...` on a line of its own, at the left margin: not inside an if, a "
            "loop, a function or a class.",
        )
    if later:
        raise CheckFailure(
            f"`{name}` is changed again at main.py line {later[0].line} (`{later[0].text}`), "
            "after it was made: once main.py has run, it must still hold its starting value.",
            f"Make `{name}` once, at the top of main.py. The routes of step 3 will change it "
            "while the server runs, inside their functions.",
        )
    return first.value


KINDS = {ast.List: "a list", ast.ListComp: "a list", ast.Set: "a set", ast.SetComp: "a set",
         ast.Tuple: "a tuple", ast.GeneratorExp: "a generator"}


def require_notes_db(main: MainPy) -> None:
    value = _only_binding(main, "notes_db", CheckFailure(
        "main.py has no module-level name `notes_db`.",
        "Write `notes_db = {}` at the top level of main.py, not inside a function, and "
        "check the spelling: notes, underscore, db.",
    ))
    shown = ast.get_source_segment(main.source, value) or "..."
    is_call = isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "dict"
    if is_call and main.uses("dict"):
        raise CheckFailure(
            f"`notes_db = {shown[:60]}` calls a `dict` that main.py line "
            f"{main.uses('dict')[0].line} redefines, not Python's dict.",
            "Leave the name `dict` alone and write `notes_db = {}`.",
        )
    empty = value.keys == [] if isinstance(value, ast.Dict) else None
    if is_call:
        empty = not value.args and not value.keywords  # type: ignore[attr-defined]
    if empty:
        return
    if empty is False or isinstance(value, ast.DictComp):
        counted = f"{len(value.keys)} entries" if isinstance(value, ast.Dict) else "entries"
        raise CheckFailure(
            f"`notes_db` starts with {counted} (`{shown[:60]}`); it must start empty.",
            "No notes exist before anyone has added one: start with `notes_db = {}`.",
        )
    kind = KINDS.get(type(value))
    if kind is None and isinstance(value, ast.Constant):
        kind = f"a {type(value.value).__name__}"
    raise CheckFailure(
        f"`notes_db` is {kind + ' ' if kind else 'made by '}(`{shown[:60]}`), but it should be "
        "an empty dict (note id -> text).",
        "`{}` makes an empty dict; `[]` would make a list and `set()` a set.",
    )


def require_next_id(main: MainPy) -> None:
    value = _only_binding(main, "next_id", CheckFailure(
        "main.py has no module-level name `next_id`.",
        "Add `next_id = 1` at the top level of main.py: it is the id the next note will get.",
    ))
    shown = ast.get_source_segment(main.source, value) or "..."
    number = value.value if isinstance(value, ast.Constant) else None
    if type(number) is int and number == 1:
        return
    if type(number) is int:
        raise CheckFailure(
            f"`next_id` starts at {number}; the first note's id should be 1.",
            "Set `next_id = 1`.",
        )
    if isinstance(number, str):
        raise CheckFailure(
            f"`next_id` is the text {shown[:40]} (a str), but it should be the whole number 1.",
            "Write `next_id = 1` without quotes: \"1\" would be text, not a number.",
        )
    raise CheckFailure(
        f"`next_id` is `{shown[:60]}`, but it should be the whole number 1.",
        "Write the number itself: `next_id = 1`.",
    )


@check(points=2, task=1)
def test_notes_db_is_empty_dict(main_py: MainPy, started: Started) -> None:
    """notes_db is an empty dict"""
    started.require_import()
    require_notes_db(main_py)


@check(points=2, task=2)
def test_next_id_starts_at_one(main_py: MainPy, started: Started) -> None:
    """next_id starts at 1"""
    started.require_import()
    require_next_id(main_py)
