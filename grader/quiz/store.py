"""Quiz attempts kept by SQLAlchemy: a SQLite file by default, any database URL by setting.

Every write commits before it returns, so an answer whose response was sent is on disk.
The tables are prefixed `quiz_` and may share the workspace's state.db with step progress.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Engine,
    ForeignKey,
    String,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    aliased,
    mapped_column,
    relationship,
    selectinload,
    sessionmaker,
)

from grader.workspace import find_workspace, state_db

DEFAULT_DB_FILE = "persistlab-quiz.db"
NAME_MAX = 60


class Base(DeclarativeBase):
    pass


class Student(Base):
    __tablename__ = "quiz_students"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    created_at: Mapped[float]


class Attempt(Base):
    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("quiz_students.id"), index=True)
    topic: Mapped[str | None] = mapped_column(String(80))
    level: Mapped[str | None] = mapped_column(String(10))
    total: Mapped[int]
    started_at: Mapped[float]
    finished_at: Mapped[float | None]
    score: Mapped[int | None]
    student: Mapped[Student] = relationship(lazy="joined")
    answers: Mapped[list[Answer]] = relationship(order_by="Answer.position")

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def next_position(self) -> int | None:
        """The 1-based position of the first unanswered question, or None when all are done."""
        for answer in self.answers:
            if answer.chosen is None:
                return answer.position
        return None


class Answer(Base):
    """One question of an attempt: its shuffled option order, then the student's choice."""

    __tablename__ = "quiz_answers"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[str] = mapped_column(String(120), index=True)
    option_order: Mapped[str] = mapped_column(String(8))
    chosen: Mapped[str | None] = mapped_column(String(1))
    correct: Mapped[bool | None]
    answered_at: Mapped[float | None]


class Config(Base):
    __tablename__ = "quiz_config"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


@dataclass(frozen=True)
class Slot:
    """One question of an attempt as the answer route needs it, read in a single query."""

    attempt_id: int
    student_id: int
    total: int
    finished: bool
    next_position: int | None
    question_id: str | None  # None when the attempt has no such position
    option_order: str
    chosen: str | None


@dataclass(frozen=True)
class AnswerRow:
    """One answered question, flattened for statistics."""

    attempt_id: int
    student_id: int
    question_id: str
    chosen: str
    correct: bool
    attempt_finished: bool


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


# The answer path's statements, built once: constructing a statement costs about ten times
# as much as running it on SQLite.
_pending = aliased(Answer)
_SLOT = (
    select(
        Attempt.student_id,
        Attempt.total,
        Attempt.finished_at.is_not(None),
        select(func.min(_pending.position))
        .where(_pending.attempt_id == Attempt.id, _pending.chosen.is_(None))
        .scalar_subquery(),
        Answer.question_id,
        Answer.option_order,
        Answer.chosen,
    )
    .outerjoin(
        Answer, (Answer.attempt_id == Attempt.id) & (Answer.position == bindparam("the_position"))
    )
    .where(Attempt.id == bindparam("the_attempt"))
)
_ANSWER = (
    update(Answer)
    .where(
        Answer.attempt_id == bindparam("the_attempt"),
        Answer.position == bindparam("the_position"),
        Answer.chosen.is_(None),
        Answer.position
        == select(func.min(_pending.position))
        .where(_pending.attempt_id == bindparam("the_attempt"), _pending.chosen.is_(None))
        .scalar_subquery(),
    )
    .values(
        chosen=bindparam("new_chosen"),
        correct=bindparam("new_correct"),
        answered_at=bindparam("now"),
    )
)
_FINISH = (
    update(Attempt)
    .where(
        Attempt.id == bindparam("the_attempt"),
        Attempt.finished_at.is_(None),
        Attempt.total == bindparam("the_position"),
    )
    .values(
        finished_at=bindparam("now"),
        score=select(func.count())
        .select_from(Answer)
        .where(Answer.attempt_id == bindparam("the_attempt"), Answer.correct.is_(True))
        .scalar_subquery(),
    )
)


def _read_slot(conn: Connection, attempt_id: int, position: int) -> Slot | None:
    row = conn.execute(_SLOT, {"the_attempt": attempt_id, "the_position": position}).first()
    if row is None:
        return None
    student_id, total, finished, next_position, question_id, order, chosen = row
    return Slot(
        attempt_id, student_id, total, bool(finished), next_position, question_id,
        order or "", chosen,
    )  # fmt: skip


def _store_answer(
    conn: Connection, attempt_id: int, position: int, chosen: str, correct: bool, *, last: bool
) -> bool:
    """The conditional UPDATE; `last` (position may be the attempt's last question) also runs
    the one that finishes the attempt, whose WHERE checks the total itself."""
    values = {"the_attempt": attempt_id, "the_position": position, "now": time.time()}
    result = conn.execute(_ANSWER, {**values, "new_chosen": chosen, "new_correct": correct})
    if result.rowcount != 1:
        return False
    if last:
        conn.execute(_FINISH, values)
    return True


