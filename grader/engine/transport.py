"""HTTP to a student's server over its Unix socket: one deadline for each whole answer, and answers
read safely.

An answer is never decoded (the grader asks for none, and refuses a Content-Encoding other than
identity), its headers may hold at most MAX_HEADER_BYTES in at most MAX_HEADERS fields, its
body at most MAX_BODY_BYTES, and arrays and objects nested at most MAX_NESTING deep (deeper, and
Python's JSON parser raises RecursionError in the check): whatever a student's server sends,
the grader holds little of it, and parses all of it.
A deadline that runs out is confirmed before it fails (grader.engine.patience), and an answer that
had already arrived when it ran out is read.
"""

from __future__ import annotations

import itertools
import re
import select
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpcore
import httpx

from grader.engine.patience import second_wait

MAX_BODY_BYTES = 1 << 20
MAX_HEADER_BYTES = 64 << 10
MAX_HEADERS = 100
MAX_NESTING = 100  # JSON arrays and objects, one inside another; Python's parser gives up near 1000
_STRING = re.compile(rb'"[^"]*"')  # a JSON string once its escapes are gone
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # as signed bytes: +1 and -1
_HEAD_END = b"\r\n\r\n"


class UnsafeAnswer(httpx.TransportError):
    """The server's answer was refused unread: `reason` says why, for the student."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoAnswerInTime(httpcore.ReadTimeout):
    """No whole answer within `seconds` (the limit, and the second wait if one was given)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no complete answer within {seconds:g} s")
        self.seconds = seconds


class _DeadlineStream(httpcore.NetworkStream):
    """A connection on which each request and its whole answer must end within `seconds`."""

    def __init__(
        self, stream: httpcore.NetworkStream, seconds: float, started: float,
        confirm: Callable[[], bool] | None,
    ) -> None:
        self._stream = stream
        self._seconds = seconds
        self._confirm = confirm
        self._start(started)  # the first request's time includes the connect
        self._answering = False

    def _start(self, started: float) -> None:
        self._deadline = started + self._seconds
        self._allowed = self._seconds
        self._confirmed = False
        self._looked = False
        self._head = b""  # the answer's bytes until its headers end
        self._in_head = True

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0 and not self._confirmed and self._confirm is not None:
            self._confirmed = True
            if self._confirm():
                more = second_wait(self._seconds)
                self._allowed, self._deadline = self._allowed + more, self._deadline + more
                left = self._deadline - time.monotonic()
        if left <= 0:
            if error is httpcore.ReadTimeout and not self._looked and self._arrived():
                self._looked = True  # once: what had arrived when time ran out was in time
                return 0.001
            raise (NoAnswerInTime(self._allowed) if error is httpcore.ReadTimeout
                   else error(f"no complete answer within {self._allowed:g} s"))
        return left if timeout is None else min(timeout, left)

    def _arrived(self) -> bool:
        sock = self._stream.get_extra_info("socket")
        if sock is None:
            return False
        try:
            return bool(select.select([sock], [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def _watch_head(self, data: bytes) -> None:
        if not self._in_head:
            return
        self._head = (self._head + data)[-(MAX_HEADER_BYTES + len(_HEAD_END)):]
        if _HEAD_END in self._head:
            self._in_head = False
            self._head = b""
        elif len(self._head) > MAX_HEADER_BYTES:
            raise UnsafeAnswer(f"its headers were longer than {MAX_HEADER_BYTES >> 10} KiB")

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._answering = True
        while True:
            wait = self._left(timeout, httpcore.ReadTimeout)
            try:
                data = self._stream.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                if timeout is not None and wait >= timeout:
                    raise
                continue  # the deadline ran out: _left confirms it, or gives the second wait
            self._watch_head(data)
            return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._answering:  # the next request on a kept-alive connection: a new deadline
            self._start(time.monotonic())
            self._answering = False
        self._stream.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    def __init__(self, seconds: float, confirm: Callable[[], bool] | None) -> None:
        self.seconds = seconds
        self.confirm = confirm

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        started = time.monotonic()
        stream = super().connect_unix_socket(path, timeout, socket_options)
        return _DeadlineStream(stream, self.seconds, started, self.confirm)


class _CappedBody(httpx.SyncByteStream):
    """The answer's body as it arrives, refused once it passes MAX_BODY_BYTES."""

    def __init__(self, stream: httpx.SyncByteStream) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        body = bytearray()
        for chunk in self._stream:
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise UnsafeAnswer(f"its body was larger than {MAX_BODY_BYTES >> 20} MiB")
            yield chunk
        if nested_too_deep(bytes(body)):  # before the last chunk reaches the check, which parses it
            raise UnsafeAnswer(f"its JSON nested arrays or objects more than {MAX_NESTING} deep")

    def close(self) -> None:
        self._stream.close()


def nested_too_deep(body: bytes, limit: int = MAX_NESTING) -> bool:
    """Whether the brackets of `body` outside JSON strings ever stand more than `limit` open at
    once (closed or not: a parser recurses at each one it opens): the strings' escapes and then
    the strings are taken out, each bracket made +1 or -1, and the running sum's peak taken, all
    at C speed, in time linear in the body."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    steps = _STRING.sub(b"", unescaped).translate(_STEPS, _NOT_BRACKETS)
    return max(itertools.accumulate(memoryview(steps).cast("b")), default=0) > limit


def _refusal(response: httpx.Response) -> str:
    """Why `response` is refused before its body is read ("" when it is not)."""
    if len(response.headers.raw) > MAX_HEADERS:
        return f"it had {len(response.headers.raw)} header fields, more than {MAX_HEADERS}"
    encodings = [e.strip() for e in ",".join(response.headers.get_list("content-encoding")).split(",")]
    if any(e and e.lower() != "identity" for e in encodings):
        shown = ", ".join(encodings)[:80]
        return (f"it was compressed (Content-Encoding: {shown}), though the grader asked for an "
                "answer that is not (Accept-Encoding: identity)")
    return ""


class DeadlineTransport(httpx.HTTPTransport):
    """HTTP over a Unix socket, where httpx's per-read timeout becomes one for the whole answer."""

    def __init__(
        self, socket_path: str, seconds: float, confirm: Callable[[], bool] | None = None
    ) -> None:
        super().__init__(uds=socket_path, verify=False)
        self._pool = httpcore.ConnectionPool(  # httpx's defaults, on our network backend
            max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0,
            uds=socket_path, network_backend=_DeadlineBackend(seconds, confirm),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        reason = _refusal(response)
        if reason:
            response.close()
            raise UnsafeAnswer(reason)
        response.stream = _CappedBody(response.stream)  # type: ignore[arg-type]
        return response


def deadline_client(
    socket_path: str, seconds: float, confirm: Callable[[], bool] | None = None
) -> httpx.Client:
    """A client for a student's server: no request and its answer may take over `seconds` (and,
    where `confirm()` says the server is only slow, a second wait), and no answer is decoded."""
    return httpx.Client(
        transport=DeadlineTransport(socket_path, seconds, confirm), base_url="http://student",
        timeout=httpx.Timeout(seconds, read=None, write=None),  # the streams keep the deadline
        headers={"Connection": "close",  # no idle connection holds up a graceful stop
                 "Accept-Encoding": "identity"},
    )


def waited(exc: httpx.TimeoutException, limit: float) -> float:
    """How long a timed-out request was given: `limit`, or more after a second wait."""
    cause = exc.__cause__
    return cause.seconds if isinstance(cause, NoAnswerInTime) else limit


__all__ = ["DeadlineTransport", "UnsafeAnswer", "deadline_client", "waited"]
