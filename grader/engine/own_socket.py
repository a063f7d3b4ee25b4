"""The Unix socket an app started with its own command listens on, as the grader reaches it.

The grader makes the socket's folder and gives it to the student's user, whose command binds
`--uds PATH` there. What the grader then connects to is looked up from that folder as it made it
(a file descriptor taken before any student code ran), never through a symbolic link, and only
when it is a socket of the student's user: a link, or a hard link, to another socket (the host's
PostgreSQL or Docker, another server on the machine) is never spoken to, so no answer from
outside the sandbox can be taken for the app's.
"""

from __future__ import annotations

import os
import socket
import stat

_O_PATH = getattr(os, "O_PATH", 0)  # Linux: a handle on the socket file itself, to connect through


def listening(path: str) -> bool:
    """Whether a server accepts connections on the Unix socket at `path`: asyncio (so uvicorn)
    binds it, which makes the file, some time before it listens; a connection in between is
    refused."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.setblocking(False)
        try:
            probe.connect(path)
        except BlockingIOError:  # its backlog is full: it listens, and is busy
            return True
        except OSError:
            return False
    return True


class OwnSocket:
    """The socket at `path`, whose folder the grader has just made; `owner`: the uid whose
    socket it must be (None: any, when the app runs as the grader's own user)."""

    def __init__(self, path: str, owner: int | None) -> None:
        self.path, self.owner = path, owner
        self._name = os.path.basename(path)
        self._folder = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | _O_PATH)
        self._handle = -1

    def address(self) -> str | None:
        """What the grader connects to once the app listens: the socket found in the folder,
        through its handle where the system has them; None while there is none to speak to."""
        if self._handle < 0:
            self._handle = self._find()
        if self._handle < 0:
            return None
        address = f"/proc/self/fd/{self._handle}" if _O_PATH else self.path
        if listening(address):
            return address
        os.close(self._handle)  # bound, not listening yet; or replaced: looked up again next time
        self._handle = -1
        return None

    def _find(self) -> int:
        flags = (_O_PATH or os.O_RDONLY) | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            if not _O_PATH:  # a socket file cannot be opened without O_PATH: its folder instead
                found = os.stat(self._name, dir_fd=self._folder, follow_symlinks=False)
                return os.dup(self._folder) if self._ours(found) else -1
            handle = os.open(self._name, flags, dir_fd=self._folder)
        except OSError:
            return -1
        if self._ours(os.fstat(handle)):
            return handle
        os.close(handle)
        return -1

    def _ours(self, found: os.stat_result) -> bool:
        return stat.S_ISSOCK(found.st_mode) and (self.owner is None or found.st_uid == self.owner)

    def close(self) -> None:
        """Remove the socket (in the grader's folder, whatever the student put in its place)."""
        try:
            os.unlink(self._name, dir_fd=self._folder)
        except OSError:
            pass
        for fd in (self._handle, self._folder):
            if fd >= 0:
                os.close(fd)
        self._handle = self._folder = -1


__all__ = ["OwnSocket", "listening"]
