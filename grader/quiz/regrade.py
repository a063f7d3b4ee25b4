"""Regrading: answers given to an earlier version of a question move to the bank's version and
take its grade, and finished attempts are scored again.

The rule: an answer keeps the grade of the version it was served until an instructor regrades
(`persistlab quiz regrade`, or the button on the instructor page). Regrading moves an answer
only when the bank's version has the same option keys (the student chose a key, and it must
mean an option in both) and, for a variant question, takes the parameters the answer was
drawn with (the review renders it from them); others, and answers to questions gone from the bank, keep their
grade and are reported. After a regrade the review
shows the bank's version, so review and score still agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.quiz.bank import Bank, Question
from grader.quiz.models import Answer, Attempt, QuestionVersion


@dataclass(frozen=True)
class ScoreChange:
    attempt_id: int
    student: str
    before: int
    after: int
    total: int


@dataclass(frozen=True)
class Regrade:
    moved: int  # answers moved to the bank's version
    kept: tuple[str, ...]  # questions gone from the bank, or with other option keys there
    changes: tuple[ScoreChange, ...]


def _keys(question: Question) -> set[str]:
    return {option.key for option in question.options}


def regrade(session: Session, bank: Bank) -> Regrade:
    """Inside a transaction: regrade every answer given to a version other than the bank's."""
    served: dict[str, Question | None] = {}

    def version(name: str | None) -> Question | None:
        if name is None:
            return None
        if name not in served:
            row = session.get(QuestionVersion, name)
            served[name] = Question.from_json(row.content) if row else None
        return served[name]

    current = {q.id: q for q in reversed(bank.questions)}
    moved, kept, touched = 0, set(), set()
    for answer in session.scalars(select(Answer).where(Answer.chosen.is_not(None))):
        now = current.get(answer.question_id)
        if now is None:
            kept.add(answer.question_id)
            continue
        if answer.version == now.version:
            continue
        was = version(answer.version)
        if (
            (was is not None and _keys(was) != _keys(now))
            or answer.chosen not in _keys(now)
            or not now.fits(answer.params)
        ):
            kept.add(answer.question_id)
            continue
        answer.version = now.version
        answer.correct = now.option(str(answer.chosen)).correct
        moved += 1
        touched.add(answer.attempt_id)
    session.flush()
    changes = []
    for attempt_id in sorted(touched):
        attempt = session.get_one(Attempt, attempt_id)
        if attempt.finished_at is None or attempt.score is None:
            continue
        score = sum(bool(a.correct) for a in attempt.answers)
        if score != attempt.score:
            change = ScoreChange(
                attempt_id, attempt.student.name, attempt.score, score, attempt.total
            )
            changes.append(change)
            attempt.score = score
    return Regrade(moved, tuple(sorted(kept)), tuple(changes))
