"""The write path of a quiz: starting an attempt and storing its answers, in statements compiled
once and run on the driver's cursor, with each attempt's sheet (owner, questions, choices so
far) kept in memory by the one thread that writes.

The database stays the judge. An answer is stored by a conditional UPDATE that checks it goes
to the attempt's next unanswered question, and whatever the kept sheet refuses, or the UPDATE
finds taken, is decided again on the sheet read inside the transaction. A sheet gone out of
date (another process answered) costs a query, never a wrong answer.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, null, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from grader.quiz.models import NAME_MAX, Answer, Attempt, Student
from grader.quiz.policy import Policies, QuizPolicy

SHEETS_KEPT = 4096
DEFAULT_POLICY = QuizPolicy()


class Prepared:
    """A statement compiled once per dialect and run on the DBAPI cursor of a connection, inside
    its transaction: a few µs, where `Connection.execute` spends about 50 on SQLite."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, str], tuple[str, tuple[str, ...] | None]] = {}

    def run(self, conn: Connection, params: Mapping[str, Any]) -> tuple[int, Sequence[Any]]:
        """(rowcount, rows returned)."""
        return self._run(conn, [params], many=False)

    def run_many(self, conn: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        self._run(conn, params, many=True)

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None."""
        _, rows = self.run(conn, params)
        return rows[0][0] if rows else None

    def _run(
        self, conn: Connection, params: Sequence[Mapping[str, Any]], many: bool
    ) -> tuple[int, Sequence[Any]]:
        sql, names = self._sql(conn)
        args: list[Any] = [p if names is None else tuple(p[name] for name in names) for p in params]
        dbapi_error = conn.dialect.loaded_dbapi.Error
        cursor = conn.connection.cursor()
        try:
            if many:
                cursor.executemany(sql, args)
            else:
                cursor.execute(sql, args[0])
            return cursor.rowcount, cursor.fetchall() if cursor.description else []
        except dbapi_error as exc:  # a database error, as `Connection.execute` would raise it
            raise DBAPIError.instance(sql, args, exc, dbapi_error) from exc
        finally:
            cursor.close()

    def _sql(self, conn: Connection) -> tuple[str, tuple[str, ...] | None]:
        key = (conn.dialect.name, conn.dialect.driver)
        found = self._compiled.get(key)
        if found is None:
            compiled = self.statement.compile(dialect=conn.dialect)
            assert isinstance(compiled, SQLCompiler)
            names = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = self._compiled[key] = (str(compiled), names)
        return found


_pending = aliased(Answer)
_open = aliased(Attempt)
_SHEET = Prepared(
    select(
        Attempt.student_id,
        Attempt.finished_at.is_not(None),
        Answer.question_id,
        Answer.option_order,
        Answer.chosen,
        Answer.version,
        Answer.params,
    )
    .join(Answer, Answer.attempt_id == Attempt.id)
    .where(Attempt.id == bindparam("the_attempt"))
    .order_by(Answer.position)
)
_ANSWER = Prepared(
    update(Answer)
    .where(
        Answer.attempt_id == bindparam("the_attempt"),
        Answer.position == bindparam("the_position"),
        Answer.chosen.is_(None),
        Answer.position
        == select(func.min(_pending.position))
        .where(_pending.attempt_id == bindparam("the_attempt"), _pending.chosen.is_(None))
        .scalar_subquery(),
        # Submitted by its time or a merge, maybe by another process: a kept sheet may not know.
        exists().where(_open.id == bindparam("the_attempt"), _open.finished_at.is_(None)),
    )
    .values(
        chosen=bindparam("new_chosen"),
        correct=bindparam("new_correct"),
        answered_at=bindparam("now"),
    )
)
_SUBMITTED = {  # an attempt finished at "now", scored on its right answers
    "finished_at": bindparam("now"),
    "score": select(func.count())
    .select_from(Answer)
    .where(Answer.attempt_id == bindparam("the_attempt"), Answer.correct.is_(True))
    .scalar_subquery(),
    "open_quiz": null(),
}
_FINISH = Prepared(
    update(Attempt)
    .where(
        Attempt.id == bindparam("the_attempt"),
        Attempt.finished_at.is_(None),
        Attempt.total == bindparam("the_position"),
    )
    .values(_SUBMITTED)
)
_CLOSE = Prepared(  # an attempt whose time is up, submitted with the answers it has
    update(Attempt)
    .where(Attempt.id == bindparam("the_attempt"), Attempt.finished_at.is_(None))
    .values(_SUBMITTED)
)
_TIMING = Prepared(
    select(Attempt.student_id, Attempt.topic, Attempt.started_at).where(
        Attempt.id == bindparam("the_attempt"), Attempt.finished_at.is_(None)
    )
)
_NAME = Prepared(
    select(Student.name, Student.merged_into).where(Student.id == bindparam("the_student"))
)
_MERGED_NAMES = Prepared(
    select(Student.name).where(Student.merged_into == bindparam("the_student"))
)
_RENAME = Prepared(
    update(Student).where(Student.id == bindparam("the_student")).values(name=bindparam("new_name"))
)
_OPEN = Prepared(
    select(Attempt.id, Attempt.started_at)
    .where(
        Attempt.student_id == bindparam("the_student"),
        Attempt.finished_at.is_(None),
        Attempt.topic.is_not_distinct_from(bindparam("the_topic")),
        Attempt.level.is_not_distinct_from(bindparam("the_level")),
    )
    .order_by(Attempt.id)
)
_TAKEN = Prepared(
    select(func.count())
    .select_from(Attempt)
    .where(
        Attempt.student_id == bindparam("the_student"),
        Attempt.topic.is_not_distinct_from(bindparam("the_topic")),
    )
)
_NEW_STUDENT = Prepared(
    insert(Student)
    .values(name=bindparam("new_name"), created_at=bindparam("now"))
    .returning(Student.id)
)
_NEW_ATTEMPT = Prepared(
    insert(Attempt)
    .values(
        student_id=bindparam("the_student"),
        topic=bindparam("new_topic"),
        level=bindparam("new_level"),
        total=bindparam("new_total"),
        started_at=bindparam("now"),
        open_quiz=bindparam("new_open_quiz"),
    )
    .returning(Attempt.id)
)
_NEW_QUESTION = Prepared(
    insert(Answer).values(
        attempt_id=bindparam("the_attempt"),
        position=bindparam("the_position"),
        question_id=bindparam("new_question"),
        option_order=bindparam("new_order"),
        version=bindparam("new_version"),
        params=bindparam("new_params"),
    )
)


@dataclass(frozen=True)
class Slot:
    """One question of an attempt as the answer route needs it."""

    attempt_id: int
    student_id: int
    total: int
    finished: bool
    next_position: int | None
    question_id: str | None  # None when the attempt has no such position
    option_order: str
    chosen: str | None
    version: str | None  # of the question as served; None for attempts made before versions
    params: str | None = None  # the variant's parameters as JSON; None for a plain question


# (question id, option order, question version, variant parameters as JSON)
Served = tuple[str, str, str | None, str | None]
# What callers may give: the id and order, then optionally the version and the parameters.
Given = tuple[str, str] | tuple[str, str, str | None] | Served


@dataclass
class Sheet:
    """An attempt's owner, its questions as served by position, and the choices so far."""

    student_id: int
    questions: tuple[Served, ...]
    chosen: list[str | None]
    finished: bool = False

    def slot(self, attempt_id: int, position: int) -> Slot:
        total = len(self.questions)
        next_position = next((n for n, c in enumerate(self.chosen, 1) if c is None), None)
        question_id, order, chosen, version, params = None, "", None, None, None
        if 1 <= position <= total:
            (question_id, order, version, params) = self.questions[position - 1]
            chosen = self.chosen[position - 1]
        return Slot(
            attempt_id, self.student_id, total, self.finished, next_position, question_id, order,
            chosen, version, params,
        )  # fmt: skip

    def record(self, position: int, chosen: str) -> None:
        self.chosen[position - 1] = chosen
        self.finished = self.finished or position == len(self.questions)


class Sheets:
    """The sheets of the unfinished attempts this process started or answered lately, for the
    thread that writes answers; past `size`, the oldest goes."""

    def __init__(self, size: int = SHEETS_KEPT) -> None:
        self.size = size
        self._by_attempt: dict[int, Sheet] = {}

    def get(self, attempt_id: int) -> Sheet | None:
        return self._by_attempt.get(attempt_id)

    def put(self, attempt_id: int, sheet: Sheet) -> None:
        self._by_attempt.pop(attempt_id, None)
        if sheet.finished:
            return
        self._by_attempt[attempt_id] = sheet
        if len(self._by_attempt) > self.size:
            del self._by_attempt[next(iter(self._by_attempt))]

    def clear(self) -> None:
        self._by_attempt.clear()


Decide = Callable[[Slot | None], tuple[str, bool]]


def read_sheet(conn: Connection, attempt_id: int) -> Sheet | None:
    _, rows = _SHEET.run(conn, {"the_attempt": attempt_id})
    if not rows:
        return None
    questions = tuple(
        (qid, order, version, params) for _, _, qid, order, _, version, params in rows
    )
    return Sheet(rows[0][0], questions, [row[4] for row in rows], bool(rows[0][1]))


def store_answer(
    conn: Connection, attempt_id: int, position: int, chosen: str, correct: bool, *, last: bool
) -> bool:
    """The conditional UPDATE; `last` (position may be the attempt's last question) also runs
    the one that finishes the attempt, whose WHERE checks the total itself."""
    values = {"the_attempt": attempt_id, "the_position": position, "now": time.time()}
    count, _ = _ANSWER.run(conn, {**values, "new_chosen": chosen, "new_correct": correct})
    if count != 1:
        return False
    if last:
        _FINISH.run(conn, values)
    return True


def answer_in(
    conn: Connection, attempt_id: int, position: int, decide: Decide, sheets: Sheets
) -> bool:
    """Inside a write transaction: let `decide` turn the question's slot into (bank key, correct)
    or raise to refuse (nothing is written then), and store the answer. False if the
    conditional UPDATE found the question taken after all."""
    kept = sheets.get(attempt_id)
    if kept is not None and _answer_on(kept, conn, attempt_id, position, decide, sheets):
        return True
    sheet = read_sheet(conn, attempt_id)
    slot = sheet.slot(attempt_id, position) if sheet else None
    chosen, correct = decide(slot)
    last = slot is None or slot.total == position
    stored = store_answer(conn, attempt_id, position, chosen, correct, last=last)
    if sheet is not None:
        if stored:
            sheet.record(position, chosen)
        sheets.put(attempt_id, sheet)
    return stored


def _answer_on(
    sheet: Sheet, conn: Connection, attempt_id: int, position: int, decide: Decide, sheets: Sheets
) -> bool:
    """The answer decided on the kept sheet and stored, or False to ask the database."""
    try:
        chosen, correct = decide(sheet.slot(attempt_id, position))
    except Exception:  # noqa: BLE001 - refused on what this process saw; the database decides
        return False
    last = position == len(sheet.questions)
    if not store_answer(conn, attempt_id, position, chosen, correct, last=last):
        return False
    sheet.record(position, chosen)
    sheets.put(attempt_id, sheet)
    return True


def insert_student(conn: Connection, name: str) -> int:
    return int(_NEW_STUDENT.scalar(conn, {"new_name": name[:NAME_MAX], "now": time.time()}))


def served(questions: Sequence[Given]) -> tuple[Served, ...]:
    """(question id, option order, version, parameters), None for what was not given."""
    return tuple(
        (q[0], q[1], q[2] if len(q) > 2 else None, q[3] if len(q) > 3 else None)  # type: ignore[misc]
        for q in questions
    )


def insert_attempt(
    conn: Connection,
    student_id: int,
    questions: Sequence[Given],
    topic: str | None,
    level: str | None,
    open_quiz: str | None = None,
) -> int:
    if not questions:
        raise ValueError("An attempt needs at least one question.")
    row = {"the_student": student_id, "new_topic": topic, "new_level": level}
    attempt_id = int(
        _NEW_ATTEMPT.scalar(
            conn,
            {**row, "new_total": len(questions), "now": time.time(), "new_open_quiz": open_quiz},
        )
    )
    _NEW_QUESTION.run_many(
        conn,
        [
            {
                "the_attempt": attempt_id,
                "the_position": n,
                "new_question": qid,
                "new_order": order,
                "new_version": version,
                "new_params": params,
            }
            for n, (qid, order, version, params) in enumerate(served(questions), start=1)
        ],
    )
    return attempt_id


class StartRefused(Exception):
    """The quiz cannot start for this student now: its message says why."""


class AttemptsUsed(StartRefused):
    """The student has used every attempt the instructor allows at this quiz."""

    def __init__(self, allowed: int) -> None:
        super().__init__(f"You have used all {allowed} attempts allowed at this quiz.")
        self.allowed = allowed


def display_name(raw: str) -> str:
    """A display name as both quizzes keep it: spacing collapsed, composed (NFC, so an accent
    typed as a combining mark is stored as the one character); ValueError if unusable."""
    name = unicodedata.normalize("NFC", " ".join(raw.split()))
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise ValueError(f"Give a display name of 1 to {NAME_MAX} characters.")
    return name


def name_key(name: str) -> str:
    """What two names of one student share: case, spacing, width and how an accent was typed
    aside (Unicode's compatibility form, case-folded, as identifiers are compared)."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return " ".join(unicodedata.normalize("NFKC", folded).split())


def same_name(one: str, other: str) -> bool:
    """Whether two display names name the same student (see `name_key`)."""
    return name_key(one) == name_key(other)


def quiz_key(topic: str | None, level: str | None) -> str:
    """Which quiz an attempt is at, as the one-open-attempt index holds it."""
    return f"{topic or ''}|{level or ''}"


class TimeUp(Exception):
    """The attempt stopped taking answers at `deadline` (its time limit, or the close date)."""

    def __init__(self, deadline: float) -> None:
        super().__init__(deadline)
        self.deadline = deadline


class Deadlines:
    """The owner and deadline of the attempts the writer thread checked lately. An attempt's
    start and quiz never change, so neither does its deadline under the server's settings;
    only its owner can (an instructor's merge), so an owner that does not match is read again.
    """

    def __init__(self, policies: Policies, size: int = SHEETS_KEPT) -> None:
        self.policies = policies
        self.size = size
        self._by_attempt: dict[int, tuple[int, float | None]] = {}

    def check(self, conn: Connection, attempt_id: int, student: object) -> None:
        """TimeUp if the open attempt is `student`'s and its time is up; anything else (not
        theirs, finished, no such attempt) is for the answer's own checks to refuse."""
        found = self._by_attempt.get(attempt_id)
        if found is None or found[0] != student:
            _, rows = _TIMING.run(conn, {"the_attempt": attempt_id})
            if not rows:
                return
            owner, topic, started_at = rows[0]
            found = (owner, self.policies.of(topic).deadline(started_at))
            self._by_attempt[attempt_id] = found
            if len(self._by_attempt) > self.size:
                del self._by_attempt[next(iter(self._by_attempt))]
        owner, deadline = found
        if owner == student and deadline is not None and time.time() >= deadline:
            raise TimeUp(deadline)


def close_attempt_in(conn: Connection, attempt_id: int, at: float) -> bool:
    """Submit an open attempt whose time ended at `at`, scored on the answers it has."""
    count, _ = _CLOSE.run(conn, {"the_attempt": attempt_id, "now": at})
    return count == 1


@dataclass(frozen=True)
class Started:
    student_id: int
    attempt_id: int
    resumed: bool  # the student's open attempt at this quiz, not a new one


def _student_for(conn: Connection, student_id: int | None, name: str) -> tuple[int, bool]:
    """(the student `name` starts as, whether known before): `student_id` (or the student an
    instructor merged it into) if that one has this name, case and spacing aside (the latest
    spelling is kept), or had it before a merge; else a new student."""
    rows = [] if student_id is None else _NAME.run(conn, {"the_student": student_id})[1]
    if rows and rows[0][1] is not None:  # merged by an instructor
        student_id = int(rows[0][1])
        rows = _NAME.run(conn, {"the_student": student_id})[1]
    if not rows:
        return insert_student(conn, name), False
    assert student_id is not None
    known = rows[0][0]
    if not same_name(known, name):
        _, merged = _MERGED_NAMES.run(conn, {"the_student": student_id})
        if any(same_name(old, name) for (old,) in merged):
            return student_id, True
        return insert_student(conn, name), False
    if known != name[:NAME_MAX]:
        _RENAME.run(conn, {"the_student": student_id, "new_name": name[:NAME_MAX]})
    return student_id, True


def start_attempt_in(
    conn: Connection,
    *,
    student_id: int | None,
    name: str,
    questions: Sequence[Served],
    topic: str | None = None,
    level: str | None = None,
    policy: QuizPolicy = DEFAULT_POLICY,
    sheets: Sheets | None = None,
) -> Started:
    """Inside a write transaction: the attempt `name` goes on with (see `_student_for`).

    Open attempts at this quiz whose time is up are submitted first. Then, unless the quiz
    allows several open attempts, the one still open is resumed; else a new attempt over
    `questions` starts, or StartRefused says why not (the quiz is not open, or AttemptsUsed).
    Two starts racing from two servers meet at the one-open-attempt index: the loser finds
    the winner's attempt and resumes it."""
    now = time.time()
    student_id, known = _student_for(conn, student_id, name)
    quiz = {"the_student": student_id, "the_topic": topic}
    if known:
        _, open_rows = _OPEN.run(conn, {**quiz, "the_level": level})
        still_open = []
        for open_id, started_at in open_rows:
            deadline = policy.deadline(started_at)
            if deadline is not None and now >= deadline:
                close_attempt_in(conn, int(open_id), deadline)
            else:
                still_open.append(int(open_id))
        if still_open and not policy.multiple_open:
            return Started(student_id, still_open[0], resumed=True)
    closed = policy.not_open(now)
    if closed:
        raise StartRefused(f"This quiz {closed}.")
    if known and policy.attempts and _TAKEN.scalar(conn, quiz) >= policy.attempts:
        raise AttemptsUsed(policy.attempts)
    open_quiz = None if policy.multiple_open else quiz_key(topic, level)
    conn.exec_driver_sql("SAVEPOINT start_attempt")
    try:
        attempt_id = insert_attempt(conn, student_id, questions, topic, level, open_quiz)
    except IntegrityError:  # another server started this student's attempt just now
        conn.exec_driver_sql("ROLLBACK TO SAVEPOINT start_attempt")
        open_id = _OPEN.scalar(conn, {**quiz, "the_level": level})
        if open_id is None:
            raise
        return Started(student_id, int(open_id), resumed=True)
    conn.exec_driver_sql("RELEASE SAVEPOINT start_attempt")
    if sheets is not None:
        sheets.put(
            attempt_id,
            Sheet(student_id, served(questions), [None] * len(questions)),
        )
    return Started(student_id, attempt_id, resumed=False)
