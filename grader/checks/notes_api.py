"""Talking to a student's notes API the way every step from 3 on expects it to answer."""

from __future__ import annotations

import random
import secrets
from typing import Any

import httpx

from grader.feedback import CheckFailure
from grader.server import StudentServer

WORDS = (
    "buy oat milk", "call the dentist", "water the basil", "book train to Porto",
    "renew library card", "fix the bike light", "send slides to Lea", "pay the gas bill",
    "try the ramen place", "back up the laptop", "return the drill", "plan Sunday hike",
)


def random_text(quote: bool = False) -> str:
    """A note text no hard-coded answer can guess; with `quote`, one that breaks naive SQL."""
    text = f"{random.choice(WORDS)} #{secrets.token_hex(3)}"
    return f"{text} - it's \"urgent\"; 'really'" if quote else text


def expect_success(
    server: StudentServer, response: httpx.Response, expected: tuple[int, ...], sent_text: str = ""
) -> Any:
    """The JSON body of any 2xx answer; otherwise fail as if `expected` was asked for.

    For requests that only set up what a check needs: the check that tests the status keeps
    its own strict assertion, so a wrong 2xx costs that check alone.
    """
    codes = (response.status_code,) if 200 <= response.status_code < 300 else expected
    return server.expect(response, codes, sent_text=sent_text)


def add_note(server: StudentServer, text: str) -> int:
    """POST /add_note and return the id it answered with."""
    response = server.request("POST", "/add_note", json={"text": text})
    body = expect_success(server, response, (200,), sent_text=text)
    if not isinstance(body, dict) or "id" not in body:
        raise CheckFailure(
            f"POST /add_note answered {body!r}, which has no \"id\".",
            "Return a dict holding the id the note was stored under: `return {\"id\": note_id}`.",
        )
    note_id = body["id"]
    if type(note_id) is not int:
        raise CheckFailure(
            f"POST /add_note answered an id of {note_id!r}; it should be a whole number.",
            "Return the id itself (an int), not a string or a list.",
        )
    return note_id


def list_notes(server: StudentServer) -> dict[str, str]:
    """GET /notes, which must be a JSON object of id -> text."""
    body = server.expect(server.request("GET", "/notes"), (200,))
    if not isinstance(body, dict):
        kind = type(body).__name__
        raise CheckFailure(
            f"GET /notes answered a JSON {'array' if kind == 'list' else kind}; it should be an "
            "object mapping each id to its text, like {\"1\": \"first note\"}.",
            "Return the dict itself (id -> text), not a list of notes or of texts.",
        )
    return body


def expect_listing(
    listing: dict[str, str], added: dict[int, str], when: str, exact: bool = True
) -> None:
    """Fail unless `listing` holds the `added` notes under their ids, and (`exact`) no others."""
    expected = {str(note_id): text for note_id, text in added.items()}
    missing = {k: v for k, v in expected.items() if listing.get(k) != v}
    if listing == expected or not (missing or exact):
        return
    texts = list(listing.values())  # a list: an answer's values need not be hashable
    if missing and all(text in texts for text in missing.values()):
        raise CheckFailure(
            f"{when}, GET /notes holds the right texts under other ids: {_short(listing)}.",
            "Use the id that POST /add_note answered as the key for that note's text.",
        )
    if missing:
        key, text = next(iter(missing.items()))
        raise CheckFailure(
            f"{when}, GET /notes is {_short(listing)}: note {key} ({text!r}) is missing.",
            "Every note POST /add_note accepted must be in the listing, under its id, with its text.",
        )
    extra = sorted(set(listing) - set(expected))
    raise CheckFailure(
        f"{when}, GET /notes has notes nobody added: {', '.join(extra[:5])}.",
        "Start with no notes at all: no sample rows or entries.",
    )


def _short(value: object, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
