"""What a student reads in the terminal: a step's result, focused on the first failure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from grader.course import Course, Step
from grader.outcome import SKIPPED, is_skip, outcome
from grader.progress import StepResult
from grader.results import ERROR, PASS, SYNTAX_ERROR, StepReport

if TYPE_CHECKING:
    from grader.protections import Protections

MARKS = {PASS: "[green]✓[/]", "fail": "[red]✗[/]", ERROR: "[yellow]![/]", SKIPPED: "[yellow]-[/]"}


def show_report(
    console: Console, step: Step, report: StepReport, course: Course,
    earlier: StepResult | None = None, verbose: bool = False,
) -> None:
    """The step's checks, the first failure in full, and what to do next. `earlier`: the result
    saved before this run, which a skipped run leaves in place; `verbose`: the app's output too."""
    score = f"{report.score:g}/{report.max_score:g} points"
    console.print(f"[bold]Step {step.number}: {escape(step.title)}[/]  [dim]{score}[/]")
    if report.status == ERROR and not report.tests:
        console.print(f"[yellow]Could not check this step:[/] {escape(report.message)}")
        return
    first = report.first_failure
    for test in report.tests:
        console.print(f"  {MARKS[SKIPPED if is_skip(test) else test.status]} {escape(test.name)}")
        if test is first:
            style = "red" if test.status == "fail" and not is_skip(test) else "yellow"
            _indented(console, Text(test.message, style=style))
            if test.hint:
                _indented(console, Text.assemble(("Try: ", "bold"), test.hint))
            if verbose:
                _show_log(console, test.log)
    console.print()
    if outcome(report) == SKIPPED:
        _show_skipped(console, step, earlier)
    elif report.status == PASS:
        console.print(f"[green bold]Step {step.number} passes.[/]", end=" ")
        if step.number < len(course.steps):
            following = course.step(step.number + 1)
            console.print(
                f"Next: step {following.number}, {escape(following.title)} "
                f"({following.folder}/README.md), then `persistlab check`."
            )
        else:
            console.print("That was the last step: the notes now outlive the server.")
    elif report.status == ERROR and report.outcome != SYNTAX_ERROR:
        console.print("[yellow]The grader could not finish; no points were given for this run.[/]")
    else:
        console.print(
            f"Fix the first failure, then check again. Stuck? `persistlab hint {step.number}`."
        )


def _indented(console: Console, text: Text, indent: int = 4) -> None:
    """`text` wrapped to the terminal, every line of it indented (its own lines kept)."""
    for line in text.wrap(console, max(console.width - indent, 20)):
        line.rstrip()
        console.print(Text(" " * indent) + line, soft_wrap=True)


def _show_log(console: Console, log: str) -> None:
    if not log.strip():
        console.print("    [dim]The app printed nothing for this check.[/]")
        return
    console.print("    [bold]What the app printed[/] (its last 64 KiB):")
    console.print(Text(log.rstrip("\n")), soft_wrap=True)


def _show_skipped(console: Console, step: Step, earlier: StepResult | None) -> None:
    kept = (f"Your saved result is unchanged: {earlier.status} {earlier.score:g}/{earlier.max_score:g}."
            if earlier is not None and earlier.status != SKIPPED
            else "It is saved as skipped until a check with a server replaces it.")
    console.print(
        f"[yellow bold]Step {step.number} was skipped:[/] no PostgreSQL server answered, so your "
        f"app could not be tried on one. A skip is not a pass and scores nothing. {kept}"
    )


def show_protections(console: Console, protections: Protections) -> None:
    """Last and quiet: what kept the student's code in bounds, and what only `grade` adds."""
    for line in protections.lines():
        console.print(escape(line), style="dim")


def show_progress(
    console: Console, course: Course, progress: dict[int, StepResult], current: Step | None,
    answered: set[str] | None = None, opened: set[int] | None = None,
) -> None:
    """Per step: the last check of its code, and how many of its linked quiz questions were
    answered right (`answered`: question ids; None leaves the column out); a step whose
    folder has not appeared yet (`opened`: the step numbers that have one) says so."""
    table = Table(box=None, pad_edge=False)
    table.add_column("")
    table.add_column("step", justify="right")
    table.add_column("title")
    table.add_column("folder", style="dim")
    table.add_column("code", no_wrap=True)
    if answered is not None:
        table.add_column("quiz", no_wrap=True)
    for step in course.steps:
        result = progress.get(step.number)
        if opened is not None and step.number not in opened:
            mark, state = "[dim]·[/]", "[dim]not open yet[/]"
        elif result is None:
            mark, state = "[dim]·[/]", "[dim]not checked[/]"
        else:
            mark = MARKS[PASS] if result.status == PASS else MARKS[result.status]
            state = f"{result.status} {result.score:g}/{result.max_score:g}"
        here = current is step
        cells = ["[bold]▶[/]" if here else mark, str(step.number), escape(step.title), step.folder, state]
        if answered is not None:
            right = len(set(step.quiz) & answered)
            colour = "green" if right == len(step.quiz) else "dim" if not right else ""
            said = f"{right}/{len(step.quiz)} right"
            cells.append(f"[{colour}]{said}[/]" if colour else said)
        table.add_row(*cells, style="bold" if here else None)
    console.print(table)
    console.print()
    show_summary(console, course, progress)
    if current is not None:
        console.print(
            f"Continue with step {current.number}, {escape(current.title)}: "
            f"open {current.folder}/README.md, then `persistlab check`."
        )
    else:
        console.print("[green]Every step passes.[/] Try a quiz: `persistlab quiz`.")
    if answered is not None:
        console.print("[dim]quiz: the step's linked questions you have answered right, in "
                      "`persistlab quiz --step N` or the quiz pages served from this workspace.[/]")


def show_hint(console: Console, step: Step, number: int) -> None:
    """Hint `number` of the step's hints, and what comes after the last one."""
    console.print(f"[bold]Hint {number} of {len(step.hints)}[/] for step {step.number}, "
                  f"{escape(step.title)}:")
    console.print(escape(step.hints[number - 1]))
    if number == len(step.hints):
        console.print(f"[dim]That is the last hint (`persistlab hint {step.number} --all` shows them "
                      f"all again). Once the step passes, `persistlab solution {step.number}` shows the "
                      "reference answer.[/]")


def show_summary(console: Console, course: Course, progress: dict[int, StepResult]) -> None:
    """A progress bar and how many steps pass."""
    done = sum(1 for r in progress.values() if r.status == PASS)
    grid = Table.grid(padding=(0, 1))
    grid.add_row(ProgressBar(total=len(course.steps), completed=done, width=40),
                 f"{done} of {len(course.steps)} steps pass")
    console.print(grid)


def current_step(course: Course, progress: dict[int, StepResult]) -> Step | None:
    """The first step whose last check did not pass, passing over skipped steps while a later
    step is still to do (a skip is no reason to stop there)."""
    first_skipped = None
    for step in course.steps:
        result = progress.get(step.number)
        if result is None or result.status not in (PASS, SKIPPED):
            return step
        if result.status == SKIPPED and first_skipped is None:
            first_skipped = step
    return first_skipped
