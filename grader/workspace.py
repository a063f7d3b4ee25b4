"""A student's workspace: the step folders copied by `persistlab init`, and its state file."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

from grader.course import Course, Step
from grader.engine.scratch import IGNORED

MARKER = ".persistlab"
STATE_FILE = "state.db"


class WorkspaceError(Exception):
    """The folder is not a workspace, or a step folder is missing or unreadable."""


def find_workspace(start: Path | None = None) -> Path | None:
    """The workspace holding `start` (default: the working directory), walking up like git."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_dir():
            return folder
    return None


def require_workspace(start: Path | None = None) -> Path:
    workspace = find_workspace(start)
    if workspace is None:
        where = start or Path.cwd()
        raise WorkspaceError(
            f"{where} is not inside a persistlab workspace. "
            "Run `persistlab init` to make one, or pass --dir."
        )
    return workspace


def step_at(course: Course, path: Path) -> Step | None:
    """The step whose folder `path` is, or is inside (None if it is in none)."""
    folders = {step.folder: step for step in course.steps}
    try:
        here = path.resolve()
    except OSError:
        return None
    if not here.is_dir():
        return None
    for folder in (here, *here.parents):
        if folder.name in folders and (folder.parent / MARKER).is_dir():
            return folders[folder.name]
    return None


def did_you_mean(course: Course, ref: str) -> str:
    """The step a mistyped STEP most likely meant, as "'add-note' (step 3)"; "" if none is close."""
    names = {name: step for step in course.steps for name in (step.slug, step.folder)}
    close = difflib.get_close_matches(ref.strip().strip("./").lower(), names, n=1, cutoff=0.6)
    if not close:
        return ""
    step = names[close[0]]
    return f"{close[0]!r} (step {step.number}, {step.title})"


def state_db(workspace: Path) -> Path:
    """The workspace's SQLite file: step progress, hints shown, quiz attempts."""
    return workspace / MARKER / STATE_FILE


def step_dir(workspace: Path, step: Step) -> Path:
    return workspace / step.folder


def create_workspace(course: Course, target: Path) -> list[Path]:
    """Copy every starter into `target`. Refuses to touch existing step folders."""
    clashes = [target / s.folder for s in course.steps if (target / s.folder).exists()]
    if clashes:
        names = ", ".join(p.name for p in clashes)
        raise WorkspaceError(f"{target} already has {names}; nothing was changed.")
    target.mkdir(parents=True, exist_ok=True)
    (target / MARKER).mkdir(exist_ok=True)
    created = []
    for step in course.steps:
        shutil.copytree(step.exercise_dir, target / step.folder, ignore=IGNORED)
        created.append(target / step.folder)
    return created


def reset_step(step: Step, workspace: Path) -> Path:
    """Put the starter files of `step` back, replacing the student's folder."""
    folder = step_dir(workspace, step)
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(step.exercise_dir, folder, ignore=IGNORED)
    return folder
