"""Grading a class: each submission's steps checked in worker processes, each with its own zygote."""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any

from grader.carry import plan
from grader.course import Course, Step
from grader.driver import Session, open_session, run_steps
from grader.engine.limits import Limits
from grader.engine.sandbox import (
    Sandbox,
    isolate_worker,
    lease_uid,
    plain_scratch,
    release_worker,
)
from grader.grade.pool import READY, WorkerPool
from grader.grade.sources import IntakeError, Source
from grader.grade.submissions import Submission
from grader.results import (
    ERROR,
    GRADER_ERROR,
    PASS,
    REFUSED,
    TIMEOUT,
    StepReport,
    error_report,
    failed_report,
)

Run = Callable[[list[tuple[Step, Path]], Limits, float], dict[int, StepReport]]


@dataclass(frozen=True)
class Options:
    steps: tuple[int, ...]
    limits: Limits
    submission_timeout: float = 120.0
    sandboxed: bool = True
    namespaces: bool = True  # with sandboxed: False keeps only the separate user and rlimits
    hide: tuple[str, ...] = ()
    grace: float = 30.0  # seconds past submission_timeout before a submission's worker is killed


@dataclass
class Graded:
    """One student's grade: a report per step (failing closed), and how long it took."""

    name: str
    reports: list[StepReport] = field(default_factory=list)
    seconds: float = 0.0
    problem: str = ""

    @property
    def score(self) -> float:
        return sum(r.score for r in self.reports)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.reports)

    @property
    def status(self) -> str:
        if self.problem or any(r.status == ERROR for r in self.reports):
            return ERROR
        return PASS if all(r.status == PASS for r in self.reports) else "fail"

    @property
    def timed_out(self) -> bool:
        """A time limit was hit somewhere: a start, an answer, the budget or the hard limit."""
        return any(r.timed_out for r in self.reports)


_worker_limits: Limits | None = None
_uid_lease = -1  # the fd whose lock keeps this worker's uid its own
_seen: dict[str, StepReport] = {}  # per worker: a step folder already graded, by its content


def content_key(step: Step, folder: Path) -> str:
    """The same files in the same step always get the same grade: grade them once."""
    digest = hashlib.sha256(f"step {step.number}".encode())
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def python_files(folder: Path) -> dict[str, bytes]:
    """Every Python file of the step folder, its migrations/ too, by its path in the folder."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*.py")
        if path.is_file() and "__pycache__" not in path.parts
    }


_starters: dict[int, dict[str, bytes]] = {}


def untouched(step: Step, folder: Path, earlier: tuple[Step, Path] | None = None) -> str:
    """How the step folder was handed out, if its Python files are still that byte for byte (no
    work was done in it): the starter, or the student's own code of the step before carried
    forward (`earlier`: that step and its folder in the submission); "" if work was done."""
    if step.number not in _starters:
        _starters[step.number] = python_files(step.exercise_dir)
    mine = python_files(folder)
    if mine == _starters[step.number]:
        return "the starter as handed out"
    if earlier is not None:
        made = plan(earlier[0].solution_dir, step.exercise_dir, earlier[1])
        carried = {name: data for name, data in made.files.items() if name.endswith(".py") and "/" not in name}
        if not made.clashes and mine == carried:
            return f"your step-{earlier[0].number} code with step {step.number}'s TODOs, as it opened"
    return ""


def untouched_report(step: Step, handed_out: str = "the starter as handed out") -> StepReport:
    """A folder handed back as it opened earns nothing, even where it already does a little."""
    return failed_report(step.number, step.points,
                         f"{step.folder} is {handed_out}, unchanged: there is no "
                         "work of yours in it to grade yet")


def missing_report(step: Step) -> StepReport:
    """Work not handed in is a failure, not a step the grader could not check."""
    return failed_report(step.number, step.points, f"no folder {step.folder} in the submission")


WORKER_MEMORY = 4 << 30  # address space of a worker, its zygotes and whatever they start


def bound_worker() -> None:
    """No answer or output of a student's may take the grading machine's memory: a worker that
    goes over its bound fails its submission closed, and a fresh worker takes over."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > WORKER_MEMORY:
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))


