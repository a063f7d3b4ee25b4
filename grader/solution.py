"""`persistlab solution`: the reference files exactly as written, a diff against the student's, or a copy.

Nothing here wraps, crops or re-indents: piped, the output holds each file byte for byte; on a
terminal, the same characters with colour codes between them (long lines are the terminal's to
fold, and copy back whole).
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path
from typing import TextIO

from pygments.console import ansiformat
from pygments.formatters.terminal import TERMINAL_COLORS
from pygments.lexer import Lexer
from pygments.lexers import DiffLexer, TextLexer, get_lexer_for_filename
from pygments.token import _TokenType
from pygments.util import ClassNotFound

from grader.course import SOLUTIONS, Step

SKIPPED = ("__pycache__",)


def solution_files(step: Step) -> list[Path]:
    """The reference solution's files (code, Dockerfile, requirements, and those in folders such
    as migrations/), sorted by their names in the step folder."""
    found = [
        path for path in step.solution_dir.rglob("*")
        if path.is_file() and not set(SKIPPED) & set(path.parts) and path.suffix != ".pyc"
    ]
    return sorted(found, key=file_name)


def file_name(path: Path) -> str:
    """A solution file's name inside its step folder: `main.py`, `migrations/env.py`."""
    return "/".join(path.relative_to(SOLUTIONS).parts[1:])


def _colour(token: _TokenType) -> str:
    while token not in TERMINAL_COLORS:
        token = token.parent
    return TERMINAL_COLORS[token][0]


def coloured(text: str, lexer: Lexer) -> str:
    """`text` with terminal colour codes around its tokens; the characters are left exactly as
    they are (no tab expansion, no newline added or dropped), else `text` plain."""
    pieces = [(token, value) for _, token, value in lexer.get_tokens_unprocessed(text)]
    if "".join(value for _, value in pieces) != text:
        return text
    out = []
    for token, value in pieces:
        colour = _colour(token)
        out.append(ansiformat(colour, value) if colour and value.strip() else value)
    return "".join(out)


def _lexer(path: Path) -> Lexer:
    try:
        return get_lexer_for_filename(path.name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def emit(out: TextIO, text: str) -> None:
    """Write `text` as the bytes it was read from (a file that is not UTF-8 comes out unchanged)."""
    out.flush()
    out.buffer.write(text.encode("utf-8", "surrogateescape"))
    out.buffer.flush()


def print_files(files: list[Path], out: TextIO, colour: bool, header: bool = True) -> None:
    """Each file as written, after a `==> name <==` line (as `tail` heads several files)."""
    chunks = []
    for index, path in enumerate(files):
        if header:
            title = f"==> {file_name(path)} <=="
            chunks.append(("\n" if index else "") + (ansiformat("**", title) if colour else title) + "\n")
        text = _read(path)
        chunks.append(coloured(text, _lexer(path)) if colour else text)
        if header and text and not text.endswith("\n"):
            chunks.append("\n")
    emit(out, "".join(chunks))


def diff_files(files: list[Path], folder: Path) -> str:
    """A unified diff from the student's files in `folder` to the reference files; "" if equal."""
    chunks = []
    for path in files:
        name = file_name(path)
        mine = folder / name
        theirs = _read(mine).splitlines(keepends=True) if mine.is_file() else []
        lines = difflib.unified_diff(
            theirs, _read(path).splitlines(keepends=True),
            fromfile=f"yours/{name}" if mine.is_file() else "/dev/null",
            tofile=f"solution/{name}",
        )
        for line in lines:
            chunks.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(chunks)


def print_diff(diff: str, out: TextIO, colour: bool) -> None:
    emit(out, coloured(diff, DiffLexer(stripnl=False, ensurenl=False)) if colour else diff)


def write_files(files: list[Path], target: Path) -> list[Path]:
    """Copy the files into `target` (made if missing); refuses, copying nothing, to replace a file."""
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} is a file; give a folder to write the solution into.")
    clashes = [target / file_name(path) for path in files if (target / file_name(path)).exists()]
    if clashes:
        names = ", ".join(str(path) for path in clashes)
        raise FileExistsError(f"{names} already exist{'s' if len(clashes) == 1 else ''}; nothing "
                              "was written. Give an empty folder, or move those files first.")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in files:
        copy = target / file_name(path)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
        written.append(copy)
    return written
