"""Where a submission's files come from: a folder or a zip, read one step folder at a time.

Nothing is unpacked or copied whole at intake. The worker that grades a submission copies each
step folder it grades onto its own scratch area (`stage`): from a folder, its regular files
only, never through a symbolic link; from a zip, its members, checked again as they come out.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_FILES = 2000
MAX_BYTES = 64 << 20
MAX_RATIO = 200  # a member unpacking to more than 200 times its packed size is a bomb
MAX_DEPTH = 64  # folders inside folders; deeper is refused before anything walks it
MAX_ENTRIES = 100_000  # entries of a zip's directory read at all, ignored ones included
# never a student's work, and not counted against the caps: tools' and systems' folders
IGNORED = frozenset({"__MACOSX", ".venv", "venv", "__pycache__", "node_modules", ".git"})


class IntakeError(Exception):
    """A zip or folder that must not be unpacked or graded."""


def too_big(name: str) -> IntakeError:
    return IntakeError(f"{name} is larger than the caps ({MAX_FILES} files, {MAX_BYTES} bytes)")


def too_deep(name: str) -> IntakeError:
    return IntakeError(f"{name} has folders nested more than {MAX_DEPTH} deep")


def walk(source: Path, skip: tuple[str, ...] = ()) -> Iterator[tuple[Path, list[os.DirEntry[str]]]]:
    """Each folder under `source`, itself first, with its entries, by a loop and not by recursion
    (a folder nested 1,200 deep must not exhaust the grader's stack); folders named in `skip`
    and symbolic links are not entered. Raises for a folder deeper than MAX_DEPTH."""
    stack = [(source, 0)]
    while stack:
        folder, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise too_deep(source.name)
        try:
            with os.scandir(folder) as found:
                entries = sorted(found, key=lambda entry: entry.name)
        except OSError as exc:
            raise IntakeError(f"{folder.name} cannot be read ({exc.strerror})") from None
        yield folder, entries
        stack.extend((Path(entry.path), depth + 1) for entry in reversed(entries)
                     if entry.is_dir(follow_symlinks=False) and entry.name not in skip)


UTF8_FLAG = 0x800  # the zip's own flag: this member's name is UTF-8


def member_name(info: zipfile.ZipInfo, strict: bool = True) -> str:
    """A member's name: as the zip gives it when flagged UTF-8 or plain ASCII; else its bytes read
    as UTF-8 (macOS's Archive Utility, rubyzip and others write UTF-8 without the flag). Other
    bytes raise (`strict`), or are read as the zip format's default, code page 437."""
    if info.flag_bits & UTF8_FLAG or info.filename.isascii():
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        if strict:
            raise IntakeError(f"{info.filename!r} is not a UTF-8 file name") from None
        return info.filename


def _member_path(info: zipfile.ZipInfo, strict: bool = True) -> PurePosixPath | None:
    """The member's safe relative path, None for a directory entry; raises for a bad one."""
    name = member_name(info, strict)
    path = _safe_path(name)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise IntakeError(f"{name!r} is a symbolic link")
    if name.replace("\\", "/").endswith("/"):
        return None
    return path


def _safe_path(member: str) -> PurePosixPath:
    """An archive member's path, refused if absolute, leaving the submission or too deep."""
    name = member.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise IntakeError(f"{member!r} is an absolute path")
    path = PurePosixPath(name)
    if ".." in path.parts:
        raise IntakeError(f"{member!r} points outside the submission (..)")
    if len(path.parts) > MAX_DEPTH + 1:
        raise IntakeError(f"{member[:80]!r}... is nested more than {MAX_DEPTH} folders deep")
    return path


def ignored(member: str) -> bool:
    """A member inside a folder no one grades (.venv, __MACOSX, .git, ...)."""
    return not IGNORED.isdisjoint(member.replace("\\", "/").split("/")[:-1])


def zip_names(archive: Path) -> list[str]:
    """The names of `archive`'s files, but for those in ignored folders, unchecked: to tell what
    the zip is, never to unpack it."""
    with _open(archive) as bundle:
        if len(bundle.infolist()) > MAX_ENTRIES:
            raise IntakeError(f"{archive.name} holds more than {MAX_ENTRIES} entries")
        names = [member_name(info, strict=False) for info in bundle.infolist()]
        return [name for name in names if not ignored(name) and not name.endswith("/")]


def zip_members(archive: Path) -> list[PurePosixPath]:
    """The files of `archive`, once every member is found safe to unpack; raises if one is not."""
    with _open(archive) as bundle:
        return [path for _, path in _plan(bundle, archive)]


def _open(archive: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(f"{archive.name} is not a readable zip ({exc})") from None


def _plan(bundle: zipfile.ZipFile, archive: Path) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    if len(bundle.infolist()) > MAX_ENTRIES:
        raise IntakeError(f"{archive.name} holds more than {MAX_ENTRIES} entries")
    members = [m for m in bundle.infolist() if not ignored(m.filename)]
    if len(members) > MAX_FILES:
        raise IntakeError(f"{archive.name} holds {len(members)} entries; the cap is {MAX_FILES}")
    declared = sum(m.file_size for m in members)
    if declared > MAX_BYTES:
        raise IntakeError(f"{archive.name} unpacks to {declared} bytes; the cap is {MAX_BYTES}")
    plan = []
    for info in members:
        path = _member_path(info)
        if path is None:
            continue
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise IntakeError(f"{info.filename!r} is compressed {MAX_RATIO}x or more: a zip bomb?")
        plan.append((info, path))
    return plan


def stage(source: Path, target: Path) -> Path:
    """Copy the regular files under `source` into `target` (made here): no symlinks, no special
    files, no __pycache__, .venv or the like, within the caps. What is graded is this copy, never
    the original."""
    count, size = 0, 0
    target.mkdir(parents=True)
    for folder, entries in walk(source, skip=tuple(IGNORED)):
        into = target / folder.relative_to(source)
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in IGNORED:
                    (into / entry.name).mkdir()
                continue
            name = entry.name
            try:
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue  # a symlink, or gone
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
                data = handle.read(MAX_BYTES + 1 - size)
            count, size = count + 1, size + len(data)
            if count > MAX_FILES or size > MAX_BYTES:
                raise too_big(source.name)
            (into / name).write_bytes(data)
    return target


CLASS_BYTES = 4 << 30  # a whole class's download, unpacked


def unpack_download(archive: Path, target: Path) -> Path:
    """An LMS's download (a zip of students' zips and folders) unpacked into `target`, every member
    checked as a submission's are, against a whole class's caps; each student's own zip is checked
    again, on its own, at intake."""
    target.mkdir(parents=True)
    written = 0
    with _open(archive) as bundle:
        members = bundle.infolist()
        if len(members) > MAX_ENTRIES:
            raise IntakeError(f"{archive.name} holds more than {MAX_ENTRIES} entries")
        for info in members:
            path = _member_path(info, strict=False)  # a name only says whose it is: any bytes will do
            if path is None or ignored(info.filename):
                continue
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                raise IntakeError(f"{info.filename!r} is compressed {MAX_RATIO}x or more: a zip bomb?")
            destination = target.joinpath(*path.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(info) as source, open(destination, "wb") as sink:
                while chunk := source.read(1 << 16):
                    written += len(chunk)
                    if written > CLASS_BYTES:
                        raise IntakeError(f"{archive.name} unpacks to more than {CLASS_BYTES} bytes")
                    sink.write(chunk)
    return target


@dataclass(frozen=True)
class Folder:
    """A workspace folder, graded where it is and never changed."""

    path: Path

    def stage(self, step_folder: str, target: Path) -> Path | None:
        """A copy of the step folder in `target`; None if there is none (a link is none)."""
        source = self.path / step_folder
        if source.is_symlink() or not source.is_dir():
            return None
        return stage(source, target)


@dataclass(frozen=True)
class Zip:
    """A workspace inside a zip, at `root` ("" or "folder/"), never unpacked whole."""

    path: Path
    root: str = ""

    def stage(self, step_folder: str, target: Path) -> Path | None:
        """The step folder's members unpacked into `target`; None if the zip has none."""
        prefix = PurePosixPath(self.root, step_folder).parts
        with _open(self.path) as bundle:
            wanted = [(info, path.parts[len(prefix):]) for info, path in _plan(bundle, self.path)
                      if path.parts[:len(prefix)] == prefix and len(path.parts) > len(prefix)
                      and IGNORED.isdisjoint(path.parts)]
            if not wanted:
                return None
            target.mkdir(parents=True)
            written = 0
            for info, parts in wanted:
                destination = target.joinpath(*parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(info) as source, open(destination, "wb") as sink:
                    while chunk := source.read(1 << 16):
                        written += len(chunk)
                        if written > MAX_BYTES:  # the sizes in the zip's directory can lie
                            raise IntakeError(f"{self.path.name} unpacks to more than {MAX_BYTES} bytes")
                        sink.write(chunk)
        return target


def _tar_plan(bundle: tarfile.TarFile, archive: Path) -> Iterator[tuple[tarfile.TarInfo, PurePosixPath]]:
    """Each regular file of a tar, checked; raises on a link, a device, or a cap passed (before
    any of a too-large member is read)."""
    count, size = 0, 0
    for info in bundle:
        if ignored(info.name):
            continue
        path = _safe_path(info.name)
        if info.isdir():
            continue
        if not info.isfile():
            raise IntakeError(f"{info.name!r} is a link or a special file")
        count, size = count + 1, size + info.size
        if count > MAX_FILES or size > MAX_BYTES:
            raise too_big(archive.name)
        yield info, path


def _open_tar(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive)
    except (tarfile.TarError, OSError) as exc:
        raise IntakeError(f"{archive.name} is not a readable tar archive ({exc})") from None


def tar_members(archive: Path) -> list[PurePosixPath]:
    """The files of a .tar, .tar.gz or .tgz, once every member is found safe; raises if one is not."""
    try:
        with _open_tar(archive) as bundle:
            return [path for _, path in _tar_plan(bundle, archive)]
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise IntakeError(f"{archive.name} is not a readable tar archive ({exc})") from None


@dataclass(frozen=True)
class Tar:
    """A workspace inside a .tar.gz (or .tgz, .tar), at `root`, read one step folder at a time."""

    path: Path
    root: str = ""

    def stage(self, step_folder: str, target: Path) -> Path | None:
        try:
            return self._stage(PurePosixPath(self.root, step_folder).parts, target)
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise IntakeError(f"{self.path.name} is not a readable tar archive ({exc})") from None

    def _stage(self, prefix: tuple[str, ...], target: Path) -> Path | None:
        found = False
        with _open_tar(self.path) as bundle:
            for info, path in _tar_plan(bundle, self.path):
                if path.parts[:len(prefix)] != prefix or len(path.parts) == len(prefix):
                    continue
                destination = target.joinpath(*path.parts[len(prefix):])
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = bundle.extractfile(info)
                if source is None:
                    continue
                with source, open(destination, "wb") as sink:
                    shutil.copyfileobj(source, sink)
                found = True
        return target if found else None


Source = Folder | Zip | Tar

__all__ = [
    "IGNORED",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_FILES",
    "Folder",
    "IntakeError",
    "Source",
    "Tar",
    "Zip",
    "ignored",
    "stage",
    "tar_members",
    "too_big",
    "unpack_download",
    "walk",
    "zip_members",
    "zip_names",
]
