"""Which quiz questions a workspace's student has answered correctly: read from the workspace's
state.db, where the terminal quiz and the web quiz served from that workspace keep answers."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from grader.workspace import state_db


def answered_right(workspace: Path) -> set[str]:
    """Ids of the questions answered correctly at least once (an empty set without quiz tables)."""
    path = state_db(workspace)
    if not path.is_file():
        return set()
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            rows = conn.execute("SELECT DISTINCT question_id FROM quiz_answers WHERE correct").fetchall()
    except sqlite3.DatabaseError:  # no quiz taken here yet (no table), or a damaged file
        return set()
    return {question_id for (question_id,) in rows}


__all__ = ["answered_right"]
