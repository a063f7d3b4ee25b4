"""Intake of a class: folders, zips and LMS bulk downloads, with every unsafe input refused."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from grader.course import Course
from grader.grade.sources import MAX_BYTES, MAX_DEPTH, MAX_FILES, Folder, Zip
from grader.grade.submissions import intake, student_name
from grader.workspace import create_workspace
from tests.grade.hostile import deep


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
    assert "2 submissions are named sam" in problems["sam~1"] and problems["sam~1"] == problems["sam~2"]


def test_names_are_safe_file_names(tmp_path: Path) -> None:
    assert student_name(tmp_path / "Zoë Ünal") == "Zoe_Unal"
    assert student_name(tmp_path / "..") == "unnamed"


def test_a_name_cleaned_into_another_students_is_refused_not_graded_as_them(
    tmp_path: Path, course: Course
) -> None:
    """`!honest-a` cleans to `honest-a` and sorts first: it must not take honest-a's grade."""
    bulk = tmp_path / "bulk"
    create_workspace(course, bulk / "honest-a")
    create_workspace(course, bulk / "!honest-a")
    create_workspace(course, bulk / "Zoë")
    create_workspace(course, bulk / "Zoe")
    found = {s.name: s for s in intake([bulk], course)}
    assert set(found) == {"honest-a", "honest-a~2", "Zoe", "Zoe~2"}
    assert found["honest-a"].source == bulk / "honest-a" and found["honest-a"].problem == ""
    assert found["honest-a~2"].source == bulk / "!honest-a" and found["honest-a~2"].work is None
    assert "so that no student is graded under another's name" in found["honest-a~2"].problem
    assert found["Zoe"].source == bulk / "Zoe" and found["Zoe~2"].source == bulk / "Zoë"


@pytest.mark.parametrize("names", [("sam", "sam.zip"), ("Sam", "sam"), ("Zoë Ü", "Zoe Ü")])
def test_names_that_no_one_owns_for_sure_are_all_refused(
    tmp_path: Path, course: Course, names: tuple[str, str]
) -> None:
    """The same name twice, names equal but for case (one file on a case-insensitive disk), or
    two that both needed cleaning: no submission can claim the name, so none is graded."""
    for number, name in enumerate(names):
        folder = tmp_path / f"lms{number}"
        folder.mkdir()
        if name.endswith(".zip"):
            zip_of(folder / name, {"01-notes-dict/main.py": b"notes_db = {}\n"})
        else:
            create_workspace(course, folder / name)
    found = intake([tmp_path / f"lms{n}" for n in range(len(names))], course)
    assert len(found) == 2 and all(s.work is None and "not graded" in s.problem for s in found)
    assert sorted(s.name.split("~")[1] for s in found) == ["1", "2"]


def test_the_same_path_given_twice_is_one_submission(tmp_path: Path, course: Course) -> None:
    create_workspace(course, tmp_path / "ann")
    [ann] = intake([tmp_path / "ann", tmp_path / "." / "ann"], course)
    assert (ann.name, ann.problem) == ("ann", "")


def test_deep_nesting_is_refused_at_intake_without_recursion(tmp_path: Path, course: Course) -> None:
    """1,200 folders deep, in a zip and on disk: refused with a reason, not a RecursionError."""
    nested = "/".join(["d"] * 1200)
    bundle = zip_of(tmp_path / "zipped.zip", {"01-notes-dict/main.py": b"", f"01-notes-dict/{nested}/x.py": b""})
    with deep(1200) as folder:
        problems = take(tmp_path, course, bundle, folder)
    assert f"nested more than {MAX_DEPTH} folders deep" in problems["zipped"]
    assert f"folders nested more than {MAX_DEPTH} deep" in problems["eve"]


def test_nesting_up_to_the_cap_is_fine(tmp_path: Path, course: Course) -> None:
    bundle = zip_of(tmp_path / "bo.zip", {"01-notes-dict/main.py": b"",
                                          "/".join(["01-notes-dict", *["d"] * (MAX_DEPTH - 1), "x.py"]): b""})
    with deep(MAX_DEPTH - 1) as folder:
        assert take(tmp_path, course, folder, bundle) == {"eve": "", "bo": ""}
