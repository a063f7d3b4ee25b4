"""`persistlab grade`: intake, sandboxed grading in parallel, outputs, summary."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grader.course import SOLUTIONS, Course
from grader.engine.limits import Limits
from grader.engine.sandbox import FIRST_UID, Sandbox, unavailable_reason
from grader.grade.adjustments import (
    LATE,
    Adjustment,
    AdjustmentError,
    parse_late_policy,
    read_adjustments,
)
from grader.grade.batch import Graded, Options, grade_class
from grader.grade.gradebook import Summary, summarise_class
from grader.grade.outputs import prepare, read_results, write_class, write_exports, write_student
from grader.grade.roster import Roster, RosterError, match, moodle_submitted, read_roster
from grader.grade.submissions import ClassIntake, Submission, fingerprint, intake_class
from grader.protections import protections
from grader.results import clip


class GradeRefused(Exception):
    """The class cannot be graded as asked (unsafe machine, unknown student, bad steps)."""


@dataclass(frozen=True)
class Request:
    inputs: tuple[Path, ...]
    out: Path
    jobs: int = 2
    steps: tuple[int, ...] | None = None  # None: every step
    only: str | None = None
    timeout: float | None = None  # None: the answer time check gives (Limits)
    submission_timeout: float = 120.0
    unsafe: bool = False
    roster: Path | None = None  # the LMS's class list: canvas.csv / moodle.csv follow it
    assignment: str | None = None  # the assignment's column in canvas.csv
    resume: bool = False  # grade only the students without a results file
    adjustments: Path | None = None  # adjustments.csv: student, points, reason
    late_penalty: str | None = None  # "10%" or "2" once, "10%/day" per day after `due`
    due: str | None = None  # the due date, to tell late work by the submission times the LMS gives
    late_cap: str | None = None  # the most a late penalty takes off


def parse_steps(text: str, course: Course) -> tuple[int, ...]:
    """'1-5', '3', '1,3-4' -> step numbers, each checked against the course."""
    numbers: set[int] = set()
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            numbers.update(range(int(low), int(high or low) + 1))
    except ValueError:
        raise GradeRefused(f"--steps {text!r} is not a list of step numbers such as 1-5 or 1,3") from None
    wrong = sorted(n for n in numbers if not 1 <= n <= len(course.steps))
    if wrong or not numbers:
        raise GradeRefused(f"--steps {text!r}: the course has steps 1 to {len(course.steps)}")
    return tuple(sorted(numbers))


@dataclass
class GradeSummary(Summary):
    """The class summary, ending with what the students' code ran without, if anything."""

    unprotected: tuple[str, ...] = ()
    intake: tuple[str, ...] = ()  # what could not be graded at all, or was not a submission
    exports: tuple[str, ...] = ()
    incomplete: bool = False  # an entry of the input was refused, or left out as no submission

    def lines(self) -> list[str]:
        return [*super().lines(), *self.intake, *self.exports, *self.unprotected]


def one_line(text: str) -> str:
    """A file name or reason on one line of the summary, whatever characters its name holds."""
    return clip(text).replace("\t", "\\t").replace("\n", "\\n")


def intake_lines(found: ClassIntake) -> list[str]:
    """Every submission refused whole, every file that was not one, and what the LMS put in the
    download beside the submissions, each with the reason, one line each."""
    refused = [s for s in found.submissions if s.work is None]
    lines = []
    if refused:
        lines.append(f"Not graded, zero marks ({len(refused)}): empty, unreadable or not a workspace:")
        lines += [f"  {s.name}: {one_line(s.problem)}" for s in refused]
    if found.ignored:
        lines.append(f"Not submissions, left out ({len(found.ignored)}):")
        lines += [f"  {one_line(path.name)}: {one_line(why)}" for path, why in found.ignored]
    if found.noted:
        lines.append(f"Accounted for, not graded ({len(found.noted)}):")
        lines += [f"  {one_line(path.name)}: {one_line(why)}" for path, why in found.noted]
    return lines


