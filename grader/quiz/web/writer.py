"""Answers are written by one thread in group commits: every submission waiting when a
transaction starts goes into it, and each request is answered once that commit returns.

One commit (and one fsync) per batch instead of per answer, and one thread instead of a
pool of them fighting over the GIL and the SQLite write lock. An answer is acknowledged
only after the transaction holding it has committed, so kill -9 loses nothing that got a
response. A refusal (HTTPException from `decide`) affects its own submission only.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from grader.quiz.store import QuizStore, Slot

MAX_BATCH = 128


@dataclass
class _Job:
    attempt_id: int
    position: int
    decide: Callable[[Slot | None], tuple[str, bool]]
    future: asyncio.Future[bool]
    loop: asyncio.AbstractEventLoop


class AnswerWriter:
    def __init__(self, store: QuizStore) -> None:
        self.store = store
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def submit(
        self, attempt_id: int, position: int, decide: Callable[[Slot | None], tuple[str, bool]]
    ) -> bool:
        """Store an answer as `QuizStore.answer_in` does; returns once it is committed."""
        self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._jobs.put(_Job(attempt_id, position, decide, future, loop))
        return await future

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="answer-writer", daemon=True)
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
        results: list[bool | BaseException] = []
        try:
            with self.store.write_transaction() as conn:
                for job in batch:
                    try:
                        results.append(
                            self.store.answer_in(conn, job.attempt_id, job.position, job.decide)
                        )
                    except SQLAlchemyError:
                        raise  # the transaction is broken: the whole batch fails, unacknowledged
                    except Exception as exc:  # noqa: BLE001 - a refusal of this one submission
                        results.append(exc)
        except Exception as exc:  # noqa: BLE001 - delivered to every waiting request
            results = [exc] * len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, bool | BaseException]]] = {}
        for job, result in zip(batch, results):
            by_loop.setdefault(job.loop, []).append((job, result))
        for loop, done in by_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver, done)
            except RuntimeError:  # that event loop has closed: nobody is waiting
                pass


def _deliver(done: list[tuple[_Job, bool | BaseException]]) -> None:
    for job, result in done:
        if job.future.done():
            continue
        if isinstance(result, BaseException):
            job.future.set_exception(result)
        else:
            job.future.set_result(result)
