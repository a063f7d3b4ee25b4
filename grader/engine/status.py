"""What the grader hears about a student process, on two channels.

The status socket carries the child's own reports (main.py imported, the server is up, or the
error that stopped it), each with the run's token; the student's code holds that socket too, so
what comes on it is only ever about the student's own code. The zygote's word on how the process
ended, and a sandbox that could not be set up, come on a pipe that no student code ever holds:
the child closes its end before main.py runs, so no app can make its own failure read as the
grading machine's fault, or its exit as another.
"""

from __future__ import annotations

import json
import os
from typing import Any

MAX_STATUS_LINE = 256 << 10  # a longer line is dropped unread
TRUSTED_ONLY = ("SandboxError",)  # errors believed only from the trusted pipe


class Lines:
    """JSON objects, one a line, read from `fd` as they come (`feed`); a line longer than
    MAX_STATUS_LINE, or not a JSON object, is dropped."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.ended = False
        self._buffer = b""
        self._overflow = False  # dropping the rest of a line longer than MAX_STATUS_LINE

    def read(self) -> list[dict[str, Any]]:
        """What one read of `fd` brings (call when it is ready); [] and `ended` at its end."""
        try:
            chunk = os.read(self.fd, 65536)
        except ConnectionResetError:  # the child ended before it read its token
            chunk = b""
        if not chunk:
            self.ended = True
            return []
        *lines, rest = (self._buffer + chunk).split(b"\n")
        if self._overflow and lines:
            lines, self._overflow = lines[1:], False
        self._buffer = rest if len(rest) <= MAX_STATUS_LINE and not self._overflow else b""
        self._overflow = self._overflow or len(rest) > MAX_STATUS_LINE
        return [message for line in lines if (message := _parse(line)) is not None]


def _parse(line: bytes) -> dict[str, Any] | None:
    if len(line) > MAX_STATUS_LINE:
        return None
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return message if isinstance(message, dict) else None


def from_child(message: dict[str, Any], token: str) -> dict[str, Any] | None:
    """A message of the status socket, without its token, if it carries the run's and claims
    nothing only the trusted pipe may say."""
    if message.pop("token", None) != token or message.get("stage") == "exited":
        return None
    return None if message.get("error") in TRUSTED_ONLY else message


__all__ = ["MAX_STATUS_LINE", "TRUSTED_ONLY", "Lines", "from_child"]
