"""Step 3: POST /add_note stores a note under next_id and answers with its id."""

from grader.checks.notes_api import add_note, random_text
from grader.feedback import CheckFailure
from grader.plugin import check
from grader.server import StudentServer


@check(points=3, task=1)
def test_first_note_gets_id_one(server: StudentServer) -> None:
    """POST /add_note with a JSON body answers {"id": 1} for the first note"""
    note_id = add_note(server, random_text())
    if note_id != 1:
        raise CheckFailure(
            f"The first note got id {note_id}; with next_id starting at 1 it should get 1.",
            "Store the note under the current next_id, and only then add 1 to next_id.",
        )


@check(points=3, task=2)
def test_ids_count_up(server: StudentServer) -> None:
    """each new note gets the next id: 1, 2, 3"""
    ids = [add_note(server, random_text()) for _ in range(3)]
    if ids == [1, 1, 1]:
        raise CheckFailure(
            "Three notes all got id 1: next_id never goes up, so each note overwrites the last.",
            "After storing the note, add one to the counter: `next_id += 1` (with `global next_id`).",
        )
    if ids != [1, 2, 3]:
        raise CheckFailure(
            f"Three notes got ids {ids}; they should get 1, 2 and 3.",
            "Use next_id as the new note's id, then increase it by exactly one.",
        )


@check(points=2, task=3)
def test_rejects_a_body_without_text(running_server: StudentServer) -> None:
    """a body with no text, or text that is not a string, is refused with 422"""
    for body in ({}, {"text": 42}, {"text": ["a", "b"]}, {"note": "wrong field"}):
        response = running_server.request("POST", "/add_note", json=body)
        if response.status_code != 422:
            raise CheckFailure(
                f"POST /add_note with the body {body} answered {response.status_code}; "
                "it should be refused with 422 Unprocessable Entity.",
                "Let FastAPI validate the body: take a Pydantic model with `text: str` as the "
                "parameter, instead of a plain dict or the raw Request.",
            )
