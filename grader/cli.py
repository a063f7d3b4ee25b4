"""The `persistlab` command: a thin layer over the library, one function per subcommand."""

from __future__ import annotations

import gc
import importlib
import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import ClassVar, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from grader import __version__
from grader.carry import may_open, open_when_due
from grader.course import Course, CourseError, Step, load_course
from grader.engine.limits import Limits
from grader.outcome import EXIT, SKIPPED, outcome
from grader.progress import (
    ProgressError,
    forget_step,
    hints_seen,
    load_progress,
    next_hint,
    record_result,
)
from grader.render import current_step, show_hint, show_progress, show_protections, show_report
from grader.results import PASS, usage_error_json
from grader.workspace import (
    MARKER,
    WorkspaceError,
    create_workspace,
    describe_reset,
    did_you_mean,
    find_workspace,
    require_workspace,
    reset_step,
    start_copy,
    step_at,
    step_dir,
)

INTERRUPTED = 130  # as a shell reports a command stopped by SIGINT
STOPPED_KEEPS = {
    "check": " No result was saved: your progress is as it was.",
    "watch": " Your progress is as it was when the last check finished.",
    "quiz": " The answers you gave before are saved.",
}
DIR_OPTION = click.option(
    "--dir", "directory", type=click.Path(path_type=Path), default=None,
    help="The workspace (made by `persistlab init`); default: the one you are in.",
)


class UsageFailure(click.ClickException):
    """Bad input: one line on stderr, exit status 2, nothing changed."""

    exit_code = 2


class PipeSafeConsole(Console):
    """A reader that stops early (`| head`) ends the output, not the command: its exit status
    stays the verdict's (rich would exit 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        _silence_stdout()


def _silence_stdout() -> None:
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def console() -> Console:
    return PipeSafeConsole(highlight=False)


def _course() -> Course:
    try:
        return load_course()
    except CourseError as exc:
        raise UsageFailure(str(exc)) from None


def _workspace(directory: Path | None) -> Path:
    if directory is not None and directory.exists() and not directory.is_dir():
        raise UsageFailure(f"{directory} is a file, not a folder: give --dir the workspace folder.")
    if directory is not None and not directory.is_dir():
        raise UsageFailure(f"There is no folder {directory}.")
    try:
        return require_workspace(directory)
    except WorkspaceError as exc:
        raise UsageFailure(str(exc)) from None


def _resolve(course: Course, ref: str) -> Step:
    """A step from a number, a slug, a folder name, or a path to a step folder (`./03-add-note/`,
    what tab completion gives, or `.` inside one); a near miss is answered with "did you mean"."""
    found = step_at(course, Path(ref)) if ref.strip() in (".", "..") or "/" in ref else None
    if found is not None:
        return found
    try:
        return course.resolve(Path(ref.strip().rstrip("/")).name or ref)
    except CourseError as exc:
        guess = did_you_mean(course, ref)
        raise UsageFailure(f"{exc} Did you mean {guess}?" if guess else str(exc)) from None


def _step(course: Course, ref: str | None, workspace: Path) -> Step:
    """STEP as given; without it, the step folder you are in; else the first step to do."""
    if ref is not None:
        return _resolve(course, ref)
    here = step_at(course, Path.cwd())
    if here is not None and find_workspace(Path.cwd()) == workspace:
        return here
    try:
        return current_step(course, load_progress(workspace)) or course.steps[-1]
    except ProgressError as exc:
        raise UsageFailure(str(exc)) from None


def _not_open_yet(step: Step) -> UsageFailure:
    return UsageFailure(f"Step {step.number} is not open yet: its folder {step.folder} appears when "
                        f"step {step.number - 1} passes (`persistlab check {step.number - 1}`).")


def _require_open(course: Course, workspace: Path, step: Step) -> str:
    """`step`'s folder, made now if it may be; a clear refusal if it may not be yet."""
    said = open_when_due(course, workspace, step)
    if step_dir(workspace, step).exists():
        return said
    if not may_open(workspace, step):
        raise _not_open_yet(step)
    if start_copy(workspace, step).is_dir():
        raise UsageFailure(f"There is no folder {step.folder} in {workspace}: `persistlab reset "
                           f"{step.number}` makes it again with the files it started with.")
    return said


def _named_step(course: Course, ref: str | None, workspace: Path, command: str) -> Step:
    """STEP as given, or the step folder you are in; never a guess (these commands change or
    show files)."""
    if ref is not None:
        return _resolve(course, ref)
    here = step_at(course, Path.cwd())
    if here is None or find_workspace(Path.cwd()) != workspace:
        raise UsageFailure(f"Which step? Give it (`persistlab {command} 3`), or run this inside "
                           "the step's folder.")
    return here


