"""The grader reads a student's answers safely: nothing decoded, headers and body capped, memory
small whatever a hostile server sends; and an answer that arrived in time is never refused."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpcore
import httpx
import pytest

from grader.check import run_checks
from grader.course import Course
from grader.engine.limits import Limits
from grader.engine.patience import second_wait
from grader.engine.process import StudentProcess
from grader.engine.transport import MAX_BODY_BYTES, NoAnswerInTime, UnsafeAnswer, _DeadlineStream
from grader.results import FAIL
from tests.checks.variants import S3, Variant
from tests.engine.machine import favoured, hog_on_cpu_0, peak_growth, starved

LIMITS = Limits(startup=20.0, request=5.0, stop=2.0)

HOSTILE_APP = '''
import asyncio
import zlib

from fastapi import FastAPI
from fastapi.responses import Response, StreamingResponse

app = FastAPI()


def gzip_of_zeros(size):
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts = [squeeze.compress(block) for _ in range(size >> 20)]
    return b"".join(parts) + squeeze.flush()


def twice(size):
    inner = gzip_of_zeros(size)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    return squeeze.compress(inner) + squeeze.flush()


BOMB = twice(64 << 20)  # about 1 KB that decodes to 64 MiB


@app.get("/bomb")
def bomb():
    return Response(BOMB, headers={"Content-Encoding": "gzip, gzip"}, media_type="application/json")


@app.get("/long-header")
def long_header():
    return Response("{}", headers={"X-Filler": "x" * (1 << 20)}, media_type="application/json")


@app.get("/many-headers")
def many_headers():
    response = Response("{}", media_type="application/json")
    for n in range(5000):
        response.raw_headers.append((f"x-h{n}".encode(), b"1"))
    return response


@app.get("/endless")
def endless():
    async def forever():
        block = bytes(1 << 16)
        while True:
            yield block
            await asyncio.sleep(0)
    return StreamingResponse(forever(), media_type="application/json")


@app.get("/just-over")
def just_over():
    return Response(b" " * (MAX + 1), media_type="application/json")


@app.get("/just-under")
def just_under():
    return Response(b"[" + b" " * (MAX - 2) + b"]", media_type="application/json")


@app.get("/deep")
def deep():
    return Response(b"[" * 5000 + b"]" * 5000, media_type="application/json")


@app.get("/deep-unclosed")
def deep_unclosed():
    return Response(b'{"detail":' * 3000, media_type="application/json")


@app.get("/brackets-in-strings")
def brackets_in_strings():
    return {"text": "[" * 5000 + '\\\\"{' * 100, "nested": [[[[[]]]]]}
'''


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudentProcess]:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "main.py").write_text(f"MAX = {MAX_BODY_BYTES}\n" + HOSTILE_APP)
    child = StudentProcess(folder, LIMITS, folder)
    report = child.wait_report("ready")
    assert report.ok, (report, child.output())
    yield child
    child.close()


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")


@linux_only
@pytest.mark.parametrize(("path", "reason"), [
    ("/bomb", "compressed (Content-Encoding: gzip, gzip)"),
    ("/long-header", "headers were longer than 64 KiB"),
    ("/many-headers", "header fields, more than 100"),
    ("/endless", "body was larger than 1 MiB"),
    ("/just-over", "body was larger than 1 MiB"),
    ("/deep", "nested arrays or objects more than 100 deep"),
    ("/deep-unclosed", "nested arrays or objects more than 100 deep"),
])
def test_a_hostile_answer_is_refused_and_costs_little_memory(
    path: str, reason: str, hostile: StudentProcess
) -> None:
    refused: list[UnsafeAnswer] = []

    def ask() -> None:
        with hostile.client() as client:
            try:
                client.get(path)
            except UnsafeAnswer as exc:
                refused.append(exc)

    grew = peak_growth(ask)
    assert grew < 24 << 20, f"the grader's memory rose by {grew >> 20} MiB"
    assert refused and reason in refused[0].reason, refused


def test_an_answer_up_to_the_cap_is_read_whole(hostile: StudentProcess) -> None:
    with hostile.client() as client:
        response = client.get("/just-under")
    assert response.status_code == 200 and response.json() == []
    assert len(response.content) == MAX_BODY_BYTES


def test_brackets_inside_strings_are_text(hostile: StudentProcess) -> None:
    with hostile.client() as client:
        body = client.get("/brackets-in-strings").json()
    assert body == {"text": "[" * 5000 + '\\"{' * 100, "nested": [[[[[]]]]]}


def test_the_grader_asks_for_no_compression(tmp_path: Path) -> None:
    """A correct app with GZipMiddleware answers the grader uncompressed, and passes."""
    (tmp_path / "main.py").write_text(
        "from fastapi import FastAPI\nfrom fastapi.middleware.gzip import GZipMiddleware\n"
        "app = FastAPI()\napp.add_middleware(GZipMiddleware, minimum_size=1)\n\n"
        "@app.get('/big')\ndef big():\n    return {'text': 'x' * 5000}\n"
    )
    child = StudentProcess(tmp_path, LIMITS, tmp_path)
    try:
        assert child.wait_report("ready").ok, child.output()
        with child.client() as client:
            response = client.get("/big")
    finally:
        child.close()
    assert "content-encoding" not in response.headers
    assert response.json() == {"text": "x" * 5000}


def test_a_check_names_the_refused_answer(course: Course, tmp_path: Path) -> None:
    bomb = HOSTILE_APP.split("app = FastAPI()")[1].split('@app.get("/bomb")')[0]
    variant = Variant("gzip-bomb", 3, S3, {"main.py": [
        ("from fastapi import FastAPI", "import zlib\n\nfrom fastapi import FastAPI, Response"),
        ("    return {\"id\": note_id}",
         ("    return Response(BOMB, headers={'Content-Encoding': 'gzip, gzip'}, "
          "media_type='application/json')")),
        ("app = FastAPI()", "app = FastAPI()\n" + bomb),
    ]})
    report = run_checks(course.step(3), variant.write(tmp_path / "s"), LIMITS)
    first = report.first_failure
    assert report.status == FAIL and first is not None
    assert "refused the answer unread" in first.message and "gzip, gzip" in first.message, first


def test_an_answer_nested_too_deep_fails_the_check_not_the_grader(course: Course, tmp_path: Path) -> None:
    """Python's JSON parser raises RecursionError on it: the grader refuses it unread."""
    variant = Variant("deep-json", 3, S3, {"main.py": [
        ("from fastapi import FastAPI", "from fastapi import FastAPI, Response"),
        ("    return {\"id\": note_id}",
         "    return Response(b'[' * 3000 + b']' * 3000, media_type='application/json')"),
    ]})
    report = run_checks(course.step(3), variant.write(tmp_path / "s"), LIMITS)
    first = report.first_failure
    assert report.status == FAIL and first is not None
    assert "refused the answer unread" in first.message and "100 deep" in first.message, first


