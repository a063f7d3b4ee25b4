"""Feedback names the cause a student can act on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from grader.feedback import locked_database, no_answer, status_failure


def test_a_write_lock_held_by_another_connection_is_found(tmp_path: Path) -> None:
    writer = sqlite3.connect(tmp_path / "notes.db", isolation_level=None)
    writer.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    assert locked_database(tmp_path) == ""
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO notes (text) VALUES ('held')")
    assert locked_database(tmp_path) == "notes.db"
    failure = no_answer("POST /notes", 2.0, None, "", tmp_path)
    assert "locked for writing" in failure.message and "close every session" in failure.hint
    writer.execute("COMMIT")
    assert locked_database(tmp_path) == ""
    assert "loop that does not end" in no_answer("POST /notes", 2.0, None, "", tmp_path).hint
    writer.close()




def test_a_route_declared_with_a_trailing_slash_is_named() -> None:
    request = httpx.Request("POST", "http://app/notes")
    moved = httpx.Response(307, headers={"location": "http://app/notes/"}, request=request)
    failure = status_failure(moved, "201", "POST /notes", "")
    assert "to /notes/" in failure.message and '@router.post("")' in failure.hint
    elsewhere = httpx.Response(307, headers={"location": "http://app/login"}, request=request)
    assert "trailing slash" not in status_failure(elsewhere, "201", "POST /notes", "").hint


ROUTE = "@router.post('/notes')\n{kind} create(body: NoteCreate, db: {session}):\n    return body\n"


def test_an_async_route_with_a_blocking_session_is_named_when_answers_do_not_come(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("x = 1\n\n" + ROUTE.format(kind="async def", session="Annotated[Session, Depends(get_db)]"))
    failure = no_answer("POST /notes", 2.0, None, "", tmp_path)
    assert "main.py line 4 is an `async def`" in failure.message and "plain `def`" in failure.hint
    for kind, session in (("def", "Session = Depends(get_db)"), ("async def", "AsyncSession = Depends(get_session)")):
        (tmp_path / "main.py").write_text(ROUTE.format(kind=kind, session=session))
        assert "async def" not in no_answer("POST /notes", 2.0, None, "", tmp_path).message
