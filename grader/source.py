"""A student's Python source, read the way Python reads it: a UTF-8 BOM or a PEP 263 coding line
decides the encoding (`tokenize.detect_encoding`), as it does when main.py is imported."""

from __future__ import annotations

import ast
import io
import os
import tokenize
from pathlib import Path


class SourceError(ValueError):
    """The bytes cannot be Python source: bytes its encoding refuses."""


def decode_source(data: bytes, name: str) -> str:
    """The text of a .py file's bytes, without a BOM; SourceError says why Python would refuse it."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:  # no usable coding line: Python reads UTF-8, or reports the SyntaxError
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        said = "UTF-8" if encoding.startswith("utf-8") else encoding
        raise SourceError(
            f"{name} is not {said} text (byte {exc.start}); save it as UTF-8 in your editor."
        ) from None


def read_source(path: Path) -> str:
    """The text of a .py file as Python decodes it; "" when it is missing or cannot be decoded."""
    try:
        return decode_source(path.read_bytes(), path.name)
    except (OSError, SourceError):
        return ""


def parse_source(path: Path) -> ast.Module | None:
    """The file's syntax tree, parsed from its bytes as Python does; None if it does not parse."""
    try:
        return ast.parse(path.read_bytes(), filename=path.name)
    except (OSError, SyntaxError, ValueError):
        return None


MAX_FILES = 200  # a step folder is a small app; past this, the rest is not its code
_NOT_CODE = {"__pycache__", "site-packages", "node_modules"}


def python_files(folder: Path) -> list[Path]:
    """The folder's .py files, its packages' included (`api/deps.py`), in order; not those of a
    hidden folder, a virtual environment or a cache, which are not walked at all."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and d not in _NOT_CODE and not (here / d / "pyvenv.cfg").exists()
        )
        found += [here / name for name in sorted(files) if name.endswith(".py") and (here / name).is_file()]
        if len(found) >= MAX_FILES:
            break
    return sorted(found[:MAX_FILES])