class Stopped(Exception):
    """The grader was told to stop (SIGTERM)."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stopped


def _adjustments(request: Request, submissions: list[Submission]) -> dict[str, list[Adjustment]]:
    """Each student's adjustments: their rows of the adjustments file, and the late penalty."""
    try:
        changes = read_adjustments(request.adjustments, submissions) if request.adjustments else {}
        if request.late_penalty is None and (request.due or request.late_cap):
            raise AdjustmentError("--due and --late-cap go with --late-penalty (such as 10%/day)")
        if request.late_penalty is not None:
            policy = parse_late_policy(request.late_penalty, request.due, request.late_cap)
            for submission in submissions:
                late = policy.adjustment(submission.identity)
                if late is not None:
                    changes.setdefault(submission.name, []).insert(0, late)
    except AdjustmentError as exc:
        raise GradeRefused(str(exc)) from None
    return changes


def _who(submission: Submission, changes: list[Adjustment]) -> dict[str, str]:
    """The gradebook's columns from the download: the LMS id, late or not, the submission time."""
    identity = submission.identity
    late = identity.late or any(change.reason.startswith(LATE) for change in changes)
    moment = f"{identity.submitted:%Y-%m-%d %H:%M:%S}" if identity.submitted else ""
    return {"lms_id": identity.lms_id, "late": "yes" if late else "", "submitted": moment}


def _dated_by_worksheet(submissions: list[Submission], roster: Roster) -> None:
    """Moodle's download names no time; its grading worksheet does (Last modified (submission))."""
    by_key = {s.name: s for s in submissions}
    matched, _ = match(roster, {s.name: s.identity for s in submissions})
    for student, key in matched.items():
        moment = moodle_submitted(student)
        submission = by_key[key]
        if moment is not None and submission.identity.submitted is None:
            submission.identity = replace(submission.identity, submitted=moment)


def _finished(out: Path, name: str, digest: str) -> bool:
    """Graded by an earlier run from the very same files (--resume)."""
    data = read_results(out, name)
    extra = data.get("extra_data") if data is not None else None
    return bool(digest) and isinstance(extra, dict) and extra.get("submission_sha256") == digest


def _roster(request: Request) -> Roster | None:
    if request.roster is None:
        return None
    try:
        return read_roster(request.roster, request.assignment)
    except RosterError as exc:
        raise GradeRefused(str(exc)) from None


def student_limits(options: Options) -> Limits:
    """The limits each student process gets from its worker (uid and scratch area aside)."""
    if not options.sandboxed:
        return options.limits
    sandbox = Sandbox(uid=FIRST_UID, keep="", hide=options.hide, namespaces=options.namespaces)
    return replace(options.limits, sandbox=sandbox)


def protections_off(options: Options, why: str) -> list[str]:
    """A summary line naming each protection the students' code ran without (none in the
    sandbox); `why`: why the sandbox's parts are missing, where they are."""
    limits = student_limits(options)
    off = protections(limits, why=why).off_text()
    return [f"Protections off: {off}."] if off else []


def limits_for(timeout: float | None = None) -> Limits:
    """check's limits (one verdict), with workers' children forked from the zygote the app needs."""
    return replace(Limits().with_timeout(timeout), preload="auto")


def hidden_paths(request: Request, course: Course) -> tuple[str, ...]:
    paths = [SOLUTIONS, course.root / ".git", request.out, *request.inputs]
    return tuple(sorted({str(p.resolve()) for p in paths if p.exists()}))


