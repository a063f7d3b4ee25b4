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


__all__ = ["plain_file"]
