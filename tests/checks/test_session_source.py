"""The session dependency is found wherever a correct app keeps it, and read for its close."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.checks.orm_app import get_db_problem

DEPENDENCY = (
    "from database import SessionLocal\n\n\ndef get_session():\n    session = SessionLocal()\n"
    "    try:\n        yield session\n    finally:\n        session.close()\n"
)
ROUTE = (
    "from fastapi import Depends, FastAPI\n{imports}\napp = FastAPI()\n\n\n"
    "@app.get('/notes')\ndef notes(db=Depends({dependency})):\n    return {{}}\n"
)
LAYOUTS = {
    "a module's attribute": {"deps.py": DEPENDENCY, "main.py": ROUTE.format(imports="import deps\n", dependency="deps.get_session")},
    "a package": {"api/__init__.py": "", "api/deps.py": DEPENDENCY,
                  "main.py": ROUTE.format(imports="from api.deps import get_session\n", dependency="get_session")},
}


@pytest.mark.parametrize("files", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_a_closing_dependency_is_found_where_it_is_kept(files: dict[str, str], tmp_path: Path) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert get_db_problem(tmp_path) == ""
    leaky = next(name for name in files if name.endswith("deps.py"))
    (tmp_path / leaky).write_text(DEPENDENCY.replace("        session.close()\n", "        pass\n"))
    assert f"get_session in {leaky} (line 4)" in get_db_problem(tmp_path)


def test_a_virtual_environment_in_the_folder_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(ROUTE.format(imports="", dependency="get_db"))
    venv = tmp_path / "venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "lib" / "deps.py").write_text(DEPENDENCY.replace("get_session", "get_db"))
    assert "no function called get_db" in get_db_problem(tmp_path)
