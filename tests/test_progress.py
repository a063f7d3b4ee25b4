"""The progress file: a skip saves nothing over an earlier result, and old files take skips too."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from grader.progress import load_progress, record_result
from grader.workspace import state_db

BEFORE_SKIPS = """
CREATE TABLE step_results (
    step INTEGER PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'error')),
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    checked_at REAL NOT NULL,
    ever_passed INTEGER NOT NULL DEFAULT 0
);
INSERT INTO step_results VALUES (7, 'pass', 16, 16, 1700000000, 1);
"""


def test_a_progress_file_made_before_skips_keeps_its_rows_and_takes_a_skip(workspace: Path) -> None:
    state_db(workspace).parent.mkdir(exist_ok=True)
    with sqlite3.connect(state_db(workspace)) as conn:
        conn.executescript(BEFORE_SKIPS)
    record_result(workspace, 10, "skipped", 0, 16)
    record_result(workspace, 7, "skipped", 0, 16)
    progress = load_progress(workspace)
    assert (progress[7].status, progress[7].score, progress[7].checked_at) == ("pass", 16, 1700000000)
    assert progress[7].ever_passed and progress[10].status == "skipped" and not progress[10].ever_passed


def test_a_pass_after_a_skip_replaces_it(workspace: Path) -> None:
    record_result(workspace, 10, "skipped", 0, 16)
    record_result(workspace, 10, "pass", 16, 16)
    assert load_progress(workspace)[10].status == "pass"
