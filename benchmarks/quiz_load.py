"""Load the quiz server and compare answer submissions with a plain FastAPI endpoint.

Run by hand (not a test):

    python benchmarks/quiz_load.py [--clients 64] [--seconds 10] [--max-requests 20000]
                                   [--db URL] [--quiz-settings FILE]

Starts `uvicorn` as a real process on a free port with the quiz app plus GET /plain (an
endpoint returning a constant, same process, same middleware and settings), loads it from
this process over loopback with asyncio clients, then checks that every submission that got
its 303 is in the database. Targets: submissions >= half the plain rate, p99 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI

from grader.quiz.grading import LABELS
from grader.quiz.store import QuizStore
from grader.quiz.web import Settings, create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ATTEMPT = re.compile(r"/attempts/(\d+)/questions/1$")


def bench_app() -> FastAPI:
    """The quiz app from the environment, plus the baseline endpoint."""
    app = create_app(Settings.from_env())

    @app.get("/plain")
    async def plain() -> dict[str, bool]:
        return {"ok": True}

    return app


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    acknowledged: list[tuple[int, int, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    def report(self, name: str) -> str:
        ms = sorted(x * 1000 for x in self.latencies)
        if not ms:
            return f"{name}: no requests completed"
        p50 = statistics.median(ms)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        return (
            f"{name:<12} {len(ms):>7} requests in {self.elapsed:5.1f} s = "
            f"{len(ms) / self.elapsed:7.0f}/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
            f"CPU per request: server {self.server_cpu / len(ms) * 1e6:5.0f} us, "
            f"client {self.client_cpu / len(ms) * 1e6:5.0f} us"
        )

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    @property
    def p99_ms(self) -> float:
        ms = sorted(x * 1000 for x in self.latencies)
        return ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("inf")


class Budget:
    """Shared stop condition: a deadline and a request count, whichever comes first."""

    def __init__(self, seconds: float, requests: int) -> None:
        self.deadline = time.perf_counter() + seconds
        self.left = requests

    def take(self) -> bool:
        if self.left <= 0 or time.perf_counter() >= self.deadline:
            return False
        self.left -= 1
        return True


class Connection:
    """One keep-alive HTTP/1.1 connection with a cookie jar: a few lines of asyncio instead of
    an HTTP library, so the load generator spends its CPU on the server, not on itself."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Connection:  # noqa: PYI034
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.writer:
            self.writer.close()

    async def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        assert self.reader and self.writer
        body = urlencode(form).encode() if form is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if form is not None:
            head += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
            ]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
                if name.lower() == "set-cookie":
                    cookie = value.strip().split(";", 1)[0]
                    key, _, val = cookie.partition("=")
                    self.cookies[key] = val
        if "content-length" not in headers:
            raise RuntimeError(f"{method} {path}: response without Content-Length")
        content = await self.reader.readexactly(int(headers["content-length"]))
        return int(lines[0].split()[1]), headers, content


async def plain_client(port: int, budget: Budget, run: Run) -> None:
    async with Connection(port) as http:
        while budget.take():
            start = time.perf_counter()
            status, _, _ = await http.request("GET", "/plain")
            run.latencies.append(time.perf_counter() - start)
            if status != 200:
                run.errors.append(f"/plain {status}")


async def student_client(port: int, index: int, budget: Budget, run: Run) -> None:
    """Start a self-check, answer its questions in order (timed), start another, ..."""
    async with Connection(port) as http:
        _, _, home = await http.request("GET", "/")
        found = CSRF.search(home.decode())
        assert found, "home page without CSRF token"
        token = found.group(1)
        while True:
            form = {"csrf_token": token, "name": f"bench-{index}", "quiz": "self-check"}
            status, headers, _ = await http.request("POST", "/attempts", form)
            match = ATTEMPT.search(headers.get("location", ""))
            if not match:
                run.errors.append(f"start {status}")
                return
            attempt = int(match.group(1))
            for position in range(1, 11):
                if not budget.take():
                    return
                label = LABELS[(index + position) % 4]
                start = time.perf_counter()
                status, _, _ = await http.request(
                    "POST",
                    f"/attempts/{attempt}/questions/{position}",
                    {"csrf_token": token, "choice": label},
                )
                run.latencies.append(time.perf_counter() - start)
                if status == 303:
                    run.acknowledged.append((attempt, position, label))
                else:
                    run.errors.append(f"answer {status}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(
    port: int, kind: str, clients: int, seconds: float, requests: int, server_pid: int
) -> Run:
    run, budget = Run(), Budget(seconds, requests)
    server_start, client_start = cpu_seconds(server_pid), time.process_time()
    start = time.perf_counter()
    if kind == "plain":
        tasks = [plain_client(port, budget, run) for _ in range(clients)]
    else:
        tasks = [student_client(port, i, budget, run) for i in range(clients)]
    await asyncio.gather(*tasks)
    run.elapsed = time.perf_counter() - start
    run.server_cpu = cpu_seconds(server_pid) - server_start
    run.client_cpu = time.process_time() - client_start
    return run


def verify(database_url: str, run: Run) -> int:
    """How many acknowledged submissions are missing from the database (should be 0)."""
    store = QuizStore(database_url)
    missing = 0
    try:
        attempts = {a: store.attempt(a) for a in {a for a, _, _ in run.acknowledged}}
        for attempt_id, position, label in run.acknowledged:
            attempt = attempts[attempt_id]
            answer = attempt.answers[position - 1] if attempt else None
            if answer is None or answer.chosen != answer.option_order[LABELS.index(label)]:
                missing += 1
    finally:
        store.close()
    return missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", "quiz_load:bench_app", "--factory",
        "--app-dir", str(Path(__file__).parent), "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/plain", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("server did not start in 30 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--max-requests", type=int, default=20_000, help="per phase")
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temp dir)")
    parser.add_argument(
        "--quiz-settings", type=Path, help="the instructor's quiz settings (a time limit, ...)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="persistlab-bench-") as tmp:
        database_url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        env = {**os.environ, "PERSISTLAB_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
        if args.quiz_settings:
            env["PERSISTLAB_QUIZ_SETTINGS"] = str(args.quiz_settings.resolve())
        port = free_port()
        load_before = os.getloadavg()[0]
        server = start_server(port, env, Path(tmp) / "server.log")
        try:
            phase = (args.clients, args.seconds, args.max_requests, server.pid)
            plain = asyncio.run(load(port, "plain", *phase))
            answers = asyncio.run(load(port, "answers", *phase))
        finally:
            server.terminate()
            server.wait(10)
        missing = verify(database_url, answers)

    print(
        f"{args.clients} concurrent clients on loopback, server: uvicorn, 1 process, "
        f"{database_url.split(':')[0]}"
        f"{', settings ' + str(args.quiz_settings) if args.quiz_settings else ''}; "
        f"{os.cpu_count()} CPUs, load average (1 min) "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print(plain.report("GET /plain"))
    print(answers.report("POST answer"))
    ratio = answers.rate / plain.rate if plain.rate else 0.0
    print(f"answers / plain = {ratio:.2f}  (target >= 0.50)")
    print(f"answer p99 = {answers.p99_ms:.1f} ms  (target < 100 ms)")
    print(
        f"acknowledged answers: {len(answers.acknowledged)}, missing from the database: {missing}"
    )
    errors = plain.errors + answers.errors
    if errors:
        print(f"errors: {len(errors)}, e.g. {errors[:5]}")
    ok = ratio >= 0.5 and answers.p99_ms < 100 and missing == 0 and not errors
    print("PASS" if ok else "MISSED A TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
