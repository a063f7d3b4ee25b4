"""A student's workspace: the step folders copied by `persistlab init`, and its state file."""

from __future__ import annotations

import difflib
import shutil
import time
from dataclasses import dataclass
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


def start_copy(workspace: Path, step: Step) -> Path:
    """Where the files a step's folder started with are kept, for reset (see grader/carry.py)."""
    return workspace / MARKER / "starts" / step.folder


def starting_files(workspace: Path, step: Step) -> Path:
    """What `step`'s folder started with: its kept copy, else the reference starter."""
    copy = start_copy(workspace, step)
    return copy if copy.is_dir() else step.exercise_dir


def create_workspace(course: Course, target: Path, every_step: bool = True) -> list[Path]:
    """Copy the starters into `target`: every step's, or step 1's alone (`persistlab init`: the
    others appear as the steps before them pass). Refuses to touch existing step folders."""
    clashes = [target / s.folder for s in course.steps if (target / s.folder).exists()]
    if clashes:
        names = ", ".join(p.name for p in clashes)
        raise WorkspaceError(f"{target} already has {names}; nothing was changed.")
    target.mkdir(parents=True, exist_ok=True)
    (target / MARKER).mkdir(exist_ok=True)
    created = []
    for step in course.steps if every_step else course.steps[:1]:
        shutil.copytree(step.exercise_dir, target / step.folder, ignore=IGNORED)
        created.append(target / step.folder)
    return created


@dataclass(frozen=True)
class Reset:
    """What `reset_step` did: where the student's files went, and which were not the starter's."""

    folder: Path
    backup: Path | None
    extra: list[str]


def reset_step(step: Step, workspace: Path) -> Reset:
    """Put back the files `step`'s folder started with (your carried-forward code, or the
    reference starter); everything in the student's folder is moved into .persistlab/backups/
    first (nothing is deleted). The folder itself stays, so a shell inside it is still there."""
    folder = step_dir(workspace, step)
    start = starting_files(workspace, step)
    backup = extra = None
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise WorkspaceError(f"{folder} is not a folder; move it away, then reset again. "
                             "Nothing was changed.")
    if folder.is_dir():
        starter = {path.name for path in start.iterdir()}
        extra = sorted(path.name for path in folder.iterdir()
                       if path.name not in starter and path.name != "__pycache__")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = workspace / MARKER / "backups" / f"{step.folder}-{stamp}"
        for attempt in range(2, 100):
            if not backup.exists():
                break
            backup = backup.with_name(f"{step.folder}-{stamp}-{attempt}")
        backup.mkdir(parents=True)
        for entry in folder.iterdir():
            shutil.move(str(entry), backup / entry.name)
    shutil.copytree(start, folder, ignore=IGNORED, dirs_exist_ok=True)
    return Reset(folder, backup, extra or [])


def describe_reset(done: Reset) -> str:
    """What a reset did, in a sentence or two for the student."""
    said = f"{done.folder.name} is back to the files it started with."
    if done.backup is None:
        return said
    said += f" Your files are in {done.backup}."
    if done.extra:
        names = ", ".join(done.extra)
        said += (f" {names} {'was' if len(done.extra) == 1 else 'were'} not part of the starter: "
                 f"{'it is' if len(done.extra) == 1 else 'they are'} in the backup too, no longer in {done.folder.name}.")
    return said
