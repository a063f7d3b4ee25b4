"""Reading a student's Dockerfile: its instructions, its ENV and ARG settings, and its CMD as argv."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

from grader.feedback import CheckFailure

LISTEN_OPTIONS = ("--host", "--port", "--uds", "--fd")  # replaced by the grader's own socket
_PYTHON = re.compile(r"^(/usr/(local/)?bin/)?python(3(\.\d+)?)?$")


def instructions(folder: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each instruction, continuation lines joined."""
    path = folder / "Dockerfile"
    if not path.is_file():
        raise CheckFailure(
            "There is no Dockerfile beside main.py.",
            "Write one: FROM a slim Python image, install requirements.txt, copy the app, and "
            "start uvicorn. README.md shows the shape.",
        )
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8", errors="replace"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def settings(folder: Path) -> list[tuple[str, str, str]]:
    """(ENV or ARG, name, value) for every setting; the value is "" when none is written."""
    found = []
    for word, rest in instructions(folder):
        if word not in ("ENV", "ARG"):
            continue
        try:
            parts = shlex.split(rest)
        except ValueError:
            parts = rest.split()
        if word == "ENV" and len(parts) >= 2 and "=" not in parts[0]:  # legacy `ENV NAME value`
            found.append((word, parts[0], " ".join(parts[1:])))
            continue
        for part in parts:
            name, _, value = part.partition("=")
            found.append((word, name, value))
    return found


def start_command(folder: Path) -> list[str]:
    """The Dockerfile's CMD as a list of words: JSON (exec form), or split like a shell would."""
    commands = [rest for word, rest in instructions(folder) if word == "CMD"]
    if not commands:
        raise CheckFailure(
            "The Dockerfile has no CMD, so the image does not say how to start the app.",
            "End it with `CMD [\"uvicorn\", \"main:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8000\"]`.",
        )
    last = commands[-1]
    try:
        words = json.loads(last) if last.startswith("[") else shlex.split(last)
    except ValueError:
        raise CheckFailure(
            f"The Dockerfile's CMD cannot be read: {last}",
            "Write it as a JSON list of words: `CMD [\"uvicorn\", \"main:app\", ...]`.",
        ) from None
    return [str(word) for word in words]


def runnable_here(words: list[str]) -> list[str] | None:
    """The CMD as this machine runs it: uvicorn through this Python, without --host and --port.

    Everything else is kept as written, so a misspelt option fails the way it would in the
    image. None when the CMD does not start uvicorn.
    """
    if words[:1] == ["uvicorn"]:
        rest = words[1:]
    elif len(words) >= 3 and _PYTHON.match(words[0]) and words[1:3] == ["-m", "uvicorn"]:
        rest = words[3:]
    else:
        return None
    kept: list[str] = []
    skip = False
    for word in rest:
        if skip:
            skip = False
        elif word in LISTEN_OPTIONS:
            skip = True
        elif not word.startswith(tuple(f"{option}=" for option in LISTEN_OPTIONS)):
            kept.append(word)
    return [sys.executable, "-m", "uvicorn", *kept]
