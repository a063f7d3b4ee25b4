"""HTTP to a student's server over its Unix socket, with one deadline for each whole answer."""

from __future__ import annotations

import time
from typing import Any

import httpcore
import httpx


class _DeadlineStream(httpcore.NetworkStream):
    """A connection on which each request and its whole answer must end within `seconds`."""

    def __init__(self, stream: httpcore.NetworkStream, seconds: float, started: float) -> None:
        self._stream = stream
        self._seconds = seconds
        self._deadline = started + seconds  # the first request's time includes the connect
        self._answering = False

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error(f"no complete answer within {self._seconds:g} s")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._answering = True
        return self._stream.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._answering:  # the next request on a kept-alive connection: a new deadline
            self._deadline = time.monotonic() + self._seconds
            self._answering = False
        self._stream.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        started = time.monotonic()
        stream = super().connect_unix_socket(path, timeout, socket_options)
        return _DeadlineStream(stream, self.seconds, started)


class DeadlineTransport(httpx.HTTPTransport):
    """HTTP over a Unix socket, where httpx's per-read timeout becomes one for the whole answer."""

    def __init__(self, socket_path: str, seconds: float) -> None:
        super().__init__(uds=socket_path, verify=False)
        self._pool = httpcore.ConnectionPool(  # httpx's defaults, on our network backend
            max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0,
            uds=socket_path, network_backend=_DeadlineBackend(seconds),
        )


def deadline_client(socket_path: str, seconds: float) -> httpx.Client:
    """A client for a student's server: no request and its answer may take over `seconds`."""
    return httpx.Client(
        transport=DeadlineTransport(socket_path, seconds), base_url="http://student", timeout=seconds,
        headers={"Connection": "close"},  # no idle connection holds up a graceful stop
    )


__all__ = ["DeadlineTransport", "deadline_client"]