def _start_worker(options: Options, counter: Any) -> str:
    """Per worker: a private tmpfs for scratch copies, its own uid and zygote; the tmpfs's path."""
    global _worker_limits, _uid_lease
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from grader.engine import cgroups, zygote

    zygote.forget_inherited()
    bound_worker()
    limits = options.limits
    keep: Path | None = None
    if options.sandboxed:
        with counter.get_lock():
            counter.value += 1
            slot = counter.value
        keep = isolate_worker() if options.namespaces else plain_scratch()
        Finalize(None, release_worker, args=(keep,), exitpriority=0)
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        uid, _uid_lease = lease_uid()  # held until this worker exits
        per_student = cgroups.unavailable_reason() is None
        if per_student:
            Finalize(None, cgroups.release, exitpriority=0)
        sandbox = Sandbox(uid=uid, keep=str(keep), hide=options.hide,
                          namespaces=options.namespaces,
                          cpu=cpus[slot % len(cpus)] if cpus else -1, cgroups=per_student)
        limits = replace(limits, sandbox=sandbox)
    _worker_limits = limits
    group: tuple[str, ...] = ()
    if limits.sandbox is not None and limits.sandbox.cgroups:  # its students are forked into it
        group = tuple(cgroups.worker_group(limits.memory_bytes, limits.sandbox.processes).procs_files)
    zygote.shared_zygote("web" if limits.preload == "auto" else limits.preload, group)
    return str(keep or "")


def grade_work(
    name: str, work: Source, steps: list[Step], limits: Limits, budget: float,
    seen: dict[str, StepReport] | None = None, session: Session | None = None,
) -> Graded:
    """Check each step folder of one submission within `budget` seconds, in `session` (the
    worker's) or in a pytest session of its own."""
    start = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix="staged-"))
    run = session.run if session is not None else run_steps
    try:
        reports = _grade_staged(work, staging, steps, limits, budget, seen, run)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    graded = Graded(name=name, reports=[reports[s.number] for s in steps])
    graded.seconds = time.monotonic() - start
    return graded


def _grade_staged(
    work: Source, staging: Path, steps: list[Step], limits: Limits, budget: float,
    seen: dict[str, StepReport] | None, run: Run,
) -> dict[int, StepReport]:
    """Each step folder copied into `staging` first: what is graded can no longer change."""
    reports: dict[int, StepReport] = {}
    todo: list[tuple[Step, Path]] = []
    keys: dict[int, str] = {}
    staged: dict[int, tuple[Step, Path]] = {}
    for step in steps:
        try:
            step_folder = work.stage(step.folder, staging / step.folder)
        except (IntakeError, OSError) as exc:
            reports[step.number] = error_report(
                step.number, step.points, f"The step folder could not be read for grading: {exc}.",
                REFUSED if isinstance(exc, IntakeError) else GRADER_ERROR)
            continue
        if step_folder is None:
            reports[step.number] = missing_report(step)
            continue
        staged[step.number] = (step, step_folder)
        handed_out = untouched(step, step_folder, staged.get(step.number - 1))
        if handed_out:
            reports[step.number] = untouched_report(step, handed_out)
            continue
        if seen is not None:
            keys[step.number] = content_key(step, step_folder)
            if keys[step.number] in seen:
                reports[step.number] = seen[keys[step.number]]
                continue
        todo.append((step, step_folder))
    if todo:
        try:
            fresh = run(todo, limits, budget)
        except Exception as exc:  # noqa: BLE001 - fail closed: a grader crash is zero marks
            message = f"The grader failed on this submission ({type(exc).__name__}: {exc})."
            fresh = {s.number: error_report(s.number, s.points, message) for s, _ in todo}
        for number, report in fresh.items():
            reports[number] = report
            if seen is not None and report.settled:  # a timeout may depend on load: not reused
                seen[keys[number]] = report
    return reports


