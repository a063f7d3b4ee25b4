"""Quiz attempts kept by SQLAlchemy: a SQLite file by default, any database URL by setting.

Every write commits before it returns, so an answer whose response was sent is on disk.
The tables are prefixed `quiz_` and may share the workspace's state.db with step progress.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, event, func, inspect, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload, sessionmaker

from grader.quiz.answers import (
    Given,
    Served,
    Slot,
    Started,
    close_attempt_in,
    insert_attempt,
    insert_student,
    name_key,
    read_sheet,
    start_attempt_in,
    store_answer,
)
from grader.quiz.bank import Bank, Question
from grader.quiz.merge import Merged, merge_students
from grader.quiz.models import (
    NAME_MAX,
    Answer,
    Attempt,
    Base,
    Config,
    InstructorSession,
    QuestionVersion,
    Student,
)
from grader.quiz.policy import Policies, QuizPolicy
from grader.quiz.regrade import Regrade, regrade
from grader.workspace import find_workspace, state_db

__all__ = ["NAME_MAX", "Answer", "AnswerRow", "Attempt", "Base", "QuizStore", "Slot", "Student"]

DEFAULT_DB_FILE = "persistlab-quiz.db"


@dataclass(frozen=True)
class AnswerRow:
    """One answered question, flattened for statistics."""

    attempt_id: int
    student_id: int
    question_id: str
    chosen: str
    correct: bool
    attempt_finished: bool
    version: str | None = None  # of the question as served
    params: str | None = None  # the variant it was served, as JSON
    served: int = 0  # questions in the attempt, answered or not (0: only those listed)


def default_database_url(cwd: Path | None = None) -> str:
    """The workspace's state.db when inside a workspace, else a file in the working directory."""
    workspace = find_workspace(cwd)
    path = state_db(workspace) if workspace else (cwd or Path.cwd()) / DEFAULT_DB_FILE
    return f"sqlite:///{path.resolve()}"


