"""Worker processes that take one job at a time, each job under a hard wall-clock limit.

A worker still busy when its job's limit passes, or one that dies, is killed with every process
it started; `lost` settles its job (zero marks and the reason) and a fresh worker takes its
place. Leaving the pool, by a normal end or by Ctrl-C, kills whatever is still running.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

from grader.engine.family import kill_family

Job = TypeVar("Job")
Result = TypeVar("Result")
READY = "ready"  # a worker's first message: ("ready", its scratch folder or "")
STOP_WAIT = 5.0  # seconds a worker told to stop may take before it is killed


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    job: Any = None
    ends: float = math.inf
    scratch: str = ""


class WorkerPool(Generic[Job, Result]):
    """`size` workers running `main(conn, parent_pid, *args)`: recv a job, send its result."""

    def __init__(self, context: ForkContext | SpawnContext, size: int, main: Callable[..., None],
                 args: tuple[Any, ...], limit: float) -> None:
        self.context, self.size, self.main, self.args, self.limit = context, size, main, args, limit
        self.workers: list[_Worker] = []

    def run(self, jobs: Iterable[Job], done: Callable[[Job, Result], None],
            lost: Callable[[Job, bool, str], None]) -> None:
        """Give out every job; `done` or `lost` is called once for each."""
        queue = deque(jobs)
        try:
            while queue or any(w.job is not None for w in self.workers):
                for worker in [w for w in self.workers if w.job is None and not w.process.is_alive()]:
                    self._kill(worker)
                while queue and len(self.workers) < self.size:
                    self._give(self._start(), queue.popleft())
                for worker in [w for w in self.workers if w.job is None]:
                    if queue:
                        self._give(worker, queue.popleft())
                self._step(done, lost)
            self._stop_all()
        finally:
            for worker in list(self.workers):
                self._kill(worker)

    def _step(self, done: Callable[[Job, Result], None],
              lost: Callable[[Job, bool, str], None]) -> None:
        busy = [w for w in self.workers if w.job is not None]
        if not busy:
            return
        soonest = min(w.ends for w in busy)
        ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                     timeout=max(0.0, soonest - time.monotonic()))
        for worker in busy:
            if worker.conn in ready:
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    message = None
                if isinstance(message, tuple) and message and message[0] == READY:
                    worker.scratch = message[1]
                    continue
                if message is not None:
                    job, worker.job, worker.ends = worker.job, None, math.inf
                    done(job, message)
                    continue
            if worker.process.sentinel in ready or worker.conn in ready:
                job = worker.job
                self._kill(worker)
                lost(job, False, f"its grading process stopped (exit code {worker.process.exitcode})")
            elif time.monotonic() >= worker.ends:
                job = worker.job
                self._kill(worker)
                lost(job, True, f"still running after the hard limit of {self.limit:g} s")

    def _start(self) -> _Worker:
        ours, theirs = self.context.Pipe()
        process = self.context.Process(target=self.main, args=(theirs, os.getpid(), *self.args),
                                       daemon=True)
        process.start()
        theirs.close()
        worker = _Worker(process=process, conn=ours)
        self.workers.append(worker)
        return worker

    def _give(self, worker: _Worker, job: Job) -> None:
        worker.job, worker.ends = job, time.monotonic() + self.limit
        try:
            worker.conn.send(job)
        except OSError:  # it has just died: the next step settles the job as lost
            pass

    def _stop_all(self) -> None:
        """No more jobs: ask each worker to end, so it cleans up; `run` kills any that do not."""
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        ends = time.monotonic() + STOP_WAIT
        for worker in self.workers:
            worker.process.join(max(0.0, ends - time.monotonic()))

    def _kill(self, worker: _Worker) -> None:
        if worker.process.exitcode is None and worker.process.pid is not None:
            kill_family(worker.process.pid)
            worker.process.join()
        worker.conn.close()
        if worker.scratch:
            shutil.rmtree(worker.scratch, ignore_errors=True)
        self.workers.remove(worker)


__all__ = ["READY", "WorkerPool"]
