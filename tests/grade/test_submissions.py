"""Intake of a class: folders, zips and LMS bulk downloads, with every unsafe input refused."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from grader.course import Course
from grader.grade.sources import MAX_BYTES, MAX_FILES, Folder, Zip
from grader.grade.submissions import intake, student_name
from grader.workspace import create_workspace


def zip_of(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


def latin1_zip(path: Path) -> Path:
    """A zip whose member name is Latin-1 bytes without the UTF-8 flag, as old Windows tools make."""
    zip_of(path, {"01-notes-dict/cafX.py": b"x"})
    path.write_bytes(path.read_bytes().replace(b"cafX", b"caf\xe9"))
    return path


def take(tmp_path: Path, course: Course, *paths: Path) -> dict[str, str]:
    return {s.name: s.problem for s in intake(list(paths), course)}


def test_folders_and_zips_in_a_bulk_download(tmp_path: Path, course: Course) -> None:
    bulk = tmp_path / "bulk"
    create_workspace(course, bulk / "alice")
    zip_of(bulk / "bob.zip", {"bob/01-notes-dict/main.py": b"notes_db = {}\n"})
    zip_of(bulk / "cy.zip", {"02-fastapi-app/main.py": b"app = 1\n", "notes.txt": b""})
    before = sorted(tmp_path.rglob("*"))
    submissions = intake([bulk], course)
    assert [(s.name, s.problem) for s in submissions] == [("alice", ""), ("bob", ""), ("cy", "")]
    assert [s.work for s in submissions] == [
        Folder(bulk / "alice"), Zip(bulk / "bob.zip", "bob/"), Zip(bulk / "cy.zip", "")]
    assert sorted(tmp_path.rglob("*")) == before  # nothing copied or unpacked


@pytest.mark.parametrize(
    ("members", "says"),
    [
        ({"../evil.py": b"x"}, "outside the submission"),
        ({"ws/../../evil.py": b"x"}, "outside the submission"),
        ({"/etc/evil.py": b"x"}, "absolute path"),
        ({"C:/evil.py": b"x"}, "absolute path"),
    ],
)
def test_paths_leaving_the_submission_are_refused(
    tmp_path: Path, course: Course, members: dict[str, bytes], says: str
) -> None:
    problems = take(tmp_path, course, zip_of(tmp_path / "mallory.zip", members))
    assert says in problems["mallory"]
    assert not (tmp_path / "evil.py").exists()


def test_a_symlink_member_is_refused(tmp_path: Path, course: Course) -> None:
    path = tmp_path / "mallory.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        info = zipfile.ZipInfo("01-notes-dict/main.py")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(info, "/etc/passwd")
    assert "symbolic link" in take(tmp_path, course, path)["mallory"]


def test_zip_bombs_are_refused(tmp_path: Path, course: Course) -> None:
    bomb = zip_of(tmp_path / "bomb.zip", {"01-notes-dict/main.py": b"0" * (MAX_BYTES + 1)})
    many = zip_of(tmp_path / "many.zip", {f"f{i}.py": b"" for i in range(MAX_FILES + 1)})
    ratio = zip_of(tmp_path / "ratio.zip", {"01-notes-dict/main.py": b"0" * (4 << 20)})
    problems = take(tmp_path, course, bomb, many, ratio)
    assert "cap is" in problems["bomb"] and "entries" in problems["many"]
    assert "zip bomb" in problems["ratio"]


def test_non_utf8_names_empty_and_duplicates(tmp_path: Path, course: Course) -> None:
    latin = latin1_zip(tmp_path / "latin.zip")
    empty = zip_of(tmp_path / "empty.zip", {"README.txt": b"nothing here"})
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    create_workspace(course, tmp_path / "a" / "sam")
    zip_of(tmp_path / "b" / "sam.zip", {"01-notes-dict/main.py": b"notes_db = {}\n"})
    problems = take(tmp_path, course, latin, empty, tmp_path / "a" / "sam", tmp_path / "b" / "sam.zip")
    assert "not a UTF-8 file name" in problems["latin"]
    assert "empty" in problems["empty"]
    assert problems["sam"] == "" and "Two submissions are both named sam" in problems["sam~2"]


def test_names_are_safe_file_names(tmp_path: Path) -> None:
    assert student_name(tmp_path / "Zoë Ünal") == "Zoe_Unal"
    assert student_name(tmp_path / "..") == "unnamed"
