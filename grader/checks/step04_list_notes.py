"""Step 4: GET /notes answers every note, as a JSON object of id -> text."""

from grader.checks.notes_api import add_note, expect_listing, list_notes, random_text
from grader.plugin import check
from grader.server import StudentServer


@check(points=2, task=1)
def test_no_notes_at_first(server: StudentServer) -> None:
    """GET /notes on a new server answers {}"""
    expect_listing(list_notes(server), {}, "On a server that was just started")


@check(points=4, task=1)
def test_lists_every_note(running_server: StudentServer) -> None:
    """GET /notes answers every added note under its id"""
    added: dict[int, str] = {}
    for _ in range(3):
        text = random_text()
        added[add_note(running_server, text)] = text
    # notes nobody added are the first check's verdict
    expect_listing(list_notes(running_server), added, "After adding three notes", exact=False)
