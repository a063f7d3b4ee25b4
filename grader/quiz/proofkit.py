"""What the bank's proofs share: a real uvicorn server, started from an app's source in the
proof's own folder, asked over HTTP, and stopped by the signal a question is about."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

READY_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`uvicorn main:app` in a folder; start() again after a stop is a restart."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "main:app", "--port", str(port)],
            cwd=self.folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode} at start")
            try:
                httpx.get(self.url + "/", timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"the server did not answer within {READY_SECONDS:g} s")

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("timeout", 10.0)
        return httpx.request(method, self.url + path, **kwargs)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Sends the signal and waits for the process to end; its exit code."""
        assert self.process is not None
        self.process.send_signal(signum)
        return self.process.wait(timeout=15)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def serve(source: str, folder: Path | None = None, **files: str) -> Iterator[Server]:
    """main.py written with `source` (and any other files, by name), served, always stopped."""
    folder = folder or Path.cwd()
    (folder / "main.py").write_text(source, encoding="utf-8")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    server = Server(folder)
    try:
        server.start()
        yield server
    finally:
        server.kill()
