"""What every process the grader starts is given: an environment made on purpose, and death with
its parent. Light to import: the zygote is started before the grader loads anything else."""

from __future__ import annotations

import os
import signal
import sys


def die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def student_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a student's app starts with, made on purpose: nothing of the grader's own
    (an instructor's tokens, DATABASE_URL, PYTHONPATH), the same in check and grade, plus `extra`."""
    scripts = os.path.dirname(sys.executable)
    return {
        "PATH": f"{scripts}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MALLOC_ARENA_MAX": "2",  # a thread pool then reserves two malloc arenas, not sixteen
        **(extra or {}),
    }


__all__ = ["die_with_parent", "student_environment"]
