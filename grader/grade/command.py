"""`persistlab grade`: intake, sandboxed grading in parallel, outputs, summary."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grader.course import SOLUTIONS, Course
from grader.engine.limits import Limits
from grader.engine.sandbox import FIRST_UID, Sandbox, unavailable_reason
from grader.grade.batch import Graded, Options, grade_class
from grader.grade.gradebook import Summary, summarise_class
from grader.grade.outputs import prepare, write_class, write_student
from grader.grade.submissions import intake
from grader.protections import protections


class GradeRefused(Exception):
    """The class cannot be graded as asked (unsafe machine, unknown student, bad steps)."""


@dataclass(frozen=True)
class Request:
    inputs: tuple[Path, ...]
    out: Path
    jobs: int = 2
    steps: tuple[int, ...] | None = None  # None: every step
    only: str | None = None
    timeout: float = 2.0  # a correct app answers in milliseconds; a hung one costs this much
    submission_timeout: float = 120.0
    unsafe: bool = False


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

    def lines(self) -> list[str]:
        return [*super().lines(), *self.unprotected]


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


def limits_for(timeout: float) -> Limits:
    return Limits(startup=max(timeout, 5.0), request=timeout, stop=2.0, cpu_seconds=30,
                  memory_bytes=1 << 30, file_bytes=16 << 20, output=32 * 1024, preload="auto")


def hidden_paths(request: Request, course: Course) -> tuple[str, ...]:
    paths = [SOLUTIONS, course.root / ".git", request.out, *request.inputs]
    return tuple(sorted({str(p.resolve()) for p in paths if p.exists()}))


def grade(request: Request, course: Course, console: Console) -> tuple[list[Graded], Summary]:
    reason = unavailable_reason()
    if reason and not request.unsafe:
        raise GradeRefused(
            f"Refusing to run untrusted code without the sandbox: {reason}. "
            "Grade on Linux as root, or pass --unsafe for code you trust."
        )
    if reason:
        console.print(f"[yellow]Unsafe mode: no sandbox ({reason}); student code runs as you.[/]")
    steps = request.steps or tuple(s.number for s in course.steps)
    request.out.mkdir(parents=True, exist_ok=True)
    prepare(request.out)
    submissions = intake(list(request.inputs), course, exclude=(request.out,))
    if request.only is not None:
        submissions = [s for s in submissions if s.name == request.only]
        if not submissions:
            raise GradeRefused(f"No submission is named {request.only!r}.")
    if not submissions:
        raise GradeRefused("No submission was found in the given paths.")
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

        def done(graded: Graded) -> None:
            write_student(request.out, graded, course)
            progress.update(task, advance=1, description=graded.name)

        grades = grade_class(submissions, course, options, request.jobs, done)
    write_class(request.out, grades, course, steps, replace_all=request.only is None)
    why = f"there was no sandbox ({reason}): student code ran as you"
    return grades, GradeSummary(**vars(summarise_class(grades)),
                                unprotected=tuple(protections_off(options, why)))


__all__ = ["GradeRefused", "GradeSummary", "Request", "grade", "parse_steps", "protections_off"]
