"""A gate to one PostgreSQL database: the only way a sandboxed app reaches a database server.

A sandboxed student process has no network, and the host's own Unix sockets are out of its sight.
For step 10 the grader opens a gate: a Unix socket in a folder the student's jail can see, named
as PostgreSQL names its sockets, so that `host=<folder>` in a connection URL finds it. The gate
reads each connection's startup message (answering "no" to a request for TLS or GSS encryption,
so the message comes in the clear) and forwards the connection to the real server only when it
asks for the one role and database the grader made for this student; anything else is refused
with PostgreSQL's own error message. The role is an unprivileged one, so what the student can do
through the gate is what that role may do in its own database.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import threading
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

PROTOCOL_3 = 196608
SSL_REQUEST, GSS_REQUEST, CANCEL_REQUEST = 80877103, 80877104, 80877102
MAX_STARTUP = 10_000  # bytes; PostgreSQL itself allows 10,000
SOCKET_NAME = ".s.PGSQL.5432"
TERMINATE = b"X\x00\x00\x00\x04"  # a client's goodbye


class GateRefused(Exception):
    """A connection that asked for something other than the student's own database."""


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise GateRefused("the client closed the connection")
        data += chunk
    return data


def read_startup(sock: socket.socket) -> tuple[bytes, dict[str, str]]:
    """The client's startup message (after refusing encryption) and its parameters."""
    while True:
        length = struct.unpack("!i", _read_exactly(sock, 4))[0]
        if not 8 <= length <= MAX_STARTUP:
            raise GateRefused("invalid startup message length")
        body = _read_exactly(sock, length - 4)
        code = struct.unpack("!i", body[:4])[0]
        if code in (SSL_REQUEST, GSS_REQUEST):
            sock.sendall(b"N")  # no encryption: the startup message then comes in the clear
            continue
        if code != PROTOCOL_3:
            raise GateRefused("only protocol 3.0 startup messages pass the gate")
        words = body[4:].split(b"\0")
        pairs = words[: len(words) - len(words) % 2]
        params = {
            pairs[i].decode("utf-8", "replace"): pairs[i + 1].decode("utf-8", "replace")
            for i in range(0, len(pairs) - 1, 2) if pairs[i]
        }
        return struct.pack("!i", length) + body, params


def _error(message: str) -> bytes:
    fields = b"SFATAL\0VFATAL\0C28000\0M" + message.encode() + b"\0\0"
    return b"E" + struct.pack("!i", len(fields) + 4) + fields


class PostgresGate:
    """A Unix socket in `folder` that forwards connections for `user` to `database` on `server`
    (a postgresql:// URL: TCP host and port, or a socket folder in `?host=`)."""

    def __init__(self, folder: Path, server: str, user: str, database: str) -> None:
        self.folder, self.server, self.user, self.database = folder, server, user, database
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
        # the folder lies in the app's own, where the app may rename it and leave a link in its
        # place (to /run/postgresql, say): the socket is removed from this folder, not by its path
        self._folder = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.path = folder / SOCKET_NAME
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.path))
        self.path.chmod(0o777)  # the student's uid must be able to connect
        self._listener.listen(64)
        self._closed = threading.Event()
        self.refused: list[str] = []
        self._asked: set[int] = set()  # connections whose last bytes went to the server
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, password: str = "", driver: str = "psycopg") -> str:
        """The URL the app is given: the role, its database, and this gate's folder as the host."""
        secret = f":{quote(password, safe='')}" if password else ""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{quote(self.user, safe='')}{secret}@/{self.database}?host={self.folder}"

    def _upstream(self) -> socket.socket:
        parts = urlsplit(self.server)
        query = dict(part.split("=", 1) for part in parts.query.split("&") if "=" in part)
        host = unquote(query.get("host", "")) or parts.hostname or "127.0.0.1"
        port = parts.port or int(query.get("port", 5432))
        if host.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(os.path.join(host, f".s.PGSQL.{port}"))
            return sock
        return socket.create_connection((host, port), timeout=5)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(client)
            client.settimeout(10)
            try:
                startup, params = read_startup(client)
                user = params.get("user", "")
                database = params.get("database", user)
                if (user, database) != (self.user, self.database) or "replication" in params:
                    raise GateRefused(f"only role {self.user} may connect, and only to database "
                                      f"{self.database} (asked: {user} to {database})")
                upstream = stack.enter_context(self._upstream())
                upstream.sendall(startup)
            except GateRefused as exc:
                self.refused.append(str(exc))
                with contextlib.suppress(OSError):
                    client.sendall(_error(f"persistlab's gate refused the connection: {exc}"))
                return
            except OSError:
                return
            client.settimeout(None)
            upstream.settimeout(None)
            try:
                _pump(client, upstream, self._closed, self._asked)
            finally:
                self._asked.discard(client.fileno())

    def busy(self) -> bool:
        """Whether the server owes a connection an answer: a query under way, which a busy
        machine may hold up while the app waits, asleep."""
        return bool(self._asked)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):  # wakes the accept() under way: a close alone does not
            self._listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._listener.close()
        if self._folder >= 0:
            with contextlib.suppress(OSError):
                os.unlink(SOCKET_NAME, dir_fd=self._folder)
            os.close(self._folder)
            self._folder = -1


def _pump(client: socket.socket, server: socket.socket, closed: threading.Event,
          asked: set[int]) -> None:
    """Copy bytes both ways until either side closes or the gate does; `asked` holds the client
    while the server has the last word owed."""
    peers, key = {client: server, server: client}, client.fileno()
    while not closed.is_set():
        ready, _, _ = select.select(list(peers), [], [], 0.5)
        for sock in ready:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            if sock is client:
                if data != TERMINATE:  # the one message the server never answers
                    asked.add(key)
            else:
                asked.discard(key)
            try:
                peers[sock].sendall(data)
            except OSError:
                return


__all__ = ["GateRefused", "PostgresGate", "read_startup"]
