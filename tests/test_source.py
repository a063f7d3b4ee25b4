"""Student source is read as Python reads it: a BOM or a coding line decides the encoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.driver import SubmissionError, preflight
from grader.source import SourceError, decode_source, parse_source, read_source

CAFE = "x = 'café'\n"


@pytest.mark.parametrize(
    "data",
    [
        CAFE.encode("utf-8"),
        CAFE.encode("utf-8-sig"),
        b"# -*- coding: latin-1 -*-\n" + CAFE.encode("latin-1"),
        b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\n" + CAFE.encode("cp1252"),
    ],
)
def test_each_encoding_python_accepts_is_read_as_python_reads_it(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "main.py"
    path.write_bytes(data)
    assert decode_source(data, "main.py").endswith(CAFE)
    assert read_source(path).endswith(CAFE) and not read_source(path).startswith("\ufeff")
    tree = parse_source(path)
    assert tree is not None and tree.body[-1].value.value == "café"  # type: ignore[attr-defined]
    (tmp_path / "db.py").write_bytes(data)
    preflight(tmp_path)  # nothing refused


def test_bytes_their_encoding_refuses_are_refused_with_the_byte(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"main.py is not UTF-8 text \(byte 8\)"):
        decode_source(CAFE.encode("latin-1"), "main.py")
    (tmp_path / "main.py").write_bytes(CAFE.encode("latin-1"))
    with pytest.raises(SubmissionError, match="not UTF-8"):
        preflight(tmp_path)


def test_a_main_py_of_only_a_bom_is_empty(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_bytes(b"\xef\xbb\xbf\n")
    with pytest.raises(SubmissionError, match="is empty"):
        preflight(tmp_path)
