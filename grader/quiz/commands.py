"""`persistlab quiz` (terminal quiz, bank export) and `persistlab serve` (the web quiz)."""

from __future__ import annotations

import getpass
from dataclasses import replace
from pathlib import Path

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from grader.course import CourseError, load_course
from grader.quiz.bank import LEVELS, BankError, load_bank
from grader.quiz.grading import QuizChoice, QuizChoiceError
from grader.quiz.policy import PolicyError
from grader.quiz.store import QuizStore, default_database_url, normalize_url
from grader.quiz.web.settings import PREFIX, Settings, SettingsError
from grader.workspace import find_workspace

DB_HELP = (
    f"SQLAlchemy database URL. Default: ${PREFIX}DATABASE_URL, else the workspace's "
    ".persistlab/state.db, else ./persistlab-quiz.db."
)


def _settings(db_url: str | None, directory: Path | None = None) -> Settings:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if db_url:
        return replace(settings, database_url=db_url)
    if directory is None:
        return settings
    workspace = find_workspace(directory) if directory.is_dir() else None
    if workspace is None:
        raise click.ClickException(f"{directory} is not a persistlab workspace (made by `persistlab init`).")
    return replace(settings, database_url=default_database_url(workspace), workspace=workspace)


WORKSPACE_OPTION = click.option(
    "--dir", "directory", type=click.Path(path_type=Path), default=None,
    help="Keep the answers in this workspace (its .persistlab/state.db), where `persistlab list` counts them.",
)


def describe_database(url: str) -> str:
    """Where the answers go, for people: a file path for SQLite, else the URL sans password."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database)
    return parsed.render_as_string(hide_password=True)


@click.group(invoke_without_command=True)
@click.option("--topic", help="Only this topic's questions (default: the mixed self-check).")
@click.option("--level", type=click.Choice(LEVELS), help="Only questions of this difficulty.")
@click.option("--count", type=click.IntRange(min=1), help="At most this many questions.")
@click.option("--step", "step_ref", metavar="STEP",
              help="Exactly the questions linked to this step (a number, slug or folder).")
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
@WORKSPACE_OPTION
@click.option("--name", help="Your display name (asked for if not given).")
@click.pass_context
def quiz(
    ctx: click.Context,
    topic: str | None,
    level: str | None,
    count: int | None,
    step_ref: str | None,
    db_url: str | None,
    directory: Path | None,
    name: str | None,
) -> None:
    """Take a quiz in the terminal, with the web quiz's questions, feedback and storage.

    \b
    Examples:
      persistlab quiz                                 # self-check: 10 questions, easy to hard
      persistlab quiz --topic persistence --count 5
      persistlab quiz --level hard
      persistlab quiz --step 5                        # the questions linked to step 5
    """
    if ctx.invoked_subcommand is not None:
        return
    from grader.quiz.terminal import run_quiz

    if step_ref is not None and (topic or level or count):
        raise click.UsageError("--step asks exactly the step's questions: give it without "
                               "--topic, --level or --count.")
    settings = _settings(db_url, directory)
    try:
        bank = load_bank(settings.quiz_dir)
        course = load_course()
        step = None if step_ref is None else course.resolve(step_ref.strip().rstrip("/").split("/")[-1])
        steps = {each.slug: each for each in course.steps}
        store = QuizStore(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    except (BankError, CourseError) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"Cannot open the quiz database: {exc}") from None
    try:
        choice = QuizChoice.for_step(step) if step else QuizChoice(topic=topic, level=level, count=count)
        who = name or click.prompt("Your display name", default=getpass.getuser())
        run_quiz(bank=bank, store=store, choice=choice, name=who.strip()[:60], steps=steps)
    except QuizChoiceError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(f"Answers are stored in {describe_database(settings.database_url)}.")


@quiz.command("regrade")
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
def regrade_command(db_url: str | None) -> None:
    """Regrade answers given to an earlier version of a question against the bank's version
    (a corrected key), and say whose score changed.

    Example: persistlab quiz regrade --db postgresql://quiz@db/class
    """
    settings = _settings(db_url)
    try:
        bank = load_bank(settings.quiz_dir)
        store = QuizStore(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    except BankError as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"Cannot open the quiz database: {exc}") from None
    try:
        done = store.regrade(bank)
    finally:
        store.close()
    click.echo(f"Regraded {done.moved} answers given to an earlier version of their question.")
    for change in done.changes:
        click.echo(
            f"  {change.student} (attempt {change.attempt_id}): "
            f"{change.before} -> {change.after} of {change.total}"
        )
    if not done.changes:
        click.echo("No score changed.")
    if done.kept:
        click.echo(
            "Not regraded (the question left the bank, or its options have other keys there): "
            + ", ".join(done.kept)
        )


@quiz.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["gift", "qti"]), required=True, help="Moodle GIFT or QTI."
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="File to write.")
def export(fmt: str, out: Path) -> None:
    """Export the question bank for a learning platform.

    Example: persistlab quiz export --format gift --out quiz.gift
    """
    from grader.quiz.export import export_bank

    try:
        export_bank(load_bank(), fmt, out)
    except BankError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Wrote {out}.")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
@WORKSPACE_OPTION
def serve(host: str, port: int, db_url: str | None, directory: Path | None) -> None:
    """Serve the course map and the quizzes in a browser.

    Answers are committed to the database before each page answers, so they survive a restart.
    Instructor statistics are on when PERSISTLAB_INSTRUCTOR_TOKEN is set.

    Example: persistlab serve --port 8000
    """
    import uvicorn

    from grader.quiz.web import create_app

    settings = _settings(db_url, directory)
    try:
        app = create_app(settings)
    except (BankError, CourseError, PolicyError) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"Cannot open the quiz database: {exc}") from None
    click.echo(f"Quiz answers are stored in {describe_database(settings.database_url)}")
    if settings.instructor_token:
        click.echo(f"Instructor pages: http://{host}:{port}/instructor")
    else:
        click.echo(f"Instructor pages are off (set {PREFIX}INSTRUCTOR_TOKEN to turn them on).")
    click.echo(f"Open http://{host}:{port}/ in a browser; Ctrl+C stops the server.")
    uvicorn.run(app, host=host, port=port, log_level="warning")
