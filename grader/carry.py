"""Your own code carried forward. A step's folder appears in the workspace when the step before
it passes, made from the student's folder of that step plus what the new step adds: its new
files, its `# TODO` comments and the few lines it changes (a three-way merge, the earlier step's
reference solution as the base). Where the student's code changed the same lines as the new
step does, the folder is the reference starter instead (the reference answer to the step
before, with the new TODOs), and the student is told so; their own code stays where it was.

What a step started from is kept in .persistlab/starts/, for `reset` to put back.
"""

from __future__ import annotations

import ast
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import Course, Step
from grader.merge3 import merge3
from grader.outcome import SKIPPED
from grader.progress import load_progress
from grader.workspace import start_copy, step_dir

LEFT_OUT_DIRS = {"__pycache__", ".venv", "venv", ".git", "node_modules", ".mypy_cache", ".pytest_cache"}
LEFT_OUT_SUFFIXES = (".pyc", ".db", ".db-journal", ".db-wal", ".db-shm", ".sqlite", ".sqlite3",
                     ".swp", ".swo", "~")
README = "README.md"


def files_of(folder: Path) -> dict[str, Path]:
    """The regular files under `folder` by relative path; no links, caches, databases or swap files."""
    found: dict[str, Path] = {}
    for root, dirs, names in os.walk(folder):  # never into a linked folder
        dirs[:] = sorted(d for d in dirs if d not in LEFT_OUT_DIRS)
        for name in sorted(names):
            path = Path(root, name)
            if not name.endswith(LEFT_OUT_SUFFIXES) and path.is_file() and not path.is_symlink():
                found[path.relative_to(folder).as_posix()] = path
    return found


def merge_file(name: str, base: bytes, ours: bytes, theirs: bytes) -> bytes | None:
    """The student's file with the new step's changes, or None where they clash."""
    if ours == base:
        return theirs
    if theirs == base or ours == theirs:
        return ours
    try:
        lines = [text.decode("utf-8").splitlines(keepends=True) for text in (base, ours, theirs)]
    except UnicodeDecodeError:
        return None
    merged = merge3(*lines)
    if merged is None and name.endswith(".py"):  # the student's own module docstring wins
        merged = merge3(lines[0], lines[1], _docstring_of(lines[0], lines[2]))
    if merged is None:
        return None
    result = "".join(merged)
    if name.endswith(".py"):
        try:
            ast.parse(result)
        except SyntaxError:
            return None
    return result.encode("utf-8")


def _docstring_lines(lines: list[str]) -> tuple[int, int] | None:
    try:
        body = ast.parse("".join(lines)).body
    except SyntaxError:
        return None
    first = body[0] if body else None
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str) and first.end_lineno is not None):
        return first.lineno - 1, first.end_lineno
    return None


def _docstring_of(base: list[str], theirs: list[str]) -> list[str]:
    """`theirs` with the module docstring of `base` (the new step's change to it left out)."""
    old, new = _docstring_lines(base), _docstring_lines(theirs)
    if old is None or new is None:
        return theirs
    return theirs[: new[0]] + base[old[0]: old[1]] + theirs[new[1]:]


@dataclass
class Plan:
    """The files of the new step's folder, and what became of the student's."""

    files: dict[str, bytes] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)  # the new step's own new files
    kept: list[str] = field(default_factory=list)  # the student's extra files, brought along
    left: list[str] = field(default_factory=list)  # files of the earlier step the new one drops
    clashes: list[str] = field(default_factory=list)  # files that could not take the changes


def plan(base_dir: Path, theirs_dir: Path, ours_dir: Path) -> Plan:
    """Carry `ours_dir` (the student's step N) forward to the starter `theirs_dir` (step N+1),
    with `base_dir` (step N's reference solution) as the common ancestor."""
    base, theirs, ours = files_of(base_dir), files_of(theirs_dir), files_of(ours_dir)
    done = Plan()
    for name, path in theirs.items():
        new = path.read_bytes()
        if name in base:
            if name not in ours:
                if new != base[name].read_bytes():
                    done.clashes.append(name)  # the student did without a file the step changes
                continue
            merged = merge_file(name, base[name].read_bytes(), ours[name].read_bytes(), new)
            if merged is None:
                done.clashes.append(name)
            else:
                done.files[name] = merged
        elif name in ours and name != README and ours[name].read_bytes() != new:
            done.clashes.append(name)  # a file of the student's has the name of a new one
        else:
            done.files[name] = new
            if name != README:
                done.added.append(name)
    for name, path in ours.items():
        if name in theirs:
            continue
        if name in base:
            done.left.append(name)
        else:
            done.files[name] = path.read_bytes()
            done.kept.append(name)
    return done


