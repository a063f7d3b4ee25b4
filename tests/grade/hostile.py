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