class LazyGroup(click.Group):
    """Subcommands whose modules load only when the command is used (keeps `check` fast)."""

    lazy: ClassVar[dict[str, str]] = {"quiz": "grader.quiz.commands:quiz", "serve": "grader.quiz.commands:serve"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attr = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ProgressError as exc:
            raise UsageFailure(str(exc)) from None
        except KeyboardInterrupt:
            stopped(ctx.invoked_subcommand)
        except click.Abort as exc:  # a prompt turns Ctrl-C into Abort
            if isinstance(exc.__context__, KeyboardInterrupt):
                stopped(ctx.invoked_subcommand)
            raise


def stopped(command: str | None) -> NoReturn:
    """Ctrl-C: one line, exit status 130, and any further Ctrl-C ignored while we clean up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    click.echo(f"Stopped (Ctrl-C).{STOPPED_KEEPS.get(command or '', '')}", err=True)
    raise click.exceptions.Exit(INTERRUPTED)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="persistlab")
def cli() -> None:
    """Build a FastAPI notes API step by step, and see why a database keeps what a dict forgets.

    \b
    Start:   persistlab init && cd persistlab-notes
    Work:    persistlab check    (or: persistlab watch)
    Stuck:   persistlab hint
    """


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path), default="persistlab-notes")
@click.option("--yes", is_flag=True, help="Replace existing step folders without asking.")
def init(directory: Path, yes: bool) -> None:
    """Copy the starter files into a new workspace DIRECTORY.

    Example: persistlab init my-notes
    """
    course = _course()
    if directory.exists() and not directory.is_dir():
        raise UsageFailure(f"{directory} is a file; give a folder name for the workspace.")
    existing = [s.folder for s in course.steps if (directory / s.folder).exists()]
    if existing:
        question = (f"{directory} already has {', '.join(existing)}. Delete them and start again "
                    "from step 1's starter?")
        if not (yes or click.confirm(question, default=False)):
            raise UsageFailure("Nothing was changed.")
        for folder in existing:
            shutil.rmtree(directory / folder)
        shutil.rmtree(start_copy(directory, course.steps[0]).parent, ignore_errors=True)
    create_workspace(course, directory, every_step=False)
    out = console()
    out.print(f"Made a workspace in [bold]{escape(str(directory))}[/] with step 1 of "
              f"{len(course.steps)}: each next step's folder appears when the step before it "
              "passes, holding your own code with the new step's TODOs.")
    out.print(f"Next: cd {escape(str(directory))}, read {course.steps[0].folder}/README.md, "
              "then run `persistlab check`.")


@cli.command("list")
@DIR_OPTION
def list_steps(directory: Path | None) -> None:
    """Show, per step, whether its code passes and how many of its quiz questions you answered
    right, and where to continue."""
    from grader.quiz.answered import answered_right

    course = _course()
    workspace = _workspace(directory)
    progress = load_progress(workspace)
    opened = {step.number for step in course.steps if step_dir(workspace, step).is_dir()}
    show_progress(console(), course, progress, current_step(course, progress),
                  answered_right(workspace), opened)


@cli.command()
@click.argument("step", required=False)
@DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the result as Exercism results JSON.")
@click.option("--timeout", type=click.FloatRange(0.1, 300), default=None,
              help="Seconds the app may take to start, and to answer one request.")
@click.option("--verbose", "-v", is_flag=True, help="Also print what the app printed for the first failure.")
@click.option("--protections/--no-protections", "list_protections", default=True, hidden=True,
              help="End with which protections were on (watch lists them once).")
def check(step: str | None, directory: Path | None, as_json: bool, timeout: float | None,
          verbose: bool, list_protections: bool) -> None:
    """Run the checks of STEP (default: the step folder you are in, else the first step that
    does not pass yet). Exit status: 0 pass, 1 fail, 2 error, 3 skipped, 130 Ctrl-C.

    Example: persistlab check 3 --json
    """
    known: Step | None = None
    try:
        course = _course()
        known = None if step is None else _resolve(course, step)
        workspace = _workspace(directory)
        chosen = known or _step(course, None, workspace)
        opened_now = _require_open(course, workspace, chosen)
    except UsageFailure as exc:
        if not as_json:
            raise
        failed = usage_error_json(known.number if known else None, known.points if known else 0, exc.message)
        click.echo(json.dumps(failed, indent=2))
        sys.exit(2)
    if as_json or list_protections:
        from grader.engine.sandbox import probe_ahead

        probe_ahead()  # the machine probes the protections are listed from run while the zygote loads
    from grader.check import run_checks
    from grader.protections import for_check

    gc.enable()  # off while the grader loaded (grader.main)
    limits = Limits().with_timeout(timeout)
    report = run_checks(chosen, step_dir(workspace, chosen), limits)
    verdict = outcome(report)
    try:
        earlier = load_progress(workspace).get(chosen.number) if verdict == SKIPPED else None
        record_result(workspace, chosen.number, verdict, report.score, report.max_score)
        unsaved = ""
    except ProgressError as exc:
        earlier, unsaved = None, f"This result was not saved: {exc}"
    following = course.steps[chosen.number] if chosen.number < len(course.steps) else None
    opened = [opened_now]
    if following is not None and verdict in (PASS, SKIPPED) and not unsaved:
        opened.append(open_when_due(course, workspace, following))
    try:
        if as_json:
            guarded = for_check(chosen, limits).to_json()
            click.echo(json.dumps({**report.to_json(), "protections": guarded}, indent=2))
        else:
            out = console()
            show_report(out, chosen, report, course, earlier, verbose)
            for said in filter(None, opened):
                out.print(escape(said))
            if list_protections and report.tests:
                show_protections(out, for_check(chosen, limits))
        sys.stdout.flush()
    except BrokenPipeError:  # `check --json | head`: the reader had enough; the verdict stands
        _silence_stdout()
    if as_json:
        for said in filter(None, opened):
            click.echo(said, err=True)
    if unsaved:
        click.echo(unsaved, err=True)
    sys.exit(EXIT[verdict])


@cli.command()
@click.argument("step", required=False)
@DIR_OPTION
@click.option("--all", "seen", is_flag=True, help="Show again every hint you have seen so far.")
def hint(step: str | None, directory: Path | None, seen: bool) -> None:
    """Show the next hint for STEP: one more each time you ask.

    Example: persistlab hint 3
    """
    course = _course()
    workspace = _workspace(directory)
    chosen = _step(course, step, workspace)
    if not chosen.hints:
        raise UsageFailure(f"Step {chosen.number} has no hints.")
    out = console()
    if seen:
        shown = hints_seen(workspace, chosen.number)
        if not shown:
            out.print(f"No hint of step {chosen.number} seen yet: `persistlab hint {chosen.number}` "
                      "shows the first.")
        for number in range(1, shown + 1):
            show_hint(out, chosen, number)
        return
    show_hint(out, chosen, next_hint(workspace, chosen.number, len(chosen.hints)))


@cli.command()
@click.argument("step", required=False)
@DIR_OPTION
@click.option("--yes", is_flag=True, help="Do not ask first.")
def reset(step: str | None, directory: Path | None, yes: bool) -> None:
    """Put the starter files of STEP back; your files are kept in a backup.

    Example: persistlab reset 3
    """
    course = _course()
    workspace = _workspace(directory)
    chosen = _named_step(course, step, workspace, "reset")
    folder = step_dir(workspace, chosen)
    if not (folder.exists() or folder.is_symlink()) and not may_open(workspace, chosen):
        raise _not_open_yet(chosen)
    opened = open_when_due(course, workspace, chosen)
    if opened:  # a step opened now has nothing of yours to put back
        click.echo(opened)
        return
    question = (f"Replace {chosen.folder} with the starter files? Your files there are moved to "
                f"a backup in {MARKER}/backups/ first.")
    if not (yes or click.confirm(question, default=False)):
        raise UsageFailure("Nothing was changed.")
    try:
        done = reset_step(chosen, workspace)
    except WorkspaceError as exc:
        raise UsageFailure(str(exc)) from None
    forget_step(workspace, chosen.number)
    click.echo(describe_reset(done))


@cli.command()
@click.argument("step", required=False)
@click.argument("file", required=False)
@DIR_OPTION
@click.option("--diff", "as_diff", is_flag=True, help="Show how your files differ from the solution.")
@click.option("--write", "write_to", type=click.Path(path_type=Path), default=None,
              help="Copy the solution's files into this folder (never over a file).")
def solution(step: str | None, file: str | None, directory: Path | None, as_diff: bool,
             write_to: Path | None) -> None:
    """Show the reference solution of STEP exactly as written, once your own code has passed it.

    Piped, the output is each file byte for byte; FILE shows one file only.

    Example: persistlab solution 3 --diff
    """
    from grader.solution import (
        diff_files,
        file_name,
        print_diff,
        print_files,
        solution_files,
        write_files,
    )

    course = _course()
    workspace = _workspace(directory)
    chosen = _named_step(course, step, workspace, "solution")
    result = load_progress(workspace).get(chosen.number)
    if result is None or not result.ever_passed:
        click.echo(
            f"Step {chosen.number} has not passed yet: its solution opens once your own code "
            f"passes. Stuck? `persistlab hint {chosen.number}`.",
            err=True,
        )
        sys.exit(1)
    files = solution_files(chosen)
    if file is not None:
        wanted = file.removeprefix("./")
        files = [path for path in files if wanted in (file_name(path), path.name)]
        if not files:
            names = ", ".join(file_name(path) for path in solution_files(chosen))
            raise UsageFailure(f"The solution of step {chosen.number} has no {file}; it has {names}.")
    if write_to is not None:
        try:
            written = write_files(files, write_to)
        except FileExistsError as exc:
            raise UsageFailure(str(exc)) from None
        click.echo(f"Wrote {', '.join(str(path) for path in written)}.")
        return
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    if as_diff:
        diff = diff_files(files, step_dir(workspace, chosen))
        print_diff(diff, sys.stdout, colour)
        if not diff:
            click.echo(f"Your files in {chosen.folder} are the same as the solution's.")
        return
    print_files(files, sys.stdout, colour, header=file is None)


@cli.command()
@DIR_OPTION
@click.option("--poll", is_flag=True, help="Poll for changes instead of using file events.")
def watch(directory: Path | None, poll: bool) -> None:
    """Check the current step again every time you save a file in it.

    Keys: h the next hint, l the list, c check again, n the next step (once this one passes),
    r reset the step (asks first), q quit.
    """
    from grader.watch import watch_workspace

    course = _course()
    workspace = _workspace(directory)
    sys.exit(watch_workspace(course, workspace, _step(course, None, workspace), force_polling=poll))


@cli.command()
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for gradebook.csv, results/, feedback/ and junit.xml.")
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Submissions graded at once, each in its own worker process.")
@click.option("--steps", "steps_text", default=None,
              help="Steps to grade, e.g. 1-5 (default: every step the sandbox can grade).")
@click.option("--only", default=None, help="Regrade this one student into OUT, leaving the rest.")
@click.option("--timeout", type=click.FloatRange(0.1, 300), default=None,
              help="Seconds for one whole answer (default: 2, as in check); a start may take this or "
                   "10 s, whichever is longer.")
@click.option("--submission-timeout", type=click.FloatRange(1, 3600), default=120.0,
              show_default=True, help="Seconds for all the steps of one submission.")
@click.option("--unsafe", is_flag=True, help="Run student code without the sandbox (trusted code only).")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="The class list your LMS exported (Canvas gradebook, Moodle worksheet or participants).")
@click.option("--assignment", default=None, help="The assignment's column in canvas.csv, e.g. 'persistlab (4821)'.")
@click.option("--resume", is_flag=True, help="Grade only the students an earlier, stopped run did not finish.")
@click.option("--adjustments", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="A CSV of changes by hand: student, points (+ or -), reason.")
@click.option("--late-penalty", default=None,
              help="Taken off late work: a share of the maximum (10%) or points (2), once; 10%/day per day after --due.")
@click.option("--due", default=None,
              help="The due date, e.g. '2026-12-01 23:59': work the LMS dates later is late (Blackboard, D2L, Moodle's worksheet).")
@click.option("--late-cap", default=None, help="The most a late penalty takes off in all, e.g. 50%.")
def grade(submissions: tuple[Path, ...], out: Path, jobs: int, steps_text: str | None, only: str | None,
          timeout: float | None, submission_timeout: float, unsafe: bool, roster: Path | None,
          assignment: str | None, resume: bool, adjustments: Path | None, late_penalty: str | None,
          due: str | None, late_cap: str | None) -> None:
    """Grade a class: workspace folders or archives, or an LMS's download (zipped or not), each sandboxed.
    Exit status: 0 every entry graded, 1 some refused or left out (listed; the outputs are written), 2 bad input.

    Example: persistlab grade submissions.zip --out grades --roster gradebook.csv
    """
    from grader.grade.command import GradeRefused, Request, parse_steps
    from grader.grade.command import grade as grade_submissions

    course = _course()
    out_console = console()
    try:
        request = Request(
            inputs=submissions, out=out, jobs=jobs,
            steps=parse_steps(steps_text, course) if steps_text else None,
            only=only, timeout=timeout, submission_timeout=submission_timeout, unsafe=unsafe,
            roster=roster, assignment=assignment, resume=resume, adjustments=adjustments,
            late_penalty=late_penalty, due=due, late_cap=late_cap,
        )
        _, summary = grade_submissions(request, course, out_console)
    except GradeRefused as exc:
        raise UsageFailure(str(exc)) from None
    for line in summary.lines():
        out_console.print(escape(line))
    out_console.print(f"Wrote {escape(str(out))}/gradebook.csv, results/, feedback/, junit.xml.",
                      soft_wrap=True)  # a path is never broken across lines
    if summary.incomplete:
        sys.exit(1)


@cli.command()
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for similarity.csv and similarity.html (a grading folder will do).")
@click.option("--steps", "steps_text", default=None, help="Steps to compare, e.g. 5-9 (default: every step).")
def similarity(submissions: tuple[Path, ...], out: Path, steps_text: str | None) -> None:
    """Compare every pair of students step by step, the starter left out: which code is alike,
    renamed variables or not. Takes what grade takes.

    Example: persistlab similarity submissions.zip --out grades
    """
    from grader.grade.command import GradeRefused, parse_steps
    from grader.grade.similarity import SimilarityUnavailable, similarity_report

    course = _course()
    try:
        steps = parse_steps(steps_text, course) if steps_text else tuple(s.number for s in course.steps)
        pairs = similarity_report(list(submissions), out, course, steps)
    except (GradeRefused, SimilarityUnavailable) as exc:
        raise UsageFailure(str(exc)) from None
    flagged = [p for p in pairs if p.flagged]
    out_console = console()
    out_console.print(f"{len(pairs)} pairs share code beyond the starter; {len(flagged)} flagged.")
    for pair in flagged:
        out_console.print(escape(f"  step {pair.step}: {pair.first} and {pair.second} ({pair.score:.0%}, "
                                 f"{pair.tokens} tokens)"))
    out_console.print(f"Wrote {escape(str(out))}/similarity.html and similarity.csv.", soft_wrap=True)


@cli.group()
def gradescope() -> None:
    """Grade on Gradescope's machines instead of this one."""


@gradescope.command("build")
@click.option("--out", type=click.Path(path_type=Path), default=Path("autograder.zip"),
              show_default=True, help="Where to write the autograder zip.")
@click.option("--late-penalty", default=None,
              help="Taken off late work by Gradescope's own dates: 10% or 2 (points) once, or 10%/day.")
@click.option("--late-cap", default=None, help="The most a late penalty takes off in all, e.g. 50%.")
def gradescope_build(out: Path, late_penalty: str | None, late_cap: str | None) -> None:
    """Make a Gradescope autograder zip: setup.sh, run_autograder and persistlab itself.

    Example: persistlab gradescope build --out autograder.zip --late-penalty 10%/day --late-cap 50%
    """
    from grader.grade.adjustments import AdjustmentError
    from grader.grade.gradescope import build_bundle
    from grader.grade.gradescope_late import policy_text

    if late_cap is not None and late_penalty is None:
        raise UsageFailure("--late-cap goes with --late-penalty (such as 10%/day)")
    try:
        policy = policy_text(late_penalty, late_cap) if late_penalty is not None else None
    except AdjustmentError as exc:
        raise UsageFailure(str(exc)) from None
    build_bundle(out, late_policy=policy)
    click.echo(f"Wrote {out}: upload it as the autograder of a Gradescope programming assignment.")


class DemoGroup(click.Group):
    """The break-it experiments become commands when `demo` is used: grader.breakit loads what
    `check` has no use for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        _add_experiments()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        _add_experiments()
        return super().get_command(ctx, name)


@cli.group(cls=DemoGroup)
def demo() -> None:
    """Short demonstrations, run for real: a restart, and the break-it experiments of steps 6
    and 8."""


@demo.command("restart")
def demo_restart() -> None:
    """Start the step-4 and step-5 apps, add notes, kill both servers, start them again."""
    from grader.demo import restart_demo

    restart_demo(console(), _course())


def _experiment_command(name: str, title: str, step: int) -> None:
    def command() -> None:
        from grader.breakit import run_experiment

        run_experiment(console(), _course(), name)

    command.__doc__ = f"Break it, for real: {title.lower()} (step {step})."
    demo.command(name)(command)


def _add_experiments() -> None:
    from grader.breakit import EXPERIMENTS

    for name, experiment in EXPERIMENTS.items():
        if name not in demo.commands:
            _experiment_command(name, experiment.title, experiment.step)


@cli.group()
def dev() -> None:
    """Tools for course authors."""


@dev.command("check")
def dev_check() -> None:
    """Check the course itself: folders, TODOs, hints, starters fail, solutions pass, quiz bank."""
    from grader.devcheck import run_dev_check

    problems = run_dev_check(_course(), console())
    sys.exit(1 if problems else 0)


__all__ = ["cli"]
