"""Hostile step-3 submissions: the reference solution with something nasty added at import.

Each names the words its first failure must hold. {canary}, {out}, {source}, {port} and
{solutions} are filled in by the test with the paths and port it watches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.course import SOLUTIONS

BASE = (SOLUTIONS / "03-add-note" / "main.py").read_text(encoding="utf-8")
NO_APP = ("app = FastAPI()", "api = FastAPI()")


@dataclass(frozen=True)
class Hostile:
    name: str
    prelude: str  # code run first thing at import
    says: tuple[str, ...]
    break_app: bool = False  # rename `app`, so only a cheat could pass
    epilogue: str = ""  # code added after the app is defined

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

HOSTILE = [
    Hostile("loop-at-import", "while True:\n    pass\n", ("did not start within",)),
    Hostile("loop-in-handler", "", ("no answer within",)),
    Hostile("fork-bomb", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
            ("did not start within",)),
    Hostile("memory-bomb", "hoard = []\nwhile True:\n    hoard.append(bytearray(50 << 20))\n",
            ("MemoryError",)),
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
