"""Intake of a class: workspace folders and .zip files, each checked against every safety cap.

A submission is named by its folder or zip (the student's name). A folder that holds no step
folder itself but holds folders or zips is an LMS bulk download, and is opened one level down.
Nothing is copied or unpacked here: each worker reads the step folders it grades
(`grader.grade.sources`).
"""

from __future__ import annotations

import os
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
    walk,
    zip_members,
)


@dataclass
class Submission:
    """One student's work: where to read it, or the reason it cannot be graded at all."""

    name: str
    source: Path
    work: Source | None = None
    problem: str = ""


def _stem(path: Path) -> str:
    return path.name[:-4] if path.suffix.lower() == ".zip" and path.is_file() else path.name


def student_name(path: Path) -> str:
    """The folder or zip name, made a safe file name: ASCII letters, digits and ._@+- only."""
    ascii_name = unicodedata.normalize("NFKD", _stem(path)).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._@+-]+", "_", ascii_name).strip("._-")
    return cleaned[:100] or "unnamed"


def _names(paths: list[Path]) -> list[tuple[str, str]]:
    """Each path's name, and why it cannot be trusted ("" if it can).

    Two names that clean to the same one (`!honest-a` and `honest-a`), or that differ only in
    case (one file on a case-insensitive disk), are the same name. Of those, a submission whose
    name needed no cleaning keeps it; every other is refused under NAME~2, NAME~3, ..., and
    when none (or more than one) needed no cleaning, all of them are: no student is ever graded
    under a name that may be another's.
    """
    cleaned = [student_name(path) for path in paths]
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(cleaned):
        groups.setdefault(name.casefold(), []).append(index)
    names = [(name, "") for name in cleaned]
    for members in groups.values():
        if len(members) == 1:
            continue
        exact = [i for i in members if _stem(paths[i]) == cleaned[i]]
        keeper = exact[0] if len(exact) == 1 else None
        listed = ", ".join(str(paths[i]) for i in members)
        serial = 1 if keeper is not None else 0
        for index in sorted(members, key=lambda i: str(paths[i])):
            if index == keeper:
                continue
            serial += 1
            names[index] = (f"{cleaned[index]}~{serial}", (
                f"{len(members)} submissions are named {cleaned[index]}, once their names are made "
                f"safe file names ({listed}); this one was not graded, so that no student is "
                "graded under another's name: rename it and grade it with --only."))
    return names


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
    for _, entries in walk(source):
        for entry in entries:
            if entry.is_symlink():
                continue
            count += 1
            if entry.is_file(follow_symlinks=False):
                size += entry.stat(follow_symlinks=False).st_size
                python = python or entry.name.endswith(".py")
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
    skipped = {p.resolve() for p in exclude}
    found: dict[str, Path] = {}  # the same path given twice is one submission
    for path in _expand(paths, course):
        if path.resolve() not in skipped:
            found.setdefault(os.path.abspath(path), path)
    for path, (name, untrusted) in zip(found.values(), _names(list(found.values()))):
        submission = Submission(name=name, source=path, problem=untrusted)
        submissions.append(submission)
        if untrusted:
            continue
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
