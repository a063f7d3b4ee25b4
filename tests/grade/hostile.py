"""Hostile step-3 submissions: the reference solution with something nasty added at import.

Each names the words its first failure must hold. {canary}, {out}, {source}, {port} and
{solutions} are filled in by the test with the paths and port it watches.

ODD holds submissions aimed at the grader's outputs rather than its sandbox: messages worded like
the grader's own, characters XML, Markdown, HTML or a terminal would act on, a huge message,
deaths by a signal, names a spreadsheet would evaluate, each with the outcome it must get.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader.course import SOLUTIONS
from grader.results import CRASHED, FAILED, MEMORY, PASSED, TIMEOUT

BASE = (SOLUTIONS / "03-add-note" / "main.py").read_text(encoding="utf-8")
NO_APP = ("app = FastAPI()", "api = FastAPI()")


@dataclass(frozen=True)
class Hostile:
    name: str
    prelude: str  # code run first thing at import
    says: tuple[str, ...]
    break_app: bool = False  # rename `app`, so only a cheat could pass
    epilogue: str = ""  # code added after the app is defined
    outcome: str = ""  # the outcome its first failure must have, where a test checks it

    def main_py(self, **where: object) -> str:
        body = BASE.replace(*NO_APP).replace("@app.", "@api.") if self.break_app else BASE
        return self.prelude.format(**where) + "\n" + body + self.epilogue


DRIP = """
import asyncio
from fastapi.responses import StreamingResponse


@app.middleware("http")
async def drip(request, call_next):
    async def forever():
        while True:
            yield b" "
            await asyncio.sleep(0.5)
    return StreamingResponse(forever())
"""

DEEP_JSON = """
from starlette.responses import Response


@app.middleware("http")
async def deep(request, call_next):
    return Response(b"[" * 5000 + b"]" * 5000, media_type="application/json")
"""

# the status socket's token, read before the child reads it, then given back to the child: with it,
# words only the grader's side may say (a sandbox that failed, an exit by a signal)
FORGES_STATUS = """
import json, os, socket, stat
import grader.engine.child as child
for fd in map(int, os.listdir('/proc/self/fd')):
    try:
        said = socket.socket(fileno=os.dup(fd)) if stat.S_ISSOCK(os.fstat(fd).st_mode) else None
    except OSError:
        continue
    if said is not None and said.type == socket.SOCK_STREAM and not said.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        token = said.recv(100, socket.MSG_DONTWAIT).decode().strip()
        child._take_token = lambda spec: setattr(spec, 'token', token)
        for forged in {forged}:
            os.write(fd, (json.dumps({{**forged, 'token': token}}) + '\\n').encode())
"""


def forges(*messages: dict[str, object]) -> str:
    return FORGES_STATUS.replace("{forged}", repr(messages).replace("{", "{{").replace("}", "}}"))


HOSTILE = [
    Hostile("loop-at-import", "while True:\n    pass\n", ("did not start within",)),
    Hostile("loop-in-handler", "", ("no answer within",)),
    Hostile("fork-bomb", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
            ("did not start within",)),
    Hostile("memory-bomb", "hoard = []\nwhile True:\n    hoard.append(bytearray(50 << 20))\n",
            ("MemoryError", "more than 1024 MiB of memory")),
    Hostile("os-exit", "import os\nos._exit(0)\n", ("ended before it answered",)),
    Hostile("sys-exit", "import sys\nsys.exit(0)\n", ("sys.exit",)),
    Hostile("fake-passes",
            "import json\nprint('test_first_note_gets_id_one PASSED')\n"
            "print(json.dumps({{'score': 38, 'max_score': 38, 'tests': []}}))\n",
            ("no `app`",), break_app=True),
    Hostile("writes-results",
            "import os\nfor path in ({out!r} + '/results/writes-results.json', '/autograder/results/results.json',\n"
            "             '../results.json', 'results.json'):\n"
            "    try:\n        os.makedirs(os.path.dirname(path) or '.', exist_ok=True)\n"
            "        open(path, 'w').write('{{\"score\": 38}}')\n    except OSError:\n        pass\n",
            ("no `app`",), break_app=True),
    Hostile("writes-outside",
            "import os\nfor path in ({canary!r}, {source!r} + '/evil.txt', '/root/evil.txt', '/etc/evil.txt'):\n"
            "    try:\n        open(path, 'w').write('owned')\n    except OSError:\n        pass\n",
            ("no `app`",), break_app=True),
    Hostile("reads-solutions", "exec(open({solutions!r} + '/03-add-note/main.py').read())\n",
            ("FileNotFoundError",), break_app=True),
    Hostile("calls-host", "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'hi')\n",
            ("OSError", "unreachable"), break_app=True),
    Hostile("daemon",
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        while True:\n            time.sleep(0.1)\n    os._exit(0)\n",
            ("no `app`",), break_app=True),
    Hostile("fills-disk",
            "import itertools\nfor n in itertools.count():\n    with open(f'fill{{n}}', 'wb') as f:\n"
            "        f.write(bytes(8 << 20))\n",
            ("No space left on device",)),
    Hostile("drip", "", ("no answer within", "time limit"), epilogue=DRIP),
    # an answer Python's JSON parser meets with RecursionError, which failed the grader
    Hostile("deep-json", "", ("nested arrays or objects more than 100 deep",), epilogue=DEEP_JSON),
    # the grader's own words on the status socket: a sandbox that failed read as the machine's fault
    Hostile("forges-sandbox-error", forges({"stage": "import", "error": "SandboxError",
                                            "message": "the sandbox failed: mount /proc"}),
            ("no `app`",), break_app=True),
    Hostile("forges-exit", forges({"stage": "exited", "code": -9}), ("no `app`",), break_app=True),
]


def handler_loop(text: str) -> str:
    return text.replace("    global next_id\n", "    global next_id\n    while True:\n        pass\n")


def write_class(root: Path, **where: object) -> dict[str, Path]:
    """One workspace per hostile submission, holding only the step-3 folder."""
    folders = {}
    for hostile in HOSTILE:
        folder = root / hostile.name / "03-add-note"
        folder.mkdir(parents=True)
        text = hostile.main_py(**where)
        if hostile.name == "loop-in-handler":
            text = handler_loop(text)
        (folder / "main.py").write_text(text, encoding="utf-8")
        folders[hostile.name] = folder
    return folders


def middleware(body: str) -> str:
    """An HTTP middleware running `body` (indented code) on every request."""
    return f"""

