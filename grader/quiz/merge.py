"""Merging two students an instructor knows are one person (two names, or two browsers).

The attempts of the first move to the second, and the first is kept, marked merged, so a
browser whose session names it continues as the second. Where both have an open attempt at
the same quiz (one open attempt a quiz), the first's is submitted with the answers it has.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from grader.quiz.models import Answer, Attempt, Student


class MergeError(ValueError):
    """The two students cannot be merged; nothing was changed."""


@dataclass(frozen=True)
class Merged:
    source: str  # the name merged away
    target: str  # the name kept
    moved: int  # attempts moved
    submitted: tuple[int, ...]  # open attempts of the first submitted, the second's being open


def _student(session: Session, student_id: int, role: str) -> Student:
    student = session.get(Student, student_id)
    if student is None:
        raise MergeError(f"There is no student {student_id} (the {role}).")
    if student.merged_into is not None:
        raise MergeError(
            f"Student {student_id} ({student.name}) was merged into student "
            f"{student.merged_into} already; merge with that one."
        )
    return student


def merge_students(session: Session, source_id: int, target_id: int) -> Merged:
    """Inside a transaction: student `source_id` becomes `target_id` (see the module)."""
    if source_id == target_id:
        raise MergeError("Choose two different students to merge.")
    source = _student(session, source_id, "one merged away")
    target = _student(session, target_id, "one kept")
    held = set(
        session.scalars(
            select(Attempt.open_quiz).where(
                Attempt.student_id == target_id, Attempt.open_quiz.is_not(None)
            )
        )
    )
    submitted = []
    if held:
        clashing = session.scalars(
            select(Attempt).where(Attempt.student_id == source_id, Attempt.open_quiz.in_(held))
        )
        for attempt in clashing:
            score = select(func.count()).where(
                Answer.attempt_id == attempt.id, Answer.correct.is_(True)
            )
            attempt.score = session.scalar(score)
            attempt.finished_at = time.time()
            attempt.open_quiz = None
            submitted.append(attempt.id)
        session.flush()
    moved = len(
        session.scalars(
            update(Attempt)
            .where(Attempt.student_id == source_id)
            .values(student_id=target_id)
            .returning(Attempt.id)
        ).all()
    )
    session.execute(
        update(Student)
        .where((Student.id == source_id) | (Student.merged_into == source_id))
        .values(merged_into=target_id)
    )
    return Merged(source.name, target.name, moved, tuple(submitted))