def normalize_url(url: str) -> str:
    """Bare postgresql:// URLs use psycopg 3, the driver persistlab installs."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    """An engine; SQLite files get WAL, synchronous commits, foreign keys and a busy timeout."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_size=10, max_overflow=30, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={sqlite_synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def _add_missing_columns(engine: Engine) -> None:
    """Columns (all may be NULL) and indexes this version added to tables an older one made."""
    found = inspect(engine)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            have = {column["name"] for column in found.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have:
                    kind = column.type.compile(dialect=engine.dialect)
                    conn.exec_driver_sql(
                        f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"
                    )
            indexes = {index["name"] for index in found.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in indexes:
                    index.create(conn)


def _create_tables(engine: Engine, tries: int = 5) -> None:
    """Create missing tables and columns; server workers starting together on an empty
    database race to create them, and the losers find them made when they try again."""
    for attempt in range(1, tries + 1):
        try:
            Base.metadata.create_all(engine)
            _add_missing_columns(engine)
            return
        except DBAPIError:
            if attempt == tries:
                raise
            time.sleep(0.05 * attempt)


class QuizStore:
    """Students, attempts and answers. Each method is one transaction, committed on return."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.engine = make_engine(url, sqlite_synchronous=sqlite_synchronous)
        self.url = self.engine.url.render_as_string(hide_password=True)
        _create_tables(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time, and a thread that finds the file locked sleeps in
        # SQLite's busy handler for up to 100 ms a round. Queueing this process's writers on a
        # lock instead hands the file over at once; other processes still get the busy handler.
        sqlite = self.engine.dialect.name == "sqlite"
        self._writer: AbstractContextManager[object] = threading.Lock() if sqlite else nullcontext()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._writer, self._sessions() as session, session.begin():
            yield session

    def secret_key(self) -> str:
        """The cookie-signing secret: made once, kept in the database so it survives restarts."""
        with self._sessions() as session:
            row = session.get(Config, "secret_key")
            if row is not None:
                return row.value
        try:
            with self._transaction() as session:
                session.add(Config(key="secret_key", value=secrets.token_urlsafe(32)))
        except IntegrityError:  # another process made it first
            pass
        with self._sessions() as session:
            return session.get_one(Config, "secret_key").value

    def keep_versions(self, questions: Sequence[Question]) -> None:
        """Store each question's version unless it is stored already (startup, once)."""
        with self._sessions() as session:
            have = set(session.scalars(select(QuestionVersion.version)))
        missing = {q.version: q for q in questions if q.version not in have}
        if not missing:
            return
        try:
            with self._transaction() as session:
                session.add_all(
                    QuestionVersion(
                        version=version,
                        question_id=q.id,
                        content=q.to_json(),
                        first_seen=time.time(),
                    )
                    for version, q in missing.items()
                )
        except IntegrityError:  # another process stored some first: store the rest
            self.keep_versions(questions)

    def question_versions(self, version: str | None = None) -> dict[str, Question]:
        """Every stored version by its hash (or only `version`)."""
        query = select(QuestionVersion.version, QuestionVersion.content)
        if version is not None:
            query = query.where(QuestionVersion.version == version)
        with self._sessions() as session:
            return {found: Question.from_json(text) for found, text in session.execute(query)}

    def regrade(self, bank: Bank) -> Regrade:
        """Answers to an earlier version moved to the bank's, in one transaction (regrade.py)."""
        with self._transaction() as session:
            return regrade(session, bank)

    def add_instructor_session(self, id_hash: str, token_digest: str) -> None:
        with self._transaction() as session:
            session.add(
                InstructorSession(
                    id_hash=id_hash, token_digest=token_digest, created_at=time.time()
                )
            )

    def instructor_session(self, id_hash: str) -> InstructorSession | None:
        with self._sessions() as session:
            return session.get(InstructorSession, id_hash)

    def end_instructor_session(self, id_hash: str) -> None:
        with self._transaction() as session:
            session.execute(delete(InstructorSession).where(InstructorSession.id_hash == id_hash))

    def add_student(self, name: str) -> int:
        with self.write_transaction() as conn:
            return insert_student(conn, name)

    def student(self, student_id: int) -> Student | None:
        with self._sessions() as session:
            return session.get(Student, student_id)

    def student_named(self, name: str) -> int:
        """The latest student called `name`, made if there is none (the terminal's identity)."""
        with self._sessions() as session:
            found = session.scalars(
                select(Student.id).where(Student.name == name).order_by(Student.id.desc())
            ).first()
        return found if found is not None else self.add_student(name)

    def start_attempt(
        self,
        *,
        student_id: int,
        questions: Sequence[Given],
        topic: str | None = None,
        level: str | None = None,
    ) -> int:
        """A new attempt over `questions`, given as (question id, shuffled option keys), or
        with the question's version third and a variant's parameters (JSON) fourth."""
        with self.write_transaction() as conn:
            return insert_attempt(conn, student_id, questions, topic, level)

    def begin_attempt(
        self,
        *,
        name: str,
        questions: Sequence[Served],
        topic: str | None,
        level: str | None,
        policy: QuizPolicy,
    ) -> Started:
        """The terminal's start: the latest student called `name` (case and spacing aside)
        resumes or starts as the web's start does (`answers.start_attempt_in`)."""
        with self.write_transaction() as conn:
            return start_attempt_in(
                conn, student_id=self._named(conn, name), name=name, questions=questions,
                topic=topic, level=level, policy=policy,
            )  # fmt: skip

    def _named(self, conn: Connection, name: str) -> int | None:
        wanted = name_key(name)
        rows = conn.execute(select(Student.id, Student.name).order_by(Student.id.desc()))
        return next((sid for sid, known in rows if name_key(known) == wanted), None)

    def close_overdue(self, policies: Policies) -> int:
        """Submit every open attempt whose time is up; how many (for the instructor's figures)."""
        with self._sessions() as session:
            rows = session.execute(
                select(Attempt.id, Attempt.topic, Attempt.started_at).where(
                    Attempt.finished_at.is_(None)
                )
            ).all()
        now = time.time()
        due = [
            (attempt_id, deadline)
            for attempt_id, topic, started in rows
            if (deadline := policies.of(topic).deadline(started)) is not None and deadline <= now
        ]
        if not due:
            return 0
        with self.write_transaction() as conn:
            return sum(close_attempt_in(conn, attempt_id, at) for attempt_id, at in due)

    def merge_students(self, source_id: int, target_id: int) -> Merged:
        """Student `source_id`'s attempts go to `target_id` (merge.py); MergeError if not."""
        with self._transaction() as session:
            return merge_students(session, source_id, target_id)

    def students(self) -> list[tuple[Student, int]]:
        """Every student not merged into another, with their number of attempts."""
        count = select(func.count()).where(Attempt.student_id == Student.id).scalar_subquery()
        query = select(Student, count).where(Student.merged_into.is_(None)).order_by(Student.id)
        with self._sessions() as session:
            return [(student, int(n)) for student, n in session.execute(query)]

    def close_attempt(self, attempt_id: int, at: float) -> bool:
        """Submit an open attempt whose time ended at `at`; False if it was finished already."""
        with self.write_transaction() as conn:
            return close_attempt_in(conn, attempt_id, at)

    def attempt(self, attempt_id: int) -> Attempt | None:
        """The attempt with its student and answers loaded, or None."""
        with self._sessions() as session:
            return session.get(Attempt, attempt_id, options=[selectinload(Attempt.answers)])

    def slot(self, attempt_id: int, position: int) -> Slot | None:
        """The attempt's owner and state with question `position`; None if no such attempt."""
        with self.engine.connect() as conn:
            sheet = read_sheet(conn, attempt_id)
        return sheet.slot(attempt_id, position) if sheet else None

    def attempts_of(self, student_id: int, limit: int = 20) -> list[Attempt]:
        with self._sessions() as session:
            query = (
                select(Attempt)
                .where(Attempt.student_id == student_id)
                .order_by(Attempt.id.desc())
                .limit(limit)
            )
            return list(session.scalars(query))

    def pending_elsewhere(self, attempt: Attempt) -> set[str]:
        """The question ids waiting unanswered in the student's other open attempts."""
        query = (
            select(Answer.question_id)
            .join(Attempt, Attempt.id == Answer.attempt_id)
            .where(
                Attempt.student_id == attempt.student_id,
                Attempt.id != attempt.id,
                Attempt.finished_at.is_(None),
                Answer.chosen.is_(None),
            )
        )
        with self._sessions() as session:
            return set(session.scalars(query))

    def held_scores(self, student_id: int) -> set[int]:
        """The student's finished attempts whose score would tell the key of a question one of
        their open attempts still asks (`pending_elsewhere`): the score waits too."""
        done, pending = aliased(Answer), aliased(Answer)
        done_attempt, open_attempt = aliased(Attempt), aliased(Attempt)
        query = (
            select(done.attempt_id)
            .distinct()
            .join(done_attempt, done_attempt.id == done.attempt_id)
            .join(pending, pending.question_id == done.question_id)
            .join(open_attempt, open_attempt.id == pending.attempt_id)
            .where(
                done_attempt.student_id == student_id,
                done_attempt.finished_at.is_not(None),
                done.chosen.is_not(None),
                open_attempt.student_id == student_id,
                open_attempt.finished_at.is_(None),
                pending.chosen.is_(None),
            )
        )
        with self._sessions() as session:
            return set(session.scalars(query))

    def record_answer(self, *, attempt_id: int, position: int, chosen: str, correct: bool) -> bool:
        """Store the answer if `position` is the attempt's next unanswered question.

        False when it is not (answered already, out of order, or the attempt is finished, by its
        last answer, its time, or a merge); the
        check and the write are one UPDATE, so two racing submissions cannot both succeed.
        The answer to the last question finishes the attempt in the same transaction.
        """
        with self.write_transaction() as conn:
            return store_answer(conn, attempt_id, position, chosen, correct, last=True)

    @contextmanager
    def write_transaction(self) -> Iterator[Connection]:
        """One write transaction; on SQLite it takes the write lock at BEGIN (IMMEDIATE), so
        what it reads cannot go stale before it writes."""
        with self._writer, self.engine.connect() as conn, conn.begin():
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    def all_attempts(self) -> list[Attempt]:
        """Every attempt with its student, oldest first (for per-student scores)."""
        with self._sessions() as session:
            return list(session.scalars(select(Attempt).order_by(Attempt.id)))

    def answer_rows(self) -> list[AnswerRow]:
        """Every answered question with its attempt's student and state (for item statistics)."""
        query = (
            select(
                Answer.attempt_id,
                Attempt.student_id,
                Answer.question_id,
                Answer.chosen,
                Answer.correct,
                Attempt.finished_at.is_not(None),
                Answer.version,
                Answer.params,
                Attempt.total,
            )
            .join(Attempt, Attempt.id == Answer.attempt_id)
            .where(Answer.chosen.is_not(None))
            .order_by(Answer.attempt_id, Answer.position)
        )
        with self._sessions() as session:
            rows = session.execute(query)
            return [
                AnswerRow(
                    attempt,
                    student,
                    qid,
                    str(chosen),
                    bool(correct),
                    bool(finished),
                    version,
                    params,
                    total,
                )
                for attempt, student, qid, chosen, correct, finished, version, params, total in rows
            ]
