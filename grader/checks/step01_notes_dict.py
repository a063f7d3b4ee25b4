"""Step 1: main.py holds the notes in a dict, `notes_db`, and counts ids with `next_id`."""

from typing import Any

from grader.feedback import CheckFailure
from grader.plugin import check

Facts = dict[str, dict[str, Any]]


def require_notes_db(facts: Facts) -> None:
    if "notes_db" not in facts:
        raise CheckFailure(
            "main.py has no module-level name `notes_db`.",
            "Write `notes_db = {}` at the top level of main.py, not inside a function, and "
            "check the spelling: notes, underscore, db.",
        )
    described = facts["notes_db"]
    if "dict_len" not in described:
        raise CheckFailure(
            f"`notes_db` is a {described['type']}, but it should be a dict (note id -> text).",
            "`{}` makes an empty dict; `[]` would make a list and `set()` a set.",
        )
    if described["dict_len"]:
        raise CheckFailure(
            f"`notes_db` starts with {described['dict_len']} entries; it must start empty.",
            "No notes exist before anyone has added one: start with `notes_db = {}`.",
        )


def require_next_id(facts: Facts) -> None:
    if "next_id" not in facts:
        raise CheckFailure(
            "main.py has no module-level name `next_id`.",
            "Add `next_id = 1` at the top level of main.py: it is the id the next note will get.",
        )
    described = facts["next_id"]
    if "int_value" not in described:
        raise CheckFailure(
            f"`next_id` is a {described['type']}, but it should be the whole number 1.",
            "Write `next_id = 1` without quotes: \"1\" would be text, not a number.",
        )
    if described["int_value"] != 1:
        raise CheckFailure(
            f"`next_id` starts at {described['int_value']}; the first note's id should be 1.",
            "Set `next_id = 1`.",
        )


@check(points=2, task=1)
def test_notes_db_is_empty_dict(facts: Facts) -> None:
    """notes_db is an empty dict"""
    require_notes_db(facts)


@check(points=2, task=2)
def test_next_id_starts_at_one(facts: Facts) -> None:
    """next_id starts at 1"""
    require_next_id(facts)
