"""Run one step's checks against a folder of student code and return a StepReport."""

from __future__ import annotations

import math
from pathlib import Path

from grader.course import Step
from grader.driver import SubmissionError, check_module_path, preflight, run_steps
from grader.engine.limits import Limits
from grader.results import StepReport


def starts_own_command(step: Step) -> bool:
    """Whether the step's checks start the app as a real uvicorn run (steps 10-11)."""
    return "real_server" in check_module_path(step).read_text(encoding="utf-8")


def run_checks(step: Step, folder: Path, limits: Limits | None = None) -> StepReport:
    """Check `folder` against `step`; never raises for anything the student's code does."""
    return run_steps([(step, folder)], limits or Limits(), math.inf)[step.number]


__all__ = ["SubmissionError", "preflight", "run_checks", "starts_own_command"]
