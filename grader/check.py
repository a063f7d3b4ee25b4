"""Run one step's checks against a folder of student code and return a StepReport."""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from grader.course import Step
from grader.driver import SubmissionError, check_module_path, preflight, run_steps
from grader.engine.limits import Limits
from grader.engine.preload import GROWING, kind_for
from grader.engine.zygote import shared_zygote
from grader.results import StepReport


def starts_own_command(step: Step) -> bool:
    """Whether the step's checks start the app as a real uvicorn run (steps 10-11)."""
    return "real_server" in check_module_path(step).read_text(encoding="utf-8")


@contextmanager
def _interrupts_noticed() -> Iterator[threading.Event]:
    """Ctrl-C still raises KeyboardInterrupt (so pytest tears every fixture and server down), and
    is remembered, since pytest swallows it and would report a step that merely stopped."""
    hit = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield hit
        return

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        hit.set()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield hit
    finally:
        signal.signal(signal.SIGINT, previous)


def run_checks(
    step: Step, folder: Path, limits: Limits | None = None, *, until_failure: bool = False
) -> StepReport:
    """Check `folder` against `step`; never raises for anything the student's code does. With
    `until_failure`, the checks after the first that does not pass are skipped (zero points).

    Raises KeyboardInterrupt, once every server is gone, if Ctrl-C stopped the checks: a step
    that did not finish has no result to save."""
    limits = limits or Limits()
    if limits.preload == GROWING and limits.sandbox is None:
        shared_zygote().warm(kind_for(folder))  # while pytest collects the checks
    with _interrupts_noticed() as interrupted:
        reports = run_steps([(step, folder)], limits, math.inf, until_failure)
    if interrupted.is_set():
        raise KeyboardInterrupt
    return reports[step.number]


__all__ = ["SubmissionError", "preflight", "run_checks", "starts_own_command"]
