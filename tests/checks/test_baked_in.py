"""A secret written in the code is found; a name that says "token" given a path or a header's
name is no secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.checks.baked_in import baked_in

NO_SECRET = {
    "a token URL": 'TOKEN_URL = "/token"\n',
    "a header's name": 'API_KEY_HEADER = "X-API-Key"\nAUTH_HEADER = "Authorization"\n',
    "the setting that holds it": 'import os\n\nSECRET_ENV = "APP_SECRET_KEY"\nSECRET = os.environ.get(SECRET_ENV, "")\n',
}
SECRET = {
    "a key": 'SECRET_KEY = "3f9a1c0e7b"\n',
    "a key in capitals": 'API_TOKEN = "AKIAIOSFODNN7EXAMPLE"\n',
    "a password beside a path": 'TOKEN_URL = "/token"; password = "hunter2"\n',
}


@pytest.mark.parametrize("code", NO_SECRET.values(), ids=NO_SECRET.keys())
def test_what_names_a_secret_is_no_secret(code: str, tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text(code)
    assert baked_in(tmp_path) is None


@pytest.mark.parametrize("code", SECRET.values(), ids=SECRET.keys())
def test_a_secret_in_the_code_is_found(code: str, tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text(code)
    found = baked_in(tmp_path)
    assert found is not None and found[:3] == ("settings.py", 1, "a secret written in the code")


def test_a_file_saved_with_a_bom_is_read_as_python_reads_it(tmp_path: Path) -> None:
    docstring = '"""Settings, e.g. DATABASE_URL=postgresql://notes:example@db/notes."""\nimport os\n'
    (tmp_path / "settings.py").write_bytes(b"\xef\xbb\xbf" + docstring.encode())
    assert baked_in(tmp_path) is None
    (tmp_path / "settings.py").write_bytes(b"\xef\xbb\xbf" + (docstring + 'SECRET_KEY = "3f9a1c0e7b"\n').encode())
    assert baked_in(tmp_path) == ("settings.py", 3, "a secret written in the code", 'SECRET_KEY = "3f9a1c0e7b"')
