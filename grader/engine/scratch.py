"""Scratch copies of a step folder, so grading never touches the student's files; for sandboxed
grading, each on a small tmpfs of its own.

A student that fills its folder fills only its own copy and sees "No space left on device",
as on a full disk; the worker's scratch area, and so the grader's next copy, are untouched.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from grader.engine.sandbox import mount_tmpfs, unmount

_PATTERNS = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-journal", "*.db-wal")


def left_out(folder: str, names: list[str]) -> set[str]:
    """What a copy leaves out: caches, databases (a fresh start makes its own), and any file that
    is not a regular file, a folder or a link (a FIFO or a socket an app left where it ran,
    which no copy can read: its copy failed the grader)."""
    ignored = set(_PATTERNS(folder, names))
    for name in names:
        try:
            mode = os.lstat(os.path.join(folder, name)).st_mode
        except OSError:
            ignored.add(name)
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            ignored.add(name)
    return ignored


IGNORED = left_out  # shutil.copytree's `ignore`


MEMORY = "/dev/shm"
MEMORY_ROOM = 1 << 30  # bytes free it needs to hold a step's copies, and what the apps write


def in_memory() -> str | None:
    """Where check's copies go when the machine has a memory filesystem (/dev/shm) with room, on
    which programs may run, and TMPDIR names no place of the user's own: an app's SQLite then
    never waits for a disk at its commits, which only a power cut, never a crash, could tell
    apart (grade's copies are each on a tmpfs too). None: the usual temporary folder."""
    if os.environ.get("TMPDIR"):
        return None
    try:
        found = os.statvfs(MEMORY)
    except OSError:
        return None
    closed = getattr(os, "ST_NOEXEC", 8) | getattr(os, "ST_RDONLY", 1)
    if found.f_flag & closed or found.f_bavail * found.f_frsize < MEMORY_ROOM:
        return None
    return MEMORY if os.access(MEMORY, os.W_OK | os.X_OK) else None


class Scratch:
    """A throwaway copy of a step folder, so grading never touches the student's files; made in
    `place` (default: the temporary folder)."""

    def __init__(self, source: Path, place: str | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="persistlab-", dir=place))
        self.folder = self.root / "app"
        shutil.copytree(source, self.folder, ignore=IGNORED, symlinks=True)

    def fresh(self, source: Path, name: str) -> Path:
        folder = self.root / name
        shutil.copytree(source, folder, ignore=IGNORED, symlinks=True)
        return folder

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


SPARE = 32 << 20  # bytes a student may write into one copy
PAGE = 4096


def space_for(source: Path) -> int:
    """Bytes a tmpfs needs to hold a copy of `source` (each file and folder takes whole pages)."""
    total = PAGE
    for path in source.rglob("*"):
        size = path.lstat().st_size if path.is_file() else 0
        total += PAGE + -(-size // PAGE) * PAGE
    return total


class BoundedScratch(Scratch):
    """A Scratch whose root and every copy are tmpfs mounts of bounded size."""

    def __init__(self, source: Path, spare: int = SPARE) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="persistlab-"))
        self.spare = spare
        self.mounts = [self.root]
        mount_tmpfs(self.root, spare)
        self.folder = self.fresh(source, "app")

    def fresh(self, source: Path, name: str) -> Path:
        folder = self.root / name
        folder.mkdir()
        mount_tmpfs(folder, space_for(source) + self.spare)
        self.mounts.append(folder)
        shutil.copytree(source, folder, ignore=IGNORED, symlinks=True, dirs_exist_ok=True)
        return folder

    def cleanup(self) -> None:
        for mount in reversed(self.mounts):
            unmount(mount)
        shutil.rmtree(self.root, ignore_errors=True)


__all__ = ["IGNORED", "BoundedScratch", "Scratch", "in_memory", "space_for"]
