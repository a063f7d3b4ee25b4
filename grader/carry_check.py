"""For `persistlab dev check`: a student who passed step N, with code of their own, gets a step
N+1 folder that fails until step N+1's tasks are done, and passes once they are.

The student is the reference solution of step N with a line of their own added before a
top-level statement that neither step N+1's changes nor its tasks touch; the tasks are done by
merging step N+1's starter-to-solution changes into the carried folder.
"""

from __future__ import annotations

import ast
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from grader.carry import README, files_of, merge_file, open_step, plan
from grader.check import run_checks
from grader.course import Course, Step
from grader.results import PASS
from grader.workspace import MARKER, step_dir

OWN_LINE = "# a line of my own, which must come along to the next step\n"


def _students(earlier: Step) -> Iterator[dict[str, bytes]]:
    """Step `earlier`'s solution with the student's own line at each top-level place in turn."""
    files = {name: path.read_bytes() for name, path in files_of(earlier.solution_dir).items()}
    files[README] = (earlier.exercise_dir / README).read_bytes()
    for name in sorted(n for n in files if n.endswith(".py")):
        lines = files[name].decode("utf-8").splitlines(keepends=True)
        body = ast.parse(files[name]).body
        places = [min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
                  for node in body]
        for place in [*places, len(lines)]:
            own = "".join([*lines[:place], OWN_LINE, *lines[place:]]).encode("utf-8")
            yield {**files, name: own}


def _write(files: dict[str, bytes], target: Path) -> None:
    for name, data in files.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(data)


def tasks_done(later: Step, carried: dict[str, bytes]) -> dict[str, bytes] | None:
    """`carried` with `later`'s tasks done (its starter-to-solution changes merged in), or None."""
    starter, solution = files_of(later.exercise_dir), files_of(later.solution_dir)
    done = dict(carried)
    for name, path in solution.items():
        base = starter[name].read_bytes() if name in starter else b""
        merged = merge_file(name, base, carried.get(name, b""), path.read_bytes())
        if merged is None:
            return None
        done[name] = merged
    return done


def _own_student(earlier: Step, later: Step, scratch: Path) -> tuple[dict[str, bytes], dict[str, bytes]] | None:
    """A student's step-N files whose own line survives the carry and the tasks, with the
    tasks-done files; None if there is no such place."""
    for student in _students(earlier):
        ours = scratch / "try"
        shutil.rmtree(ours, ignore_errors=True)
        _write(student, ours)
        made = plan(earlier.solution_dir, later.exercise_dir, ours)
        done = None if made.clashes else tasks_done(later, made.files)
        if done is not None and any(OWN_LINE.encode() in data for data in done.values()):
            return student, done
    return None


def carry_problems(course: Course) -> list[str]:
    problems: list[str] = []
    for earlier, later in zip(course.steps, course.steps[1:]):
        label = f"step {later.number} ({later.folder})"
        with tempfile.TemporaryDirectory(prefix="persistlab-carry-") as name:
            scratch = Path(name)
            found = _own_student(earlier, later, scratch)
            if found is None:
                problems.append(f"{label}: no line a student adds to step {earlier.number}'s code "
                                "can be carried forward with the new TODOs and tasks")
                continue
            student, done = found
            workspace = scratch / "ws"
            (workspace / MARKER).mkdir(parents=True)
            _write(student, step_dir(workspace, earlier))
            opened = open_step(course, workspace, later)
            if not opened.carried:
                problems.append(f"{label}: a student's own step-{earlier.number} code was not carried "
                                f"forward ({', '.join(opened.clashes)} clash)")
                continue
            if run_checks(later, opened.folder).status == PASS:
                problems.append(f"{label}: the carried-forward folder passes before its tasks are done")
            finished = scratch / "done"
            _write(done, finished)
            result = run_checks(later, finished)
            if result.status != PASS or result.score != later.points:
                first = result.first_failure
                reason = first.message if first else result.message
                problems.append(f"{label}: the carried-forward folder with its tasks done does not "
                                f"pass ({result.status}): {reason}")
    return problems


__all__ = ["OWN_LINE", "carry_problems", "tasks_done"]
