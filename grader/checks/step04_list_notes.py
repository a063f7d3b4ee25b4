"""Step 4: GET /notes answers every note, as a JSON object of id -> text."""

from grader.checks.notes_api import add_note, expect_listing, list_notes, random_text
from grader.feedback import CheckFailure
from grader.plugin import check
from grader.server import StudentServer


@check(points=2, task=1)
def test_no_notes_at_first(server: StudentServer) -> None:
    """GET /notes on a new server answers {}"""
    expect_listing(list_notes(server), {}, "On a server that was just started")


@check(points=4, task=1)
def test_lists_every_note(running_server: StudentServer) -> None:
    """GET /notes answers every added note under its id"""
    empty = list_notes(running_server) == {}
    ids: list[int] = []
    added: dict[int, str] = {}
    for _ in range(3):
        text = random_text()
        ids.append(add_note(running_server, text))
        added[ids[-1]] = text
    expected = [1, 2, 3] if empty else [ids[0], ids[0] + 1, ids[0] + 2]
    if ids != expected:  # the step-3 contract, which this check's notes rely on
        raise CheckFailure(
            f"Three notes added {'to a server with no notes ' if empty else ''}got the ids {ids}; "
            f"they should get {expected}, each the id after the one before.",
            "Keep your step-3 route as it was: store the note under next_id, then `next_id += 1`.",
        )
    # notes nobody added are the first check's verdict
    expect_listing(list_notes(running_server), added, "After adding three notes", exact=False)
