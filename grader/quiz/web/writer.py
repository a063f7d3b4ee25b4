"""The web app's writes go through one thread in group commits: every write waiting when a
transaction starts goes into it, and each request is answered once that commit returns.

One commit (and one fsync) per batch instead of per request, and one thread instead of a
pool of them fighting over the GIL and the SQLite write lock. A write is acknowledged only
after the transaction holding it has committed, so kill -9 loses nothing that got a
response. A refusal (an exception that is not a database error) affects its own write only,
so a write must refuse before it changes anything: the rest of its batch is committed. A
database error in one write rolls the batch back, and the batch runs again with a savepoint
around each write, so that only the write that failed fails (no savepoint costs anything
while nothing fails).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from grader.quiz.answers import Decide, Served, Sheets, Started, answer_in, start_attempt_in
from grader.quiz.policy import QuizPolicy
from grader.quiz.store import QuizStore

MAX_BATCH = 128
T = TypeVar("T")


@dataclass
class _Job:
    work: Callable[[Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class GroupWriter:
    def __init__(self, store: QuizStore) -> None:
        self.store = store
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._sheets = Sheets()  # the writer thread's own: no lock

    async def write(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` inside a write transaction; returns its result once it is committed."""
        self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put(_Job(work, future, loop))
        return await future

    async def answer(
        self,
        attempt_id: int,
        position: int,
        decide: Decide,
        first: Callable[[Connection], None] | None = None,
    ) -> bool:
        """Store an answer as `answers.answer_in` does, after `first(conn)` (a check that
        may refuse); returns once it is committed."""
        store = partial(
            answer_in, attempt_id=attempt_id, position=position, decide=decide, sheets=self._sheets
        )
        if first is None:
            return await self.write(store)

        def checked(conn: Connection) -> bool:
            first(conn)
            return store(conn)

        return await self.write(checked)

    async def start_attempt(
        self,
        *,
        student_id: int | None,
        name: str,
        questions: Sequence[Served],
        topic: str | None,
        level: str | None,
        policy: QuizPolicy,
    ) -> Started:
        """The attempt `answers.start_attempt_in` gives, committed."""
        start = partial(
            start_attempt_in, student_id=student_id, name=name, questions=questions, topic=topic,
            level=level, policy=policy, sheets=self._sheets,
        )  # fmt: skip
        return await self.write(start)

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="group-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while (first := self._jobs.get()) is not None:
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH and not self._jobs.empty():
                job = self._jobs.get()
                if job is None:
                    stop = True
                    break
                batch.append(job)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[_Job]) -> None:
        try:
            outcomes = self._commit(batch, savepoints=False)
        except Exception as exc:  # noqa: BLE001 - one write broke the shared transaction
            self._sheets.clear()  # they may hold what was rolled back
            outcomes = [(exc, True)] * len(batch)
            if len(batch) > 1:
                try:  # again, each write in a savepoint of its own: only the broken one fails
                    outcomes = self._commit(batch, savepoints=True)
                except Exception as again:  # noqa: BLE001 - delivered to every waiting request
                    self._sheets.clear()
                    outcomes = [(again, True)] * len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, object, bool]]] = {}
        for job, (result, refused) in zip(batch, outcomes):
            by_loop.setdefault(job.loop, []).append((job, result, refused))
        for loop, done in by_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver, done)
            except RuntimeError:  # that event loop has closed: nobody is waiting
                pass

    def _commit(self, batch: list[_Job], *, savepoints: bool) -> list[tuple[object, bool]]:
        """Run the batch in one transaction: (result or refusal, refused) per job. Without
        savepoints a database error breaks the transaction and is raised; with them, it rolls
        back that job's savepoint and is that job's refusal alone."""
        outcomes: list[tuple[object, bool]] = []
        with self.store.write_transaction() as conn:
            for job in batch:
                if savepoints:
                    conn.exec_driver_sql("SAVEPOINT job")
                try:
                    outcomes.append((job.work(conn), False))
                except Exception as exc:  # a refusal of this one write, or a database error
                    if savepoints:
                        conn.exec_driver_sql("ROLLBACK TO SAVEPOINT job")
                    elif isinstance(exc, SQLAlchemyError):
                        raise  # the transaction is broken: the batch is tried again
                    outcomes.append((exc, True))
                if savepoints:
                    conn.exec_driver_sql("RELEASE SAVEPOINT job")
        return outcomes


def _deliver(done: list[tuple[_Job, object, bool]]) -> None:
    for job, result, refused in done:
        if job.future.done():
            continue
        if refused:
            assert isinstance(result, BaseException)
            job.future.set_exception(result)
        else:
            job.future.set_result(result)
