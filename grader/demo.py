"""`persistlab demo restart`: the step-4 and step-5 apps, side by side, through a kill -9."""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.checks.notes_api import add_note, list_notes
from grader.course import Course
from grader.engine.limits import Limits
from grader.engine.scratch import Scratch
from grader.feedback import CheckFailure
from grader.server import StudentServer

TEXTS = ("buy oat milk", "call the dentist", "water the basil")


def _story(folder: Path, workdir: Path) -> list[str]:
    """Add notes, list them, kill -9, start again, list: what each moment showed."""
    scratch = Scratch(folder)
    limits = Limits()
    first = StudentServer(scratch.folder, limits, workdir)
    second = StudentServer(scratch.folder, limits, workdir)
    try:
        first.start()
        ids = [add_note(first, text) for text in TEXTS]
        before = list_notes(first)
        first.crash()
        second.start()
        after = list_notes(second)
        second.crash()
        files = sorted(p.name for p in scratch.folder.iterdir() if p.suffix == ".db")
    except CheckFailure as failure:
        return [f"failed: {failure.message}"] * 4
    finally:  # Ctrl-C included: no server outlives the demo
        first.crash()
        second.crash()
        scratch.cleanup()
    return [
        f"ids {ids}",
        _brief(before),
        "killed; started again" + (f" (found {', '.join(files)})" if files else " (no file)"),
        _brief(after),
    ]


def _brief(listing: dict[str, str]) -> str:
    return "{}" if not listing else "\n".join(f"{k}: {v}" for k, v in listing.items())


def restart_demo(console: Console, course: Course) -> None:
    dict_step, db_step = course.step(4), course.step(5)
    with tempfile.TemporaryDirectory(prefix="persistlab-demo-") as tmp:
        console.print("Starting both reference apps as real servers...")
        left = _story(dict_step.solution_dir, Path(tmp))
        right = _story(db_step.solution_dir, Path(tmp))
    table = Table(title="The same three notes, through a kill -9", show_lines=True)
    table.add_column("moment", style="bold")
    table.add_column(f"step {dict_step.number}: a dict in memory")
    table.add_column(f"step {db_step.number}: a SQLite file, notes.db")
    moments = ("POST /add_note x3", "GET /notes", "kill -9 the server", "GET /notes again")
    for moment, a, b in zip(moments, left, right):
        table.add_row(moment, escape(a), escape(b))
    console.print(table)
    console.print(
        "The dict lived in the server process's memory. A killed process gives all of its "
        "memory back to the operating system, so the new process starts with an empty dict. "
        "The SQLite rows were written to notes.db and committed before each answer was sent, "
        "so the new process reads them from disk. Step 5 makes that swap."
    )