@dataclass(frozen=True)
class Opened:
    """A step folder made: from the student's own code (`carried`) or the reference starter."""

    step: Step
    earlier: Step | None
    folder: Path
    carried: bool
    added: list[str]
    kept: list[str]
    left: list[str]
    clashes: list[str]


def _write(files: dict[str, bytes], target: Path) -> None:
    for name, data in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def open_step(course: Course, workspace: Path, step: Step) -> Opened:
    """Make `step`'s folder (which must not exist yet) from the student's folder of the step
    before; keep a copy of it for reset."""
    folder = step_dir(workspace, step)
    earlier = course.step(step.number - 1) if step.number > 1 else None
    mine = step_dir(workspace, earlier) if earlier else None
    made = plan(earlier.solution_dir, step.exercise_dir, mine) if earlier and mine and mine.is_dir() else None
    carried = made is not None and not made.clashes
    building = Path(tempfile.mkdtemp(prefix=f".{step.folder}-", dir=workspace))
    try:
        if carried:
            assert made is not None
            _write(made.files, building)
        else:
            shutil.copytree(step.exercise_dir, building, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(*LEFT_OUT_DIRS, "*.pyc"))
        building.chmod(0o755)
        copy = start_copy(workspace, step)
        kept = copy.with_name(f".{copy.name}-new")
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(building, kept)
        building.rename(folder)  # the folder first: without its copy, reset uses the reference
        shutil.rmtree(copy, ignore_errors=True)
        kept.rename(copy)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return Opened(step, earlier, folder, carried,
                  made.added if made and carried else [], made.kept if made and carried else [],
                  made.left if made and carried else [], made.clashes if made else [])


def may_open(workspace: Path, step: Step) -> bool:
    """Whether `step`'s folder may appear: step 1, or the step before it passed (or was skipped,
    which is no reason to stop there)."""
    if step.number == 1:
        return True
    earlier = load_progress(workspace).get(step.number - 1)
    return earlier is not None and (earlier.ever_passed or earlier.status == SKIPPED)


def open_when_due(course: Course, workspace: Path, step: Step) -> str:
    """Make the folder of `step` if it never had one and may have one now; what that did, or ""
    (a folder that was made once and is gone now is not made again behind the student's back)."""
    if (step.number == 1 or step_dir(workspace, step).exists() or start_copy(workspace, step).is_dir()
            or not may_open(workspace, step)):
        return ""
    return describe_opened(open_step(course, workspace, step))


def _named(names: list[str], noun: str = "") -> str:
    """"db.py", "a.py and b.py", "a, b and c"; with `noun`, "file db.py", "files a and b"."""
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{noun}{'' if len(names) == 1 else 's'} {listed}" if noun else listed


def describe_opened(opened: Opened) -> str:
    """What the student reads when a step's folder appears."""
    step, earlier, name = opened.step, opened.earlier, opened.folder.name
    if earlier is None:
        return f"Step {step.number} is open: {name}/README.md says what to do."
    if opened.carried:
        said = (f"Step {step.number} is open: {name} holds your own step-{earlier.number} code with "
                f"step {step.number}'s TODOs")
        said += f", and its new {_named(opened.added, 'file')}." if opened.added else "."
        if opened.kept:
            said += f" Your own {_named(opened.kept)} came along too."
        if opened.left:
            it = "it" if len(opened.left) == 1 else "them"
            said += f" {_named(opened.left)} stayed in {earlier.folder}: step {step.number} does not use {it}."
        return said + f" Read {name}/README.md next."
    why = (f"your {_named(opened.clashes)} changed lines that step {step.number} changes too"
           if opened.clashes else f"there was no {earlier.folder} to start from")
    return (f"Step {step.number} is open: {name} starts from the reference answer to step "
            f"{earlier.number} with step {step.number}'s TODOs, not from your own code ({why}). "
            f"Your code is still in {earlier.folder}; `persistlab solution {earlier.number} --diff` "
            f"shows how it differs. Read {name}/README.md next.")


__all__ = [
    "Opened", "Plan", "describe_opened", "files_of", "may_open", "merge_file", "open_step",
    "open_when_due", "plan",
]  # fmt: skip
