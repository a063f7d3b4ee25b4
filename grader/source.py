"""A student's Python source, read the way Python reads it: a UTF-8 BOM or a PEP 263 coding line
decides the encoding (`tokenize.detect_encoding`), as it does when main.py is imported."""

from __future__ import annotations

import ast
import io
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


def python_files(folder: Path) -> list[Path]:
    """The folder's .py files, its packages' included (`api/deps.py`), in order; not those of a
    hidden folder, a virtual environment or a cache."""
    found: list[Path] = []
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).parts[:-1]
        if any(p.startswith(".") or p in ("__pycache__", "site-packages", "node_modules") for p in parts):
            continue
        if any((folder.joinpath(*parts[: i + 1]) / "pyvenv.cfg").exists() for i in range(len(parts))):
            continue
        if path.is_file():
            found.append(path)
        if len(found) >= MAX_FILES:
            break
    return found
