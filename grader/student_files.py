"""A file of a student's folder, as the grader may open it after the app has run there."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def plain_file(path: Path) -> bool:
    """Whether `path` is a regular file itself: not a symbolic link (to a file of the host, out of
    the sandbox's sight), a FIFO (whose open blocks until a writer comes) or a device (a terminal
    would read the instructor's keys), any of which an app may leave where its database was."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def open_own(folder: Path, relative: str, flags: int) -> int:
    """A file descriptor (`flags`: os.O_RDONLY or os.O_RDWR) on the regular file `relative` to
    `folder`, each name of its path opened from the last without following a symbolic link, so
    that what the grader changes is the student's own file, whatever the app made of the path;
    OSError when there is no such file of its own. The descriptor keeps to that file (its inode)
    however the app renames or replaces it afterwards."""
    nofollow = os.O_NOFOLLOW | os.O_CLOEXEC
    *folders, name = Path(relative).parts
    at = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in folders:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | nofollow, dir_fd=at)
            os.close(at)
            at = inner
        fd = os.open(name, flags | nofollow | os.O_NONBLOCK, dir_fd=at)  # a FIFO opens, unread
    finally:
        os.close(at)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{relative} is not a file")
    return fd


__all__ = ["open_own", "plain_file"]
