"""A built wheel carries the course, and persistlab installed from it finds it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.course import ROOT

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")

COURSE_DATA = ("course.toml", "exercises", "solutions", "quizzes")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    [built] = out.glob("persistlab-*.whl")
    return built


def repository_files() -> set[str]:
    tracked = subprocess.run(
        ["git", "ls-files", *COURSE_DATA], cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()
    return {f"grader/_data/{name}" for name in tracked}


def test_the_wheel_holds_the_course_templates_and_check_settings(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert repository_files() <= names
    package_data = {
        str(p.relative_to(ROOT)) for p in (ROOT / "grader").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }
    assert package_data and package_data <= names


def test_persistlab_installed_from_the_wheel_checks_a_step(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}

    def persistlab(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "grader", *args], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=120, check=False,
        )

    where = subprocess.run(
        [sys.executable, "-c", "import grader.course as c; print(c.ROOT)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert where == str(site / "grader" / "_data")
    assert persistlab("init", "ws").returncode == 0
    checked = persistlab("check", "1", "--dir", "ws", "--json")
    assert checked.returncode == 1, checked.stderr
    assert '"status": "fail"' in checked.stdout


def test_the_default_install_has_everything_the_eleven_steps_need() -> None:
    """Step 10 is part of the course, and steps 8-11 migrate with Alembic: psycopg and alembic come
    with a plain `pip install persistlab`."""
    from importlib.metadata import requires

    needed = {r.split(";")[0].split(">=")[0].strip() for r in requires("persistlab") or [] if "extra ==" not in r}
    assert {"psycopg[binary]", "sqlalchemy", "alembic", "fastapi", "uvicorn"} <= needed
