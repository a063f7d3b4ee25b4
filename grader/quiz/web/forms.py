"""Posted forms: a size limit on every body, HTML form bodies only, and a CSRF token each."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, HTTPException, Request
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_TYPE = "application/x-www-form-urlencoded"
CSRF_FIELD = "csrf_token"
MAX_FIELDS = 20


class BodyLimit:
    """ASGI middleware: a body past `max_bytes` (declared or streamed) ends in 413.

    The check happens when the app reads the body, so the 413 goes through the app's own
    error page and nothing the request would have changed is touched.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        too_big = HTTPException(
            413, f"The request body is larger than the limit of {self.max_bytes} bytes."
        )
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise too_big
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_big
            return message

        await self.app(scope, limited_receive, send)


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use; every form carries it."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


async def posted_form(request: Request) -> dict[str, str]:
    """The request's form fields, after checking it is a form with this session's CSRF token."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_TYPE:
        raise HTTPException(
            415,
            f"Send this as an HTML form ({FORM_TYPE}); got {media_type or 'no content type'}.",
        )
    try:
        # Parsed here rather than by request.form(): a form of a few short fields does not
        # need python-multipart's streaming parser, which costs more than the database write.
        text = (await _body(request)).decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
        form = dict(pairs)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(
            400, f"The form could not be read (UTF-8, at most {MAX_FIELDS} fields)."
        ) from None
    if len(form) != len(pairs):  # every field of our forms holds one value: which one counts?
        repeated = sorted({name for name, _ in pairs if sum(n == name for n, _ in pairs) > 1})
        raise HTTPException(
            400, f"The form sends {', '.join(map(repr, repeated))} more than once; "
            "each field takes one value. Reload the page and fill the form in again.",
        )  # fmt: skip
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not sent:
        raise HTTPException(
            403, "The form has no CSRF token. Reload the page and submit the form again."
        )
    if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(
            403,
            "The form's CSRF token does not match this browser session (an old page, or cookies "
            "blocked?). Reload the page and submit the form again.",
        )
    return form


async def _body(request: Request) -> bytes:
    """The whole body, as `request.body()` reads it, without its async generator (a few µs of
    the answer route's)."""
    chunks = []
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


FormDep = Annotated[dict[str, str], Depends(posted_form)]


def field(form: dict[str, str], name: str) -> str:
    """A text field, stripped; '' when missing."""
    return form.get(name, "").strip()
