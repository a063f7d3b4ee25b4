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


def _default_install() -> set[str]:
    """The distributions a plain `pip install persistlab` brings, its dependencies' included."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: set[tuple[str, str]] = set()  # (distribution, extra asked for, or "")
    pending = [("persistlab", "")]
    while pending:
        name, extra = pending.pop()
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in needs:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
                continue
            if not requirement.marker and extra:
                continue  # asked for without the extra already
            wanted = canonicalize_name(requirement.name)
            for each in ("", *requirement.extras):
                if (wanted, each) not in found:
                    found.add((wanted, each))
                    pending.append((wanted, each))
    return {name for name, _ in found}


def test_the_default_install_has_everything_the_eleven_steps_need() -> None:
    """Every module a reference solution imports (step 10's driver too) comes with a plain
    `pip install persistlab`, the README's install: a student needs nothing more from PyPI."""
    import ast
    from importlib.metadata import packages_distributions

    from packaging.utils import canonicalize_name

    from grader.course import load_course

    installed = _default_install()
    providers = packages_distributions()
    missing = []
    for step in load_course().steps:
        own = {path.stem for path in step.solution_dir.rglob("*.py")}
        for path in step.solution_dir.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_bytes())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                         else [])
                for top in {name.split(".")[0] for name in names} - own - set(sys.stdlib_module_names):
                    if not {canonicalize_name(d) for d in providers.get(top, [])} & installed:
                        missing.append(f"{step.folder}/{path.name} imports {top}")
    assert not missing, missing
    assert "psycopg" in installed and "psycopg-binary" in installed, "step 10's driver, with its C library"
