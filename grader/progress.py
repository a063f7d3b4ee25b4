"""Progress kept in the workspace's SQLite file: the last result of each step and hints shown."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader.workspace import state_db

RESULTS_TABLE = """
CREATE TABLE IF NOT EXISTS step_results (
    step INTEGER PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'error', 'skipped')),
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    checked_at REAL NOT NULL,
    ever_passed INTEGER NOT NULL DEFAULT 0
);
"""
SCHEMA = RESULTS_TABLE + """
CREATE TABLE IF NOT EXISTS hints_shown (
    step INTEGER PRIMARY KEY,
    shown INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class StepResult:
    step: int
    status: str
    score: float
    max_score: float
    checked_at: float
    ever_passed: bool


class ProgressError(Exception):
    """The progress file cannot be read or written: one line that says how to start over."""


@contextmanager
def _connect(workspace: Path) -> Iterator[sqlite3.Connection]:
    """A connection to the progress file, committed on success; a damaged file is one clear error."""
    path = state_db(workspace)
    try:
        path.parent.mkdir(exist_ok=True)
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.executescript(SCHEMA)
            _allow_skipped(conn)
            yield conn
    except (sqlite3.DatabaseError, OSError) as exc:
        raise ProgressError(
            f"The progress file {path} cannot be used ({exc}). Delete it to start your progress "
            "over; your code is not in it."
        ) from None


def _allow_skipped(conn: sqlite3.Connection) -> None:
    """A progress file made before "skipped" existed gets the wider CHECK, its rows kept."""
    (made,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'step_results'").fetchone()
    if "'skipped'" in made:
        return
    conn.execute("ALTER TABLE step_results RENAME TO step_results_before")
    conn.executescript(RESULTS_TABLE)
    conn.execute("INSERT INTO step_results SELECT * FROM step_results_before")
    conn.execute("DROP TABLE step_results_before")


def record_result(workspace: Path, step: int, status: str, score: float, max_score: float) -> None:
    """Save a step's result; a skipped step is saved only when the step has no result yet."""
    with _connect(workspace) as conn:
        if status == "skipped":
            conn.execute(
                "INSERT OR IGNORE INTO step_results (step, status, score, max_score, checked_at) "
                "VALUES (?, ?, 0, ?, ?)", (step, status, max_score, time.time()),
            )
            return
        conn.execute(
            """INSERT INTO step_results (step, status, score, max_score, checked_at, ever_passed)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT(step) DO UPDATE SET status = excluded.status, score = excluded.score,
                   max_score = excluded.max_score, checked_at = excluded.checked_at,
                   ever_passed = MAX(ever_passed, excluded.ever_passed)""",
            (step, status, score, max_score, time.time(), int(status == "pass")),
        )


def load_progress(workspace: Path) -> dict[int, StepResult]:
    """The last recorded result of every step that was checked, by step number."""
    if not state_db(workspace).exists():
        return {}
    with _connect(workspace) as conn:
        rows = conn.execute(
            "SELECT step, status, score, max_score, checked_at, ever_passed FROM step_results"
        ).fetchall()
    return {
        step: StepResult(step, status, score, max_score, checked_at, bool(ever_passed))
        for step, status, score, max_score, checked_at, ever_passed in rows
    }


def next_hint(workspace: Path, step: int, available: int) -> int:
    """Count one more hint shown for `step` and return its 1-based number (capped)."""
    with _connect(workspace) as conn:
        row = conn.execute("SELECT shown FROM hints_shown WHERE step = ?", (step,)).fetchone()
        shown = min((row[0] if row else 0) + 1, available)
        conn.execute(
            "INSERT INTO hints_shown (step, shown) VALUES (?, ?) "
            "ON CONFLICT(step) DO UPDATE SET shown = excluded.shown",
            (step, shown),
        )
    return shown


def hints_seen(workspace: Path, step: int) -> int:
    """How many of `step`'s hints have been shown (0 if none)."""
    if not state_db(workspace).exists():
        return 0
    with _connect(workspace) as conn:
        row = conn.execute("SELECT shown FROM hints_shown WHERE step = ?", (step,)).fetchone()
    return row[0] if row else 0


def forget_step(workspace: Path, step: int) -> None:
    """Clear a step's result and hints (used by reset)."""
    with _connect(workspace) as conn:
        conn.execute("DELETE FROM step_results WHERE step = ?", (step,))
        conn.execute("DELETE FROM hints_shown WHERE step = ?", (step,))