@app.middleware("http")
async def odd(request, call_next):
{body}
    return await call_next(request)
"""


CONTROL = "NUL \\x00 BEL \\x07 ESC \\x1b[2J\\x1b[31m red, DEL \\x7f, form feed \\x0c"
MARKUP = ("<script>alert(1)</script> <img src=x onerror=alert(1)> **bold** "
          "[click](javascript:alert(1)) `code` <!-- hidden -->")

ODD = [
    # the student's own words, which a grader reading wording took for a time limit
    Hostile("not-within", "raise RuntimeError('the data file is not within this folder')\n",
            ("not within this folder",), outcome=CRASHED),
    Hostile("time-words", "raise TimeoutError('timed out: no answer within the time limit')\n",
            ("timed out: no answer within the time limit",), outcome=CRASHED),
    Hostile("time-words-in-handler", "", ("no answer within 2 s (time limit), timed out",),
            epilogue=middleware("    raise RuntimeError('no answer within 2 s (time limit), timed out')"),
            outcome=FAILED),
    # characters that broke the class's junit.xml, or act on a terminal or a Markdown reader
    Hostile("control-characters", f"raise RuntimeError('{CONTROL}')\n", ("BEL",), outcome=CRASHED),
    Hostile("markup", f"raise RuntimeError({MARKUP!r})\n", ("alert",), outcome=CRASHED),
    Hostile("huge-message", "raise RuntimeError('x' * (1 << 20))\n", ("characters cut",), outcome=CRASHED),
    # deaths by a signal: named, never explained as sys.exit()
    Hostile("segfault", "import ctypes\nctypes.string_at(0)\n", ("SIGSEGV",), outcome=CRASHED),
    Hostile("abort", "import os\nos.abort()\n", ("killed by SIGABRT",), outcome=CRASHED),
    Hostile("segfault-in-handler", "", ("SIGSEGV",),
            epilogue=middleware("    import ctypes\n    ctypes.string_at(0)"), outcome=CRASHED),
    # out of memory at import: its own outcome, not a crash like any other
    # (a MemoryError under an address-space limit, an OOM kill in a memory cgroup: either way)
    Hostile("memory", "hoard = []\nwhile True:\n    hoard.append(bytearray(50 << 20))\n", (),
            outcome=MEMORY),
    # a real hang: the one in this class that hit a time limit
    Hostile("hangs", "", ("no answer within",),
            epilogue=middleware("    import time\n    time.sleep(3600)"), outcome=TIMEOUT),
    # names a spreadsheet would run as formulas: correct work, graded under these names
    Hostile("+1+1", "", (), outcome=PASSED),
    Hostile("@SUM", "", (), outcome=PASSED),
]


def write_odd_class(root: Path) -> dict[str, Path]:
    """One workspace per ODD submission, holding only the step-3 folder."""
    folders = {}
    for odd in ODD:
        folder = root / odd.name / "03-add-note"
        folder.mkdir(parents=True)
        (folder / "main.py").write_text(odd.main_py(), encoding="utf-8")
        folders[odd.name] = folder
    return folders


def nested_folders(root: Path, depth: int, name: str = "d") -> Path:
    """`depth` folders, each inside the last, made one at a time (each from the last's file
    descriptor, so no long path is looked up); the deepest."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)
    return root.joinpath(*[name] * depth)


