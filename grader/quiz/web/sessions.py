"""Starlette's signed session cookie, with the cookies verified lately remembered: a browser
sends the same cookie with every request, and checking its HMAC again was a tenth of an
answer's time in the event loop (benchmarks/quiz_load.py). Same cookie format and checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, overload

from itsdangerous import TimestampSigner, want_bytes
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

COOKIES_KEPT = 4096


class RememberingSigner(TimestampSigner):
    """A TimestampSigner that skips the signature check of a cookie it verified before; the
    age check is made every time, as `TimestampSigner.unsign` makes it."""

    def __init__(self, secret_key: str) -> None:
        super().__init__(secret_key)
        self._verified: dict[bytes, tuple[bytes, int]] = {}

    @overload
    def unsign(  # type: ignore[overload-overlap]
        self,
        signed_value: str | bytes,
        max_age: int | None = None,
        return_timestamp: Literal[False] = False,
    ) -> bytes: ...

    @overload
    def unsign(
        self,
        signed_value: str | bytes,
        max_age: int | None = None,
        return_timestamp: Literal[True] = True,
    ) -> tuple[bytes, datetime]: ...

    def unsign(
        self, signed_value: str | bytes, max_age: int | None = None, return_timestamp: bool = False
    ) -> bytes | tuple[bytes, datetime]:
        signed = want_bytes(signed_value)
        known = self._verified.get(signed)
        if known is not None and not return_timestamp:
            value, timestamp = known
            age = self.get_timestamp() - timestamp
            if max_age is None or 0 <= age <= max_age:
                return value
        value, when = super().unsign(signed, max_age=max_age, return_timestamp=True)
        if len(self._verified) >= COOKIES_KEPT:
            del self._verified[next(iter(self._verified))]
        self._verified[signed] = (value, int(when.timestamp()))
        return (value, when) if return_timestamp else value


class SignedSessions(SessionMiddleware):
    """`SessionMiddleware` with a `RememberingSigner`."""

    def __init__(self, app: ASGIApp, /, secret_key: str, **options: Any) -> None:
        super().__init__(app, secret_key, **options)
        self.signer = RememberingSigner(secret_key)
