"""The quiz tables: students, their attempts, one row per question of an attempt, and config.

All prefixed `quiz_`, so they may share the workspace's state.db with step progress.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from grader.quiz.bank import VERSION_LENGTH

NAME_MAX = 60


class Base(DeclarativeBase):
    pass


class Student(Base):
    __tablename__ = "quiz_students"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    created_at: Mapped[float]
    merged_into: Mapped[int | None]  # set when an instructor merged this student into another


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
    # While the attempt is open and its quiz allows one open attempt: the quiz ("topic|level").
    # The unique index on (student_id, open_quiz) then keeps racing starts to one open attempt.
    open_quiz: Mapped[str | None] = mapped_column(String(100))
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


Index("quiz_attempts_one_open", Attempt.student_id, Attempt.open_quiz, unique=True)


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
    version: Mapped[str | None] = mapped_column(String(VERSION_LENGTH))  # None: before versions
    params: Mapped[str | None] = mapped_column(Text)  # a variant's drawn parameters, as JSON


class QuestionVersion(Base):
    """A question as an attempt served it, by its content hash: what past attempts show and
    grade from after the bank changes or loses the question."""

    __tablename__ = "quiz_question_versions"

    version: Mapped[str] = mapped_column(String(VERSION_LENGTH), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(120), index=True)
    content: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[float]


class Config(Base):
    __tablename__ = "quiz_config"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class InstructorSession(Base):
    """A signed-in instructor's browser: the cookie carries a random id, the table its hash,
    so signing out (deleting the row) ends every copy of that cookie."""

    __tablename__ = "quiz_instructor_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64))  # of the token it signed in with
    created_at: Mapped[float]
