"""What bounds a student process: time, rlimits, output kept; and the calls that apply them."""

from __future__ import annotations

import resource
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from grader.engine.environment import die_with_parent, student_environment

if TYPE_CHECKING:
    from grader.engine.sandbox import Sandbox


@dataclass(frozen=True)
class Limits:
    """One set of limits for check, grade and the Gradescope bundle alike (one verdict): only the
    sandbox and the zygote kind differ between them."""

    startup: float = 10.0  # seconds for main.py to import and the server to answer
    request: float = 2.0  # seconds for one HTTP answer (a busy machine gets a second wait)
    stop: float = 3.0  # seconds a graceful stop may take before SIGKILL
    output: int = 64 * 1024  # bytes of the student's output kept
    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30  # resident memory in a cgroup where there is one, else address space
    file_bytes: int = 64 << 20
    sandbox: Sandbox | None = None  # None: the student's own code, run as the student
    preload: str = "growing"  # the zygote kind children fork from; "auto": one zygote per kind

    def with_timeout(self, timeout: float | None) -> Limits:
        """These limits with a chosen answer time (--timeout); a start keeps at least its own."""
        if timeout is None:
            return self
        return replace(self, request=timeout, startup=max(timeout, self.startup))


def set_limits(cpu_seconds: int, memory_bytes: int, file_bytes: int) -> None:
    """The rlimits of a student process: CPU seconds, address space (none where `memory_bytes` is
    0: a memory cgroup bounds it instead), file size, no core dumps."""
    for name, value in (
        ("RLIMIT_CORE", 0),
        ("RLIMIT_CPU", cpu_seconds),
        ("RLIMIT_AS", memory_bytes),
        ("RLIMIT_FSIZE", file_bytes),
    ):
        limit = getattr(resource, name, None)
        if limit is None or value <= 0:
            continue
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass


__all__ = ["Limits", "die_with_parent", "set_limits", "student_environment"]