def remove_nested(root: Path, name: str = "d") -> None:
    """Remove what nested_folders made (and the files in it), deepest first, without recursion."""
    fds = [os.open(root, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        while name in os.listdir(fds[-1]):
            fds.append(os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
        while len(fds) > 1:
            for child in os.listdir(fds[-1]):
                os.unlink(child, dir_fd=fds[-1])
            os.close(fds.pop())
            os.rmdir(name, dir_fd=fds[-1])
    finally:
        for fd in fds:
            os.close(fd)


@contextmanager
def deep(depth: int, under: str = "01-notes-dict") -> Iterator[Path]:
    """A workspace whose step folder `under` holds main.py and `depth` nested folders, on a tmpfs
    where there is one (1,200 folders take milliseconds there, seconds on a busy disk)."""
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    base = Path(tempfile.mkdtemp(prefix="deep-", dir=shm))
    step = base / "eve" / under
    step.mkdir(parents=True)
    (step / "main.py").write_text("notes_db = {}\n", encoding="utf-8")
    try:
        nested_folders(step, depth)
        yield base / "eve"
    finally:
        remove_nested(step)
        shutil.rmtree(base)
# What the jail hides and the system call filter refuses. Each would earn full marks if its
# attack worked (the app is served as written, or an honest classmate's app is run instead);
# contained, it ends in the error named. {answer_key} lies in the grader's working directory,
# {host_socket} is a Unix socket the host listens on outside the jail (like PostgreSQL's).
SYSCALL = """
import ctypes, os, platform
libc = ctypes.CDLL(None, use_errno=True)
NUMBERS = dict(x86_64=dict({x86_64}), aarch64=dict({aarch64}))[platform.machine()]


def call(name, *args):
    if libc.syscall(NUMBERS[name], *args) < 0:
        code = ctypes.get_errno()
        raise OSError(code, name + ': ' + os.strerror(code))
"""


def syscall_prelude(x86_64: str, aarch64: str, body: str) -> str:
    """A prelude making raw system calls by name: call('add_key', ...) raises OSError if refused."""
    return SYSCALL.format(x86_64=x86_64, aarch64=aarch64) + body


KEYRING = syscall_prelude(
    "add_key=248, keyctl=250", "add_key=217, keyctl=219",
    "call('add_key', b'user', b'persistlab', b'left for the next student', 25, ctypes.c_long(-4))\n"
    "call('keyctl', 0, ctypes.c_long(-4), 0)\n")
NEW_USER_NAMESPACE = syscall_prelude("unshare=272", "unshare=97", "call('unshare', 0x10000000)\n")
PTRACE = syscall_prelude(
    "ptrace=101", "ptrace=117",
    "import signal, time\nlibc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE\nchild = os.fork()\n"
    "if child == 0:\n    time.sleep(30)\n    os._exit(0)\n"
    "try:\n    call('ptrace', 16, child, 0, 0)  # PTRACE_ATTACH\nfinally:\n"
    "    os.kill(child, signal.SIGKILL)\n    os.waitpid(child, 0)\n")
JAILED = [
    Hostile("reads-answer-key", "exec(open({answer_key!r}).read())\n", ("FileNotFoundError",),
            break_app=True),
    Hostile("host-socket", "import socket\nsocket.socket(socket.AF_UNIX).connect({host_socket!r})\n",
            ("FileNotFoundError",)),
    Hostile("host-processes",
            "if open('/proc/1/cmdline', 'rb').read() == open('/proc/self/cmdline', 'rb').read():\n"
            "    raise ProcessLookupError('pid 1 is this app itself: no process of the host in sight')\n",
            ("ProcessLookupError",)),
    Hostile("keyring", KEYRING, ("PermissionError",)),
    Hostile("new-user-namespace", NEW_USER_NAMESPACE, ("PermissionError",)),
    Hostile("ptrace", PTRACE, ("PermissionError",)),
]
HOSTILE += JAILED
HONEST = ("honest-a", "honest-b")


def write_honest(root: Path) -> None:
    """Honest classmates, graded beside the hostile ones: the reference solution of step 3."""
    for name in HONEST:
        folder = root / name / "03-add-note"
        folder.mkdir(parents=True)
        (folder / "main.py").write_text(BASE, encoding="utf-8")
