"""Quiz fixtures: a tiny bank on disk, databases (a SQLite file, or a throwaway PostgreSQL
database), an app with a test client, and a real server process that can be killed."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient

from grader.quiz.store import Base, QuizStore
from grader.quiz.web import Settings, create_app

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_ADMIN = os.environ.get(
    "PERSISTLAB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
INSTRUCTOR_TOKEN = "teach-me-well-and-kindly"


def _question(qid: str, topic: str, level: str, right: str, code: str = "") -> str:
    code_line = f'code = """{code}"""\n' if code else ""
    return f'''
[[questions]]
id = "{qid}"
topic = "{topic}"
difficulty = "{level}"
stem = "Which is right about `{qid}`?"
{code_line}solution = ["First look at `{qid}`.", "Then pick the right one."]
final_answer = "{right}"
quick_check = "Say why {right} holds."
hint = "Hint for {qid}."
steps = ["notes-dict"]

[[questions.options]]
key = "a"
text = "{right}"
correct = true

[[questions.options]]
key = "b"
text = "Wrong one of {qid}"
correct = false
misconception = "Misconception B of {qid}."

[[questions.options]]
key = "c"
text = "Wrong two of {qid}"
correct = false
misconception = "Misconception C of {qid}."

[[questions.options]]
key = "d"
text = "Wrong three of {qid}"
correct = false
misconception = "Misconception D of {qid}."
'''


TINY_BANK = {
    "persistence": [
        ("dict-restart", "easy", "Right answer of dict-restart", "notes = {}\nnotes[1] = 'hi'"),
        ("sqlite-commit", "medium", "Right answer of sqlite-commit", ""),
        ("wal-crash", "hard", "Right answer of wal-crash", ""),
    ],
    "fastapi-basics": [
        ("app-object", "easy", "Right answer of app-object", ""),
        ("post-body", "medium", "Right answer of post-body", ""),
        ("global-counter", "hard", "Right answer of global-counter", ""),
    ],
}


def right_text(qid: str) -> str:
    return f"Right answer of {qid}"


@pytest.fixture
def bank_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "quizzes"
    folder.mkdir()
    for topic, questions in TINY_BANK.items():
        text = "".join(
            _question(qid, topic, level, right, code) for qid, level, right, code in questions
        )
        (folder / f"{topic}.toml").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway database on the PostgreSQL server, dropped at the end; its SQLAlchemy URL.

    Fails (never skips) when the server is unreachable: CI runs one, and a quiet skip would
    hide that the store was never tested against it.
    """
    import psycopg

    name = f"persistlab_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN} ({exc}). The quiz store is tested "
            "against PostgreSQL too: start the server, or point PERSISTLAB_TEST_POSTGRES at one.",
            pytrace=False,
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield re.sub(r"/[^/]*$", f"/{name}", POSTGRES_ADMIN)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store and web test runs on a SQLite file and on PostgreSQL, from empty tables."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'quiz.db'}"
        return
    url = request.getfixturevalue("postgres_server")
    yield url
    cleanup = QuizStore(url)
    Base.metadata.drop_all(cleanup.engine)
    cleanup.close()


@pytest.fixture
def store(database_url: str) -> Iterator[QuizStore]:
    quiz_store = QuizStore(database_url)
    yield quiz_store
    quiz_store.close()


@pytest.fixture
def settings(database_url: str, bank_dir: Path) -> Settings:
    return Settings(database_url=database_url, quiz_dir=bank_dir, instructor_token=INSTRUCTOR_TOKEN)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`persistlab serve` as a real process on a free port: started, polled until it answers,
    and killed (SIGKILL, no shutdown code) or stopped."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {**os.environ, **env}
        self.log = log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> ServerProcess:
        command = [
            sys.executable, "-c", "from grader.quiz.commands import serve; serve()",
            "--port", str(self.port),
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=self.log.parent, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                if httpx.get(self.url + "/", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server not ready in {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server_env(tmp_path: Path, bank_dir: Path) -> dict[str, str]:
    return {
        "PERSISTLAB_DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "PERSISTLAB_QUIZ_DIR": str(bank_dir),
        "PERSISTLAB_INSTRUCTOR_TOKEN": INSTRUCTOR_TOKEN,
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
def server(server_env: dict[str, str], tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(server_env, tmp_path / "server.log")
    yield process.start()
    process.stop()


def assert_in_order(text: str, *parts: str) -> None:
    """Every part is in `text`, in this order (feedback comes verdict first, step link last)."""
    places = [text.find(part) for part in parts]
    assert -1 not in places and places == sorted(places), dict(zip(parts, places))


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
OPTION = re.compile(
    r'<label for="choice-([A-D])"><span class="letter">[A-D]\.</span> (.*?)</label>'
)


HTTPClient = httpx.Client | TestClient  # TestClient is an httpx2.Client since Starlette 1.0
HTTPResponse = httpx.Response | httpx2.Response


class QuizClient:
    """A student's browser without a browser: an HTTP client (TestClient or httpx.Client, with
    its cookie jar) that reads CSRF tokens and options from the pages it is served."""

    def __init__(self, http: HTTPClient) -> None:
        self.http = http

    def csrf(self, path: str = "/") -> str:
        page = self.http.get(path)
        found = CSRF.search(page.text)
        assert found, f"{path} has no CSRF token"
        return found.group(1)

    def start(self, quiz: str = "persistence", name: str = "Ada", level: str = "") -> str:
        """Start an attempt; the first question's path."""
        form = {"csrf_token": self.csrf(), "name": name, "quiz": quiz, "level": level}
        response = self.http.post("/attempts", data=form, follow_redirects=False)
        assert response.status_code == 303, response.text
        return response.headers["location"]

    def options(self, path: str) -> dict[str, str]:
        """Display label -> option text on an unanswered question page."""
        page = self.http.get(path)
        assert page.status_code == 200, page.text
        return dict(OPTION.findall(page.text))

    def label(self, path: str, right: bool) -> str:
        """The label of the right option, or of a wrong one (the tiny bank's texts say which)."""
        prefix = "Right answer of" if right else "Wrong"
        return next(k for k, text in self.options(path).items() if text.startswith(prefix))

    def answer(
        self, path: str, right: bool = True, form: dict[str, str] | None = None
    ) -> HTTPResponse:
        """Post an answer; `form` fields override ({"choice": ..., "csrf_token": ...})."""
        fields = dict(form or {})
        if "csrf_token" not in fields:
            fields["csrf_token"] = self.csrf(path)
        if "choice" not in fields:
            fields["choice"] = self.label(path, right)
        return self.http.post(path, data=fields, follow_redirects=False)

    def take(self, quiz: str, rights: list[bool], name: str = "Ada") -> str:
        """Answer a whole attempt, right or wrong in turn; the attempt's path."""
        path = self.start(quiz, name)
        for position, right in enumerate(rights, start=1):
            path = re.sub(r"/questions/\d+$", f"/questions/{position}", path)
            assert self.answer(path, right).status_code == 303
        return path.rsplit("/questions/", 1)[0]


@pytest.fixture
def student(client: TestClient) -> QuizClient:
    return QuizClient(client)


@pytest.fixture
def other_student(settings: Settings, client: TestClient) -> Iterator[QuizClient]:
    """A second browser on the same app (its own cookie jar)."""
    with TestClient(client.app, follow_redirects=False) as second:
        yield QuizClient(second)
