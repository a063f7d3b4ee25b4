"""Notes that belong to users (step 9 on): making users, notes for them, and the earlier steps'
checks replayed on an app where every new note needs an owner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from grader.checks.notes_api import random_text
from grader.checks.notes_rest import Note, setup_note
from grader.feedback import CheckFailure
from grader.plugin import check
from grader.server import StudentServer


def create_user(server: StudentServer, name: str, codes: tuple[int, ...] = (200, 201)) -> dict[str, Any]:
    """POST /users and return the user; 201 is the users check's verdict, so setup takes 200 too."""
    response = server.request("POST", "/users", json={"name": name})
    body = server.expect(response, codes, sent_text=name)
    if not isinstance(body, dict) or type(body.get("id")) is not int or body.get("name") != name:
        raise CheckFailure(
            f"POST /users answered {body!r}; it should be the user: {{\"id\": ..., \"name\": {name!r}}}.",
            "Answer a UserPublic (id, name) built from the row, with status_code=201.",
        )
    return body


class OwnedServer:
    """A student's server as an earlier step's check sees it: each POST /notes without an owner_id
    is sent with the id of a user made for the purpose; everything else is the server's."""

    def __init__(self, server: StudentServer) -> None:
        self.server = server
        self.owner_id = create_user(server, random_text())["id"]

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        body = kwargs.get("json")
        if method == "POST" and path == "/notes" and isinstance(body, dict) and "owner_id" not in body:
            kwargs["json"] = {**body, "owner_id": self.owner_id}
        return self.server.request(method, path, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.server, name)


def owned_note(server: StudentServer, text: str, **fields: Any) -> Note:
    """A note for a new user, as a check that only needs one makes it (200 or 201)."""
    owner = create_user(server, random_text())
    return setup_note(server, text, owner_id=owner["id"], **fields)


Check = Callable[..., None]


def replayed(points: int, task: int, doc: str, *checks: Check, alone: bool = False) -> Check:
    """A check worth `points` that runs earlier steps' `checks` (each taking `server`) in turn on
    a fresh server whose new notes all get an owner; with `alone`, each on a fresh server of its
    own (for checks that count every note there is)."""

    @check(points=points, task=task)
    def replay(spawn: Callable[..., StudentServer]) -> None:
        server = OwnedServer(spawn())
        for number, earlier in enumerate(checks):
            if alone and number:
                server = OwnedServer(spawn())
            earlier(server)

    replay.__doc__ = doc
    replay.replays = checks  # type: ignore[attr-defined]
    return replay


def replayed_restart(points: int, task: int, doc: str, earlier: Check) -> Check:
    """A check worth `points` that runs an earlier step's restart check (taking `spawn`), with an
    owner made on every server it starts."""

    @check(points=points, task=task)
    def replay(spawn: Callable[..., StudentServer]) -> None:
        def owned_spawn(*folder: Any, **options: Any) -> Any:
            return OwnedServer(spawn(*folder, **options))

        earlier(owned_spawn)

    replay.__doc__ = doc
    replay.replays = (earlier,)  # type: ignore[attr-defined]
    return replay
