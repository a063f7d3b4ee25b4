"""Intake of a class: workspace folders and .zip files, each checked against every safety cap.

A submission is named by its folder or zip (the student's name). A folder that holds no step
folder itself but holds folders or zips is an LMS bulk download, and is opened one level down.
Nothing is copied or unpacked here: each worker reads the step folders it grades
(`grader.grade.sources`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.course import Course
from grader.grade.sources import (
    MAX_BYTES,
    MAX_FILES,
    Folder,
    IntakeError,
    Source,
    Zip,
    too_big,
    zip_members,
)

NAME_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")


@dataclass
class Submission:
    """One student's work: where to read it, or the reason it cannot be graded at all."""

    name: str
    source: Path
    work: Source | None = None
    problem: str = ""


def student_name(path: Path) -> str:
    stem = path.name[:-4] if path.suffix.lower() == ".zip" and path.is_file() else path.name
    ascii_name = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._@+-]+", "_", ascii_name).strip("._-")
    return cleaned[:100] or "unnamed"


def _is_workspace(folder: Path, course: Course) -> bool:
    return any((folder / step.folder).is_dir() for step in course.steps) or (
        folder / ".persistlab"
    ).is_dir()


def _zip_root(files: list[PurePosixPath], course: Course) -> str:
    """The folder of the zip holding the step folders: its top, or its single top folder."""
    marks = {step.folder for step in course.steps} | {".persistlab"}

    def folders_at(depth: int, under: tuple[str, ...]) -> set[str]:
        return {p.parts[depth] for p in files if len(p.parts) > depth + 1 and p.parts[:depth] == under}

    if folders_at(0, ()) & marks:
        return ""
    tops = {p.parts[0] for p in files if not p.parts[0].startswith((".", "__MACOSX"))}
    if len(tops) == 1 and (top := tops.pop()) in folders_at(0, ()) and folders_at(1, (top,)) & marks:
        return f"{top}/"
    return ""


class Empty(IntakeError):
    """A submission without a single Python file."""


def _check_zip(archive: Path, course: Course) -> Zip:
    files = zip_members(archive)
    root = _zip_root(files, course)
    if not any(p.suffix == ".py" and str(p).startswith(root) for p in files):
        raise Empty
    return Zip(archive, root)


def _check_folder(source: Path) -> Folder:
    count, size, python = 0, 0, False
    for path in source.rglob("*"):
        if path.is_symlink():
            continue
        count += 1
        if path.is_file():
            size += path.stat().st_size
            python = python or path.suffix == ".py"
        if count > MAX_FILES or size > MAX_BYTES:
            raise too_big(source.name)
    if not python:
        raise Empty
    return Folder(source)


def _expand(paths: list[Path], course: Course) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir() and not _is_workspace(path, course):
            inner = sorted(
                p for p in path.iterdir()
                if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() == ".zip")
            )
            found.extend(inner if inner else [path])
        else:
            found.append(path)
    return found


def intake(paths: list[Path], course: Course, exclude: tuple[Path, ...] = ()) -> list[Submission]:
    """Every submission under `paths` (but not `exclude`), by name, each checked."""
    submissions: list[Submission] = []
    seen: dict[str, Path] = {}
    skipped = {p.resolve() for p in exclude}
    for path in _expand(paths, course):
        if path.resolve() in skipped:
            continue
        name = student_name(path)
        submission = Submission(name=name, source=path)
        submissions.append(submission)
        if name in seen:
            submission.name = f"{name}~{sum(1 for s in submissions if s.name.split('~')[0] == name)}"
            submission.problem = (
                f"Two submissions are both named {name} ({seen[name]} and {path}); "
                "neither name was trusted for this one: rename it and grade it with --only."
            )
            continue
        seen[name] = path
        try:
            if path.is_symlink():
                raise IntakeError(f"{path} is a symbolic link")
            if path.is_file() and path.suffix.lower() == ".zip":
                submission.work = _check_zip(path, course)
            elif path.is_dir():
                submission.work = _check_folder(path)
            elif not path.exists():
                raise IntakeError(f"there is no file or folder {path}")
            else:
                raise IntakeError(f"{path.name} is neither a folder nor a .zip")
        except Empty:
            submission.problem = "The submission is empty: it holds no Python file."
        except IntakeError as exc:
            submission.problem = f"The submission was not graded: {exc}."
    return sorted(submissions, key=lambda s: s.name)


__all__ = ["IntakeError", "Submission", "intake", "student_name"]
