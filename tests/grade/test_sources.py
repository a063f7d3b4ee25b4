"""A worker's copy of one step folder: from a folder or a zip, regular files only, within the caps."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.course import SOLUTIONS, Course
from grader.grade.sources import MAX_DEPTH, MAX_FILES, Folder, IntakeError, Zip, stage, zip_members
from grader.workspace import create_workspace
from tests.grade.hostile import deep
from tests.grade.test_submissions import zip_of


def names(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_folder_is_staged_without_links_special_files_or_caches(tmp_path: Path, course: Course) -> None:
    workspace = tmp_path / "eve"
    create_workspace(course, workspace)
    step = workspace / "01-notes-dict"
    (step / "secret.py").symlink_to("/etc/passwd")
    (step / "solutions").symlink_to(SOLUTIONS, target_is_directory=True)
    os.mkfifo(step / "pipe")
    (step / "__pycache__").mkdir()
    (step / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"stale")
    (step / "data").mkdir()
    (step / "data" / "seed.txt").write_text("kept", encoding="utf-8")
    staged = Folder(workspace).stage("01-notes-dict", tmp_path / "staged")
    assert staged is not None and names(staged) == ["README.md", "data", "data/seed.txt", "main.py"]
    assert (staged / "main.py").read_bytes() == (step / "main.py").read_bytes()


def test_a_step_folder_that_is_a_link_or_a_file_is_missing(tmp_path: Path, course: Course) -> None:
    workspace = tmp_path / "mallory"
    workspace.mkdir()
    (workspace / "05-database-swap").symlink_to(course.step(5).solution_dir, target_is_directory=True)
    (workspace / "03-add-note").write_text("not a folder", encoding="utf-8")
    for folder in ("05-database-swap", "03-add-note", "04-list-notes"):
        assert Folder(workspace).stage(folder, tmp_path / folder) is None
    bundle = zip_of(tmp_path / "m.zip", {"03-add-note": b"not a folder", "01-notes-dict/main.py": b""})
    assert Zip(bundle).stage("03-add-note", tmp_path / "z") is None


def test_staging_keeps_the_caps(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(MAX_FILES + 1):
        (folder / f"f{i}.py").touch()
    with pytest.raises(IntakeError, match="larger than the caps"):
        stage(folder, tmp_path / "staged")


def test_a_zip_gives_only_the_step_folder_asked_for(tmp_path: Path) -> None:
    bundle = zip_of(tmp_path / "bob.zip", {
        "bob/01-notes-dict/main.py": b"notes_db = {}\n", "bob/01-notes-dict/data/x.txt": b"x",
        "bob/01-notes-dict/__pycache__/main.pyc": b"stale", "bob/02-fastapi-app/main.py": b"",
        "bob/README.md": b"",
    })
    staged = Zip(bundle, "bob/").stage("01-notes-dict", tmp_path / "one")
    assert staged is not None and names(staged) == ["data", "data/x.txt", "main.py"]
    assert (staged / "main.py").read_bytes() == b"notes_db = {}\n"
    assert Zip(bundle, "bob/").stage("03-add-note", tmp_path / "three") is None


def test_a_folder_nested_too_deep_by_grading_time_is_refused_without_recursion(tmp_path: Path) -> None:
    """Intake saw a sound folder; by the time a worker copies it, it is 1,200 folders deep."""
    with deep(1200) as workspace, pytest.raises(IntakeError, match=f"nested more than {MAX_DEPTH} deep"):
        Folder(workspace).stage("01-notes-dict", tmp_path / "staged")


def test_a_zip_nested_too_deep_is_refused_before_anything_is_unpacked(tmp_path: Path) -> None:
    deep = "/".join(["d"] * 1200)
    bundle = zip_of(tmp_path / "eve.zip", {"01-notes-dict/main.py": b"", f"01-notes-dict/{deep}/x.py": b""})
    with pytest.raises(IntakeError, match="nested more than"):
        zip_members(bundle)
    with pytest.raises(IntakeError, match="nested more than"):
        Zip(bundle).stage("01-notes-dict", tmp_path / "staged")
    assert not (tmp_path / "staged").exists()
