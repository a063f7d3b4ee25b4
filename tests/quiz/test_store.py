"""The attempt store, on a SQLite file and on PostgreSQL (the database_url fixture)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from grader.progress import load_progress, record_result
from grader.quiz.policy import QuizPolicy
from grader.quiz.store import (
    DEFAULT_DB_FILE,
    QuizStore,
    default_database_url,
    normalize_url,
)
from grader.workspace import state_db

QUESTIONS = [("q-one", "abcd"), ("q-two", "dcba"), ("q-three", "badc")]


def _attempt(store: QuizStore, name: str = "Ada") -> int:
    student = store.add_student(name)
    return store.start_attempt(student_id=student, questions=QUESTIONS, topic="persistence")


def test_attempt_keeps_questions_and_option_orders(store: QuizStore) -> None:
    attempt = store.attempt(_attempt(store))
    assert attempt is not None
    assert [(a.question_id, a.option_order) for a in attempt.answers] == QUESTIONS
    assert attempt.student.name == "Ada"
    assert (attempt.total, attempt.topic, attempt.level) == (3, "persistence", None)
    assert not attempt.finished and attempt.next_position == 1


def test_answers_in_order_finish_the_attempt_with_its_score(store: QuizStore) -> None:
    attempt_id = _attempt(store)
    assert store.record_answer(attempt_id=attempt_id, position=1, chosen="a", correct=True)
    assert store.record_answer(attempt_id=attempt_id, position=2, chosen="c", correct=False)
    middle = store.attempt(attempt_id)
    assert middle is not None and not middle.finished and middle.next_position == 3
    assert store.record_answer(attempt_id=attempt_id, position=3, chosen="b", correct=True)
    done = store.attempt(attempt_id)
    assert done is not None and done.finished and done.score == 2
    assert [a.chosen for a in done.answers] == ["a", "c", "b"]
    assert done.next_position is None


@pytest.mark.parametrize("position", [1, 3, 4, 0])
def test_replayed_out_of_order_and_unknown_positions_are_refused(
    store: QuizStore, position: int
) -> None:
    attempt_id = _attempt(store)
    assert store.record_answer(attempt_id=attempt_id, position=1, chosen="a", correct=True)
    before = store.attempt(attempt_id)
    refused = store.record_answer(
        attempt_id=attempt_id, position=position, chosen="d", correct=False
    )
    assert refused is False
    after = store.attempt(attempt_id)
    assert after is not None and before is not None
    assert [(a.chosen, a.answered_at) for a in after.answers] == [
        (a.chosen, a.answered_at) for a in before.answers
    ]


def test_no_answer_after_the_attempt_is_finished(store: QuizStore) -> None:
    attempt_id = _attempt(store)
    for position in (1, 2, 3):
        store.record_answer(attempt_id=attempt_id, position=position, chosen="a", correct=True)
    assert not store.record_answer(attempt_id=attempt_id, position=3, chosen="b", correct=False)
    done = store.attempt(attempt_id)
    assert done is not None and done.score == 3


def test_no_answer_after_the_attempt_is_submitted_unfinished(store: QuizStore) -> None:
    """Submitted with questions unanswered (its time ran out, or a merge): its answers, score
    and review stay as they were."""
    timed_out = _attempt(store, "Cy")
    store.record_answer(attempt_id=timed_out, position=1, chosen="a", correct=True)
    assert store.close_attempt(timed_out, at=1.0)
    served = [(qid, order, None, None) for qid, order in QUESTIONS]
    for name in ("Ada", "Ada two"):  # as a quiz starts them: one open attempt a quiz
        store.begin_attempt(
            name=name, questions=served, topic="persistence", level=None, policy=QuizPolicy()
        )
    merged_away = 3
    assert store.merge_students(3, 2).submitted == (merged_away,)  # both open at one quiz
    for attempt_id, position in [(timed_out, 2), (merged_away, 1)]:
        assert not store.record_answer(
            attempt_id=attempt_id, position=position, chosen="a", correct=True
        )
    after = [store.attempt(a) for a in (timed_out, merged_away)]
    assert [(a.score, [x.chosen for x in a.answers]) for a in after if a] == [
        (1, ["a", None, None]),
        (0, [None, None, None]),
    ]


def test_racing_submissions_store_exactly_one(store: QuizStore) -> None:
    attempt_id = _attempt(store)
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def submit(key: str) -> None:
        barrier.wait()
        results.append(
            store.record_answer(attempt_id=attempt_id, position=1, chosen=key, correct=False)
        )

    threads = [threading.Thread(target=submit, args=("abcdabcd"[i],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    attempt = store.attempt(attempt_id)
    assert attempt is not None and attempt.next_position == 2


def test_everything_is_there_after_reopening(database_url: str) -> None:
    first = QuizStore(database_url)
    attempt_id = _attempt(first)
    first.record_answer(attempt_id=attempt_id, position=1, chosen="b", correct=False)
    secret = first.secret_key()
    first.close()
    second = QuizStore(database_url)
    try:
        attempt = second.attempt(attempt_id)
        assert attempt is not None and attempt.answers[0].chosen == "b"
        assert second.secret_key() == secret and len(secret) >= 32
    finally:
        second.close()


def test_students_attempts_and_answer_rows(store: QuizStore) -> None:
    ada = _attempt(store, "Ada")
    bob = _attempt(store, "Bob")
    for position in (1, 2, 3):
        store.record_answer(attempt_id=ada, position=position, chosen="a", correct=position != 2)
    store.record_answer(attempt_id=bob, position=1, chosen="c", correct=False)
    rows = store.answer_rows()
    assert [
        (r.attempt_id, r.question_id, r.chosen, r.correct, r.attempt_finished, r.served)
        for r in rows
    ] == [
        (ada, "q-one", "a", True, True, 3),
        (ada, "q-two", "a", False, True, 3),
        (ada, "q-three", "a", True, True, 3),
        (bob, "q-one", "c", False, False, 3),  # two questions of three left unanswered
    ]
    attempts = store.all_attempts()
    assert [(a.student.name, a.score) for a in attempts] == [("Ada", 2), ("Bob", None)]
    assert [a.id for a in store.attempts_of(attempts[0].student_id)] == [ada]


def test_student_named_reuses_the_latest_student_of_that_name(store: QuizStore) -> None:
    first = store.student_named("Ada")
    assert store.student_named("Ada") == first
    assert store.student_named("Bob") != first


def test_empty_attempt_is_refused(store: QuizStore) -> None:
    with pytest.raises(ValueError, match="at least one question"):
        store.start_attempt(student_id=store.add_student("Ada"), questions=[])


def test_sqlite_file_uses_wal_and_synchronous_commits(tmp_path: Path) -> None:
    store = QuizStore(f"sqlite:///{tmp_path / 'quiz.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.close()


def test_quiz_tables_share_the_workspace_state_db(workspace: Path) -> None:
    record_result(workspace, 1, "pass", 4, 4)
    store = QuizStore(default_database_url(workspace))
    _attempt(store)
    store.close()
    record_result(workspace, 2, "fail", 1, 4)
    assert {n: r.status for n, r in load_progress(workspace).items()} == {1: "pass", 2: "fail"}
    with sqlite3.connect(state_db(workspace)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"step_results", "quiz_attempts", "quiz_answers", "quiz_students"} <= tables


def test_default_database_is_the_workspace_state_db_else_a_local_file(
    workspace: Path, tmp_path: Path
) -> None:
    inside = workspace / "01-notes-dict"
    assert default_database_url(inside) == f"sqlite:///{state_db(workspace)}"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert default_database_url(outside) == f"sqlite:///{outside / DEFAULT_DB_FILE}"


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_bare_postgres_urls_use_psycopg(url: str, normal: str) -> None:
    assert normalize_url(url) == normal


def test_slot_reads_owner_state_and_question_in_one_go(store: QuizStore) -> None:
    attempt_id = _attempt(store)
    store.record_answer(attempt_id=attempt_id, position=1, chosen="b", correct=False)
    first, second, beyond = (store.slot(attempt_id, n) for n in (1, 2, 9))
    assert first is not None and second is not None and beyond is not None
    assert (first.question_id, first.option_order, first.chosen) == ("q-one", "abcd", "b")
    assert (second.question_id, second.chosen, second.next_position) == ("q-two", None, 2)
    assert (beyond.question_id, beyond.total, beyond.finished) == (None, 3, False)
    assert store.slot(attempt_id + 1, 1) is None