def grade(request: Request, course: Course, console: Console) -> tuple[list[Graded], GradeSummary]:
    reason = unavailable_reason()
    if reason and not request.unsafe:
        where = ("Grade where the grader may make namespaces, mounts and drop capabilities (a "
                 "machine or VM as root, or a privileged container)" if os.geteuid() == 0
                 else "Grade on Linux as root")
        raise GradeRefused(
            f"Refusing to run untrusted code without the sandbox: {reason}. "
            f"{where}, or pass --unsafe for code you trust."
        )
    if reason:
        console.print(f"[yellow]Unsafe mode: no sandbox ({reason}); student code runs as you.[/]")
    steps = request.steps or tuple(s.number for s in course.steps)
    roster = _roster(request)
    unpacked = Path(tempfile.mkdtemp(prefix="persistlab-download-"))  # hidden from students: /tmp
    try:
        return _grade(request, course, console, steps, roster, unpacked, reason)
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)


def _grade(request: Request, course: Course, console: Console, steps: tuple[int, ...],
           roster: Roster | None, unpacked: Path, reason: str | None) -> tuple[list[Graded], GradeSummary]:
    found = intake_class(list(request.inputs), course, exclude=(request.out,), unpack_to=unpacked)
    everyone: list[Submission] = found.submissions
    if roster is not None and roster.kind == "moodle":
        _dated_by_worksheet(everyone, roster)
    changes = _adjustments(request, everyone)
    prints = {s.name: fingerprint(s) for s in everyone}
    who = {s.name: _who(s, changes.get(s.name, [])) for s in everyone}
    submissions = everyone
    if request.resume:
        submissions = [s for s in submissions if not _finished(request.out, s.name, prints[s.name])]
    if request.only is not None:
        submissions = [s for s in submissions if s.name == request.only]
        if not submissions:
            raise GradeRefused(f"No submission is named {request.only!r}.")
    if not everyone:
        why = "".join(f" {one_line(path.name)}: {one_line(reason)}." for path, reason in found.ignored)
        raise GradeRefused(f"No submission was found in the given paths.{why}")
    request.out.mkdir(parents=True, exist_ok=True)
    prepare(request.out)
    options = Options(
        steps=steps, limits=limits_for(request.timeout),
        submission_timeout=request.submission_timeout, sandboxed=reason is None,
        hide=hidden_paths(request, course),
    )
    with Progress(
        TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}"), console=console, transient=True,
    ) as progress:
        task = progress.add_task("", total=len(submissions))
        so_far: list[Graded] = []

        def done(graded: Graded) -> None:
            write_student(request.out, graded, course, changes.get(graded.name),
                          {"lms_id": who[graded.name]["lms_id"], "submission_sha256": prints[graded.name]})
            so_far.append(graded)
            progress.update(task, advance=1, description=graded.name)

        main = threading.current_thread() is threading.main_thread()  # where signals are handled
        previous = signal.signal(signal.SIGTERM, _stop) if main else None
        try:
            grades = grade_class(submissions, course, options, request.jobs, done)
        except (KeyboardInterrupt, Stopped):
            write_class(request.out, so_far, course, steps, replace_all=False, who=who)
            console.print(f"Stopped: {len(so_far)} of {len(submissions)} graded; gradebook.csv and "
                          "junit.xml hold them. Run again with --resume to grade the rest.")
            if sys.exc_info()[0] is Stopped:
                raise SystemExit(128 + signal.SIGTERM) from None
            raise
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous)
    whole = request.only is None and not request.resume
    write_class(request.out, grades, course, steps, replace_all=whole, who=who)
    exports = write_exports(request.out, everyone, roster, request.assignment, datetime.now())
    why = f"there was no sandbox ({reason}): student code ran as you"
    return grades, GradeSummary(**vars(summarise_class(grades)),
                                unprotected=tuple(protections_off(options, why)),
                                intake=tuple(intake_lines(found)), exports=tuple(exports.lines()),
                                incomplete=any(s.work is None for s in submissions)
                                or (bool(found.ignored) and request.only is None) or bool(exports.withheld))


__all__ = ["GradeRefused", "GradeSummary", "Request", "grade", "parse_steps", "protections_off"]
