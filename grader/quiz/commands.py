"""`persistlab quiz` (terminal quiz, bank export) and `persistlab serve` (the web quiz)."""

from __future__ import annotations

import getpass
import random
import time
from dataclasses import replace
from pathlib import Path

import click
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from grader.course import CourseError, load_course
from grader.quiz.answers import StartRefused, display_name
from grader.quiz.bank import LEVELS, BankError, load_bank
from grader.quiz.grading import QuizChoice, QuizChoiceError
from grader.quiz.merge import MergeError
from grader.quiz.models import Student
from grader.quiz.policy import PolicyError, load_policies
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


def cannot_open(url: str, exc: SQLAlchemyError) -> click.ClickException:
    """One line: which database, and the driver's own words (not SQLAlchemy's wrapping)."""
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    try:
        where = describe_database(url)
    except SQLAlchemyError:
        where = "at that URL"
    return click.ClickException(f"Cannot open the quiz database {where}: {reason}")


def _has_quiz_tables(url: str) -> bool:
    """Whether the quiz has made its tables there; read by a plain engine, which sets no
    pragma and creates nothing."""
    engine = create_engine(normalize_url(url))
    try:
        return inspect(engine).has_table(Student.__tablename__)
    finally:
        engine.dispose()


def open_store(settings: Settings, *, existing: bool = False) -> QuizStore:
    """The store over the settings' database; with `existing`, a SQLite file that is not there
    yet is an error, not a new empty database (the instructor's commands read what students
    wrote)."""
    try:
        parsed = make_url(normalize_url(settings.database_url))
        database = parsed.database if parsed.get_backend_name() == "sqlite" else None
        if existing and database and database != ":memory:" and not Path(database).is_file():
            raise click.ClickException(
                f"There is no quiz database at {database} (nothing was created there). "
                f"Give the one the quiz server uses with --db or ${PREFIX}DATABASE_URL."
            )
        if existing and not _has_quiz_tables(settings.database_url):
            raise click.ClickException(
                f"{describe_database(settings.database_url)} has no quiz tables, so no quiz was "
                "taken with it (it was left as it was). Give the database the quiz server uses "
                f"with --db or ${PREFIX}DATABASE_URL."
            )
        return QuizStore(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    except SQLAlchemyError as exc:
        raise cannot_open(settings.database_url, exc) from None


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
        policies = load_policies(settings.quiz_settings, bank.topics())
        course = load_course()
        step = None if step_ref is None else course.resolve(step_ref.strip().rstrip("/").split("/")[-1])
        steps = {each.slug: each for each in course.steps}
        title = bank.title(topic) if topic else None
        choice = (QuizChoice.for_step(step) if step else
                  QuizChoice(topic=topic, level=level, count=count, topic_title=title))
        choice.pick(bank, random.Random(0))  # refused here, before the database is touched
    except (BankError, CourseError, PolicyError, QuizChoiceError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        who = display_name(name or click.prompt("Your display name", default=getpass.getuser()))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    closed = policies.of(choice.topic).not_open(time.time())
    if closed:
        raise click.ClickException(f"{choice.title}: This quiz {closed}.")
    store = open_store(settings)
    try:
        run_quiz(
            bank=bank, store=store, choice=choice, name=who, steps=steps,
            policy=policies.of(choice.topic),
        )  # fmt: skip
    except QuizChoiceError as exc:
        raise click.ClickException(str(exc)) from None
    except StartRefused as exc:
        raise click.ClickException(f"{choice.title}: {exc}") from None
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
    except BankError as exc:
        raise click.ClickException(str(exc)) from None
    store = open_store(settings, existing=True)
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


@quiz.command("students")
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
def students_command(db_url: str | None) -> None:
    """List the students with their ids and attempts (the ids `merge` takes).

    Example: persistlab quiz students --db postgresql://quiz@db/class
    """
    store = open_store(_settings(db_url), existing=True)
    try:
        rows = store.students()
    finally:
        store.close()
    if not rows:
        click.echo("No students yet.")
    for student, attempts in rows:
        click.echo(
            f"{student.id:>6}  {student.name}  ({attempts} attempt{'' if attempts == 1 else 's'})"
        )


@quiz.command("merge")
@click.argument("source", type=click.IntRange(1, 2**31 - 1), metavar="FROM")
@click.argument("target", type=click.IntRange(1, 2**31 - 1), metavar="INTO")
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
def merge_command(source: int, target: int, db_url: str | None) -> None:
    """Merge student FROM into student INTO (ids from `persistlab quiz students`): one person
    who used two names. FROM's attempts become INTO's, and FROM's browser continues as INTO.

    Example: persistlab quiz merge 12 7
    """
    store = open_store(_settings(db_url), existing=True)
    try:
        done = store.merge_students(source, target)
    except MergeError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(
        f"{done.source} (student {source}) is now {done.target} (student {target}): "
        f"{done.moved} attempt{'' if done.moved == 1 else 's'} moved."
    )
    if done.submitted:
        click.echo(
            "Both had an open attempt at the same quiz; submitted with the answers it had: "
            + ", ".join(f"attempt {a}" for a in done.submitted)
        )


@quiz.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["gift", "moodle", "qti", "canvas"]),
    required=True,
    help="Moodle GIFT, Moodle XML, a QTI 2.1 package, or a QTI 1.2 package for Canvas.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="File to write.")
@click.option(
    "--variants",
    default=3,
    show_default=True,
    type=click.IntRange(1, 50),
    help="Variants written per variant question; the platform gives each student one.",
)
def export(fmt: str, out: Path, variants: int) -> None:
    """Export the question bank for a learning platform.

    Example: persistlab quiz export --format moodle --out quiz.xml
    """
    from grader.quiz.export import export_bank

    try:
        export_bank(load_bank(), fmt, out, variants)
    except BankError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"Cannot write {out}: {exc.strerror or exc}.") from None
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
        raise cannot_open(settings.database_url, exc) from None
    click.echo(f"Quiz answers are stored in {describe_database(settings.database_url)}")
    if settings.instructor_token:
        click.echo(f"Instructor pages: http://{host}:{port}/instructor")
    else:
        click.echo(f"Instructor pages are off (set {PREFIX}INSTRUCTOR_TOKEN to turn them on).")
    click.echo(f"Open http://{host}:{port}/ in a browser; Ctrl+C stops the server.")
    uvicorn.run(app, host=host, port=port, log_level="warning")
