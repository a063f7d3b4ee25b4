"""Scratch copies of a step folder, so grading never touches the student's files; for sandboxed
grading, each on a small tmpfs of its own.

A student that fills its folder fills only its own copy and sees "No space left on device",
as on a full disk; the worker's scratch area, and so the grader's next copy, are untouched.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from grader.engine.sandbox import mount_tmpfs, unmount

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-journal", "*.db-wal")


class Scratch:
    """A throwaway copy of a step folder, so grading never touches the student's files."""

    def __init__(self, source: Path) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="persistlab-"))
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


__all__ = ["IGNORED", "BoundedScratch", "Scratch", "space_for"]