def _worker(conn: Connection, parent: int, course: Course, options: Options, counter: Any) -> None:
    """A grading worker: dies with the grader; grades (name, work) jobs until told to stop,
    all in one pytest session while that session is sound."""
    from grader.engine.child import die_with_parent

    die_with_parent()
    if os.getppid() != parent:  # the grader died before the line above
        return
    conn.send((READY, _start_worker(options, counter)))
    assert _worker_limits is not None
    limits = _worker_limits
    steps = [course.step(n) for n in options.steps]

    def serve(session: Session | None) -> None:
        while (job := conn.recv()) is not None:
            name, work = job
            try:
                result: Graded | str = grade_work(name, work, steps, limits,
                                                  options.submission_timeout, _seen, session)
            except Exception as exc:  # noqa: BLE001 - fail closed: reported, and the worker goes on
                result = f"The grader failed: {exc!r}."
            conn.send(result)
            if session is not None and session.broken:
                return  # this worker ends; the pool starts a fresh one for the rest

    if open_session(steps, serve):  # it could not start: a session per submission, failing closed
        serve(None)


def refused(submission: Submission, course: Course, options: Options, outcome: str = REFUSED) -> Graded:
    """Zero marks for every step, and why: the input was refused, or (`outcome`) the grader failed."""
    reports = [error_report(n, course.step(n).points, submission.problem, outcome)
               for n in options.steps]
    return Graded(name=submission.name, reports=reports, problem=submission.problem)


def cut_off(name: str, course: Course, options: Options) -> Graded:
    """A submission whose worker was killed at the hard limit: zero marks, and why."""
    limit = options.submission_timeout + options.grace
    message = (f"Grading was stopped: this submission was still running {limit:g} s after it started "
               f"(the time limit is {options.submission_timeout:g} s, plus {options.grace:g} s of grace), "
               "so it scores zero. A request that never finishes, such as a response that streams "
               "forever, does this.")
    reports = [failed_report(n, course.step(n).points, message, TIMEOUT) for n in options.steps]
    return Graded(name=name, reports=reports, seconds=limit)


def grade_class(
    submissions: list[Submission],
    course: Course,
    options: Options,
    jobs: int,
    on_done: Callable[[Graded], None] = lambda graded: None,
) -> list[Graded]:
    """Grade every submission in `jobs` worker processes; results sorted by name."""
    results: dict[str, Graded] = {}
    todo: dict[str, Submission] = {}

    def finish(graded: Graded) -> None:
        results[graded.name] = graded
        on_done(graded)

    for submission in submissions:
        if submission.work is None:
            finish(refused(submission, course, options))
        else:
            todo[submission.name] = submission

    def done(job: tuple[str, Source], result: Graded | str) -> None:
        if isinstance(result, str):
            result = refused(replace(todo[job[0]], problem=result), course, options, GRADER_ERROR)
        finish(result)

    def lost(job: tuple[str, Source], timed_out: bool, why: str) -> None:
        if timed_out:
            finish(cut_off(job[0], course, options))
        else:
            problem = f"The grader failed on this submission ({why}); no marks were given."
            finish(refused(replace(todo[job[0]], problem=problem), course, options, GRADER_ERROR))

    context = get_context("fork") if hasattr(os, "fork") else get_context("spawn")
    pool: WorkerPool[tuple[str, Source], Graded | str] = WorkerPool(
        context, max(1, min(jobs, len(todo) or 1)), _worker,
        (course, options, context.Value("i", 0)), options.submission_timeout + options.grace,
    )
    pool.run([(s.name, s.work) for s in todo.values() if s.work is not None], done, lost)
    return [results[name] for name in sorted(results)]


__all__ = ["Graded", "Options", "grade_class", "grade_work"]