def _stream_with(answer: bytes, started: float) -> tuple[_DeadlineStream, socket.socket]:
    ours, theirs = socket.socketpair()
    theirs.sendall(answer)
    return _DeadlineStream(httpcore._backends.sync.SyncStream(ours), 1.0, started, None), theirs


def test_an_answer_that_arrived_in_time_is_read_though_the_deadline_passed() -> None:
    """The grader itself may be slow to look (a busy machine): what had arrived counts."""
    stream, theirs = _stream_with(b"HTTP/1.1 200 OK\r\n\r\n", time.monotonic() - 10)
    try:
        assert stream.read(65536) == b"HTTP/1.1 200 OK\r\n\r\n"
        with pytest.raises(NoAnswerInTime):  # nothing more came: now it is late
            stream.read(65536)
    finally:
        stream.close()
        theirs.close()


def test_a_timeout_reports_the_time_it_gave(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(
        "import time\nfrom fastapi import FastAPI\napp = FastAPI()\n\n"
        "@app.get('/slow')\ndef slow():\n    time.sleep(30)\n"
    )
    child = StudentProcess(tmp_path, Limits(startup=20.0, request=0.5), tmp_path)
    try:
        assert child.wait_report("ready").ok, child.output()
        started = time.monotonic()
        with child.client() as client, pytest.raises(httpx.ReadTimeout) as caught:
            client.get("/slow")
        waited = time.monotonic() - started
    finally:
        child.close()
    assert isinstance(caught.value.__cause__, NoAnswerInTime)
    given = caught.value.__cause__.seconds  # a second wait only if the machine kept it waiting
    assert given in (0.5, 0.5 + second_wait(0.5)) and waited >= given - 0.05, (given, waited)


def test_no_fd_is_left_open(hostile: StudentProcess) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        with hostile.client() as client, pytest.raises(UnsafeAnswer):
            client.get("/bomb")
    assert len(os.listdir("/proc/self/fd")) <= before


NEEDS_CPU_TO_ANSWER = '''
import time
from fastapi import FastAPI

app = FastAPI()


@app.get("/work")
async def work():
    start = time.process_time()
    while time.process_time() - start < 0.1:
        pass
    return {"done": True}
'''


@pytest.mark.solo
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs SCHED_IDLE and /proc")
def test_an_answer_kept_from_the_cpu_gets_a_second_wait(tmp_path: Path) -> None:
    """A handler that wants a CPU the machine does not give it is slow, not hung."""
    (tmp_path / "main.py").write_text(NEEDS_CPU_TO_ANSWER)
    child = StudentProcess(tmp_path, Limits(startup=20.0, request=2.0), tmp_path)
    try:
        assert child.wait_report("ready").ok, child.output()
        with hog_on_cpu_0(), starved(child.pid, until=2.5), child.client() as client:
            response = client.get("/work")
    finally:
        child.close()
    assert response.json() == {"done": True}


HANGS_AFTER_A_SLOW_START = NEEDS_CPU_TO_ANSWER + '''

@app.get("/loop")
async def loop():
    while True:
        pass


@app.get("/naps")
async def naps():
    while True:
        start = time.process_time()
        while time.process_time() - start < 0.001:
            pass
        time.sleep(0.003)
'''


@pytest.mark.solo
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs SCHED_IDLE and /proc")
@pytest.mark.skipif(os.geteuid() != 0, reason="raising a process's priority needs root")
@pytest.mark.parametrize("hang", ["/loop", "/naps"])
def test_a_process_starved_before_is_judged_by_what_it_does_now(tmp_path: Path, hang: str) -> None:
    """Held back once, then favoured (a CPU all but its own, whatever else runs): a loop, or a
    handler asleep most of the time, is hung, and fails at the limit without a second wait."""
    (tmp_path / "main.py").write_text(HANGS_AFTER_A_SLOW_START)
    child = StudentProcess(tmp_path, Limits(startup=20.0, request=1.0), tmp_path)
    try:
        assert child.wait_report("ready").ok, child.output()
        with hog_on_cpu_0(), starved(child.pid, until=2.5), child.client() as client:
            assert client.get("/work").json() == {"done": True}  # its life so far: mostly held back
        with favoured(child.pid), child.client() as client, pytest.raises(httpx.ReadTimeout) as caught:
            client.get(hang)
    finally:
        child.close()
    assert isinstance(caught.value.__cause__, NoAnswerInTime)
    assert caught.value.__cause__.seconds == 1.0
