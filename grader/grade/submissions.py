"""Intake of a class: workspace folders and .zip files, unpacked with every safety cap.

A submission is named by its folder or zip (the student's name). A folder that holds no step
folder itself but holds folders or zips is an LMS bulk download, and is opened one level down.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.course import Course

MAX_FILES = 2000
MAX_BYTES = 64 << 20
MAX_RATIO = 200  # a member unpacking to more than 200 times its packed size is a bomb
NAME_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")


@dataclass
class Submission:
    """One student's work: the folder to grade, or the reason it cannot be graded at all."""

    name: str
    source: Path
    folder: Path | None = None
    problem: str = ""


class IntakeError(Exception):
    """A zip or folder that must not be unpacked or graded."""


def student_name(path: Path) -> str:
    stem = path.name[:-4] if path.suffix.lower() == ".zip" and path.is_file() else path.name
    ascii_name = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._@+-]+", "_", ascii_name).strip("._-")
    return cleaned[:100] or "unnamed"


def _is_workspace(folder: Path, course: Course) -> bool:
    return any((folder / step.folder).is_dir() for step in course.steps) or (
        folder / ".persistlab"
    ).is_dir()


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The member's safe relative path, None for a directory entry; raises for a bad one."""
    if info.flag_bits & 0x800 == 0:
        try:
            info.filename.encode("ascii")
        except UnicodeEncodeError:
            raise IntakeError(f"{info.filename!r} is not a UTF-8 file name") from None
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise IntakeError(f"{info.filename!r} is an absolute path")
    path = PurePosixPath(name)
    if ".." in path.parts:
        raise IntakeError(f"{info.filename!r} points outside the submission (..)")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise IntakeError(f"{info.filename!r} is a symbolic link")
    if name.endswith("/"):
        return None
    return path


def safe_unzip(archive: Path, target: Path) -> Path:
    """Unpack `archive` into `target` (made here), refusing anything unsafe; return the root."""
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(f"{archive.name} is not a readable zip ({exc})") from None
    with bundle:
        members = bundle.infolist()
        if len(members) > MAX_FILES:
            raise IntakeError(f"{archive.name} holds {len(members)} entries; the cap is {MAX_FILES}")
        declared = sum(m.file_size for m in members)
        if declared > MAX_BYTES:
            raise IntakeError(f"{archive.name} unpacks to {declared} bytes; the cap is {MAX_BYTES}")
        plan = []
        for info in members:
            path = _member_path(info)
            if path is None or path.parts[0] in ("__MACOSX",):
                continue
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                raise IntakeError(f"{info.filename!r} is compressed {MAX_RATIO}x or more: a zip bomb?")
            plan.append((info, path))
        target.mkdir(parents=True)
        written = 0
        for info, path in plan:
            destination = target.joinpath(*path.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(info) as source, open(destination, "wb") as sink:
                while chunk := source.read(1 << 16):
                    written += len(chunk)
                    if written > MAX_BYTES:  # the sizes in the zip's directory can lie
                        raise IntakeError(f"{archive.name} unpacks to more than {MAX_BYTES} bytes")
                    sink.write(chunk)
    return target


def _workspace_root(folder: Path, course: Course) -> Path:
    """The folder holding the step folders: itself, or its single subfolder (zip of a folder)."""
    if _is_workspace(folder, course):
        return folder
    inner = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(inner) == 1 and inner[0].is_dir() and _is_workspace(inner[0], course):
        return inner[0]
    return folder


def _check_folder(source: Path) -> Path:
    """A folder is graded where it is (each step folder is staged by its worker): check the caps."""
    count, size = 0, 0
    for path in source.rglob("*"):
        if path.is_symlink():
            continue
        count += 1
        if path.is_file():
            size += path.stat().st_size
        if count > MAX_FILES or size > MAX_BYTES:
            raise IntakeError(f"{source.name} is larger than the caps ({MAX_FILES} files, {MAX_BYTES} bytes)")
    return source


def stage(source: Path, target: Path) -> Path:
    """Copy the regular files under `source` into `target` (made here): no symlinks, no special
    files, no __pycache__, within the caps. What is graded is this copy, never the original."""
    count, size = 0, 0
    target.mkdir(parents=True)
    for folder, dirs, files in os.walk(source):
        here = Path(folder)
        into = target / here.relative_to(source)
        dirs[:] = [d for d in dirs if d != "__pycache__" and not (here / d).is_symlink()]
        for name in dirs:
            (into / name).mkdir()
        for name in files:
            try:
                fd = os.open(here / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue  # a symlink, or gone
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
                data = handle.read(MAX_BYTES + 1 - size)
            count, size = count + 1, size + len(data)
            if count > MAX_FILES or size > MAX_BYTES:
                raise IntakeError(f"{source.name} is larger than the caps ({MAX_FILES} files, {MAX_BYTES} bytes)")
            (into / name).write_bytes(data)
    return target


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


def intake(
    paths: list[Path], course: Course, staging: Path, exclude: tuple[Path, ...] = ()
) -> list[Submission]:
    """Every submission under `paths` (but not `exclude`), by name; zips unpacked into `staging`."""
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
        target = staging / name
        try:
            if path.is_symlink():
                raise IntakeError(f"{path} is a symbolic link")
            if path.is_file() and path.suffix.lower() == ".zip":
                root = _workspace_root(safe_unzip(path, target), course)
            elif path.is_dir():
                root = _check_folder(path)
            elif not path.exists():
                raise IntakeError(f"there is no file or folder {path}")
            else:
                raise IntakeError(f"{path.name} is neither a folder nor a .zip")
        except IntakeError as exc:
            submission.problem = f"The submission was not graded: {exc}."
            continue
        if not any(root.rglob("*.py")):
            submission.problem = "The submission is empty: it holds no Python file."
            continue
        submission.folder = root
    return sorted(submissions, key=lambda s: s.name)


__all__ = ["IntakeError", "Submission", "intake", "safe_unzip", "stage", "student_name"]