def _insert_student(conn: Connection, name: str) -> int:
    row = {"name": name[:NAME_MAX], "created_at": time.time()}
    return int(conn.execute(insert(Student).returning(Student.id), row).scalar_one())


def _insert_attempt(
    conn: Connection,
    student_id: int,
    questions: Sequence[tuple[str, str]],
    topic: str | None,
    level: str | None,
) -> int:
    if not questions:
        raise ValueError("An attempt needs at least one question.")
    row = {"student_id": student_id, "topic": topic, "level": level}
    attempt_id = conn.execute(
        insert(Attempt).returning(Attempt.id),
        {**row, "total": len(questions), "started_at": time.time()},
    ).scalar_one()
    conn.execute(
        insert(Answer),
        [
            {"attempt_id": attempt_id, "position": n, "question_id": qid, "option_order": order}
            for n, (qid, order) in enumerate(questions, start=1)
        ],
    )
    return int(attempt_id)


def _create_tables(engine: Engine, tries: int = 5) -> None:
    """Create missing tables; server workers starting together on an empty database race to
    create them, and the losers find them made when they try again."""
    for attempt in range(1, tries + 1):
        try:
            Base.metadata.create_all(engine)
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

    def add_student(self, name: str) -> int:
        with self.write_transaction() as conn:
            return _insert_student(conn, name)

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
        questions: Sequence[tuple[str, str]],
        topic: str | None = None,
        level: str | None = None,
    ) -> int:
        """A new attempt over `questions`, given as (question id, shuffled option keys)."""
        with self.write_transaction() as conn:
            return _insert_attempt(conn, student_id, questions, topic, level)

    @staticmethod
    def start_attempt_in(
        conn: Connection,
        *,
        student_id: int | None,
        name: str,
        questions: Sequence[tuple[str, str]],
        topic: str | None = None,
        level: str | None = None,
    ) -> tuple[int, int]:
        """Inside `write_transaction`: (student id, attempt id) of a new attempt for `name`,
        by the student `student_id` if that one has this name, else by a new student."""
        query = select(Student.name).where(Student.id == student_id)
        if student_id is None or conn.execute(query).scalar_one_or_none() != name:
            student_id = _insert_student(conn, name)
        return student_id, _insert_attempt(conn, student_id, questions, topic, level)

    def attempt(self, attempt_id: int) -> Attempt | None:
        """The attempt with its student and answers loaded, or None."""
        with self._sessions() as session:
            return session.get(Attempt, attempt_id, options=[selectinload(Attempt.answers)])

    def slot(self, attempt_id: int, position: int) -> Slot | None:
        """The attempt's owner and state with question `position`; None if no such attempt."""
        with self.engine.connect() as conn:
            return _read_slot(conn, attempt_id, position)

    def attempts_of(self, student_id: int, limit: int = 20) -> list[Attempt]:
        with self._sessions() as session:
            query = (
                select(Attempt)
                .where(Attempt.student_id == student_id)
                .order_by(Attempt.id.desc())
                .limit(limit)
            )
            return list(session.scalars(query))

    def record_answer(self, *, attempt_id: int, position: int, chosen: str, correct: bool) -> bool:
        """Store the answer if `position` is the attempt's next unanswered question.

        False when it is not (answered already, out of order, or the attempt is finished); the
        check and the write are one UPDATE, so two racing submissions cannot both succeed.
        The answer to the last question finishes the attempt in the same transaction.
        """
        with self.write_transaction() as conn:
            return _store_answer(conn, attempt_id, position, chosen, correct, last=True)

    @contextmanager
    def write_transaction(self) -> Iterator[Connection]:
        """One write transaction; on SQLite it takes the write lock at BEGIN (IMMEDIATE), so
        what it reads cannot go stale before it writes."""
        with self._writer, self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @staticmethod
    def answer_in(
        conn: Connection,
        attempt_id: int,
        position: int,
        decide: Callable[[Slot | None], tuple[str, bool]],
    ) -> bool:
        """Inside `write_transaction`: read the slot, let `decide` turn it into (bank key,
        correct) or raise to refuse (nothing is written then), and store the answer.
        False if the conditional UPDATE found the question taken after all."""
        slot = _read_slot(conn, attempt_id, position)
        choice, correct = decide(slot)
        last = slot is None or slot.total == position
        return _store_answer(conn, attempt_id, position, choice, correct, last=last)

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
            )
            .join(Attempt, Attempt.id == Answer.attempt_id)
            .where(Answer.chosen.is_not(None))
            .order_by(Answer.attempt_id, Answer.position)
        )
        with self._sessions() as session:
            return [
                AnswerRow(attempt, student, question, str(chosen), bool(correct), bool(finished))
                for attempt, student, question, chosen, correct, finished in session.execute(query)
            ]
