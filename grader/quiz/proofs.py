"""Runnable proofs: a question's program is run, and what it prints must be its key's outcome.

The proofs run in child processes (the imports are paid once per child, not once per proof),
each in its own temporary directory, namespace and time limit. A proof that needs a service
which is not there (PostgreSQL, pg_dump) is a skip with its reason, never a pass.

`python -m grader.quiz.proofs JOBS RESULTS` is the child: it reads the jobs (JSON) and writes
what each program printed, or how it failed, to RESULTS.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.quiz.bank import Question
from grader.quiz.variants import dumps, sample

PG_URL_ENV = "PERSISTLAB_TEST_POSTGRES"  # the same server the quiz store tests use
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PROOF_SECONDS = 30  # one proof's limit; the slowest (four starts of step 2) takes 7 s under load
CHILDREN = 2  # proofs mostly wait (on a server, on a lock), so two children overlap well
PASS, FAIL, SKIP = "pass", "fail", "skip"
VARIANTS_PROVEN = 3  # a variant question's proof runs on this many of its variants


@dataclass(frozen=True)
class ProofResult:
    question_id: str
    status: str  # PASS, FAIL or SKIP
    detail: str  # why it failed or was skipped; empty for a pass
    printed: str = ""
    seconds: float = 0.0


def pg_url() -> str:
    """Where proofs find PostgreSQL: $PERSISTLAB_TEST_POSTGRES, else the local test database."""
    return os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)


def judge(question: Question, printed: str) -> ProofResult:
    """A proof's output against the question's key."""
    proof = question.proof
    assert proof is not None
    key = question.answer.key
    expected = proof.outcome(key)
    shown = _one_line(printed)
    if printed.strip() == expected:
        return ProofResult(question.id, PASS, "", printed)
    matched = [k for k, outcome in proof.outcomes if outcome == printed.strip()]
    if matched:
        why = f"printed {shown}, the outcome of option {matched[0]}, but the key is {key}"
    else:
        why = f"printed {shown}, which is no option's outcome (the key {key} expects {expected!r})"
    return ProofResult(question.id, FAIL, why, printed)


def _one_line(text: str, limit: int = 160) -> str:
    flat = " | ".join(line for line in text.strip().splitlines() if line.strip()) or "nothing"
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def proof_cases(questions: Iterable[Question], variants: int = VARIANTS_PROVEN) -> list[Question]:
    """The questions whose proofs to run: a variant question as a sample of its variants (the
    same sample for the same version), each rendered, its id followed by its parameters."""
    cases = []
    for question in questions:
        if question.proof is None:
            continue
        if not question.is_variant:
            cases.append(question)
            continue
        for values in sample(question.params, question.where, variants, question.version):
            rendered = question.render(values)
            cases.append(replace(rendered, id=f"{question.id} {dumps(values)}"))
    return cases


def run_proofs(
    questions: Iterable[Question],
    children: int = CHILDREN,
    seconds: float = PROOF_SECONDS,
    variants: int = VARIANTS_PROVEN,
) -> list[ProofResult]:
    """Every proof of these questions run and judged, in the questions' order; a variant
    question's on a sample of `variants` of its variants (proof_cases). A program that several
    questions share runs once and is judged for each."""
    proven = proof_cases(questions, variants)
    first: dict[tuple[str, tuple[str, ...]], int] = {}
    programs: list[Question] = []  # the first question of each distinct program
    for question in proven:
        if _program(question) not in first:
            first[_program(question)] = len(programs)
            programs.append(question)
    if not programs:
        return []
    groups: list[list[tuple[int, Question]]] = [[] for _ in range(children)]
    load = [0] * children
    heaviest_first = sorted(enumerate(programs), key=lambda nq: -_weight(nq[1]))
    for n, question in heaviest_first:  # the servers spread over the children, then the rest
        lightest = load.index(min(load))
        groups[lightest].append((n, question))
        load[lightest] += _weight(question)
    groups = [group for group in groups if group]
    with tempfile.TemporaryDirectory(prefix="persistlab-proofs-") as scratch:
        running = [
            _start(group, Path(scratch) / f"child{n}", seconds) for n, group in enumerate(groups)
        ]
        rows: dict[int, dict[str, Any]] = {}
        for group, (process, results_path) in zip(groups, running):
            rows.update(_collect(group, process, results_path, seconds))
    return [_verdict(q, rows[first[_program(q)]]) for q in proven]


def _program(question: Question) -> tuple[str, tuple[str, ...]]:
    assert question.proof is not None
    return question.proof.code, question.proof.needs


def _verdict(question: Question, row: dict[str, Any]) -> ProofResult:
    if row["status"] == "ran":
        return replace(judge(question, row["printed"]), seconds=row["seconds"])
    return ProofResult(
        question.id, row["status"], row["detail"], row.get("printed", ""), row["seconds"]
    )


def _weight(question: Question) -> int:
    """A rough cost: a proof that starts servers or processes takes seconds, others less."""
    code = question.proof.code if question.proof else ""
    return 10 * code.count("serve(") + 3 * code.count("subprocess.") + 1


def _start(
    group: list[tuple[int, Question]], folder: Path, seconds: float
) -> tuple[subprocess.Popen[bytes], Path]:
    folder.mkdir()
    jobs = [
        {"n": n, "id": q.id, "code": q.proof.code, "source": q.proof.source,
         "needs": list(q.proof.needs)}
        for n, q in group
        if q.proof is not None
    ]  # fmt: skip
    (folder / "jobs.json").write_text(json.dumps({"seconds": seconds, "jobs": jobs}))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader.quiz.proofs",
            str(folder / "jobs.json"),
            str(folder / "results.json"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # servers a proof starts inherit these: nothing is read back
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return process, folder / "results.json"


def _collect(
    group: list[tuple[int, Question]],
    process: subprocess.Popen[bytes],
    results_path: Path,
    seconds: float,
) -> dict[int, dict[str, Any]]:
    """What the child reported for each of its programs; fail closed on one it never did."""
    try:
        process.wait(timeout=seconds * len(group) + 30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    try:
        ran = {r["n"]: r for r in json.loads(results_path.read_text())}
    except (OSError, ValueError):
        ran = {}
    stopped = f"the proof runner stopped (exit {process.returncode}) before this proof ended"
    return {n: ran.get(n, {"status": FAIL, "detail": stopped, "seconds": 0.0}) for n, _ in group}


def proof_problems(results: Iterable[ProofResult]) -> list[str]:
    return [f"question {r.question_id!r}: proof {r.detail}" for r in results if r.status == FAIL]


def proof_skips(results: Iterable[ProofResult]) -> list[str]:
    return [
        f"question {r.question_id!r}: proof skipped, {r.detail}"
        for r in results
        if r.status == SKIP
    ]


# The child: runs the jobs one after another, in this process.


class _ProofTimeout(BaseException):
    """Not an Exception, so a proof's own `except Exception` cannot swallow its time limit."""


def _on_alarm(signum: int, frame: types.FrameType | None) -> None:
    raise _ProofTimeout


def _missing_service(need: str, cache: dict[str, str | None]) -> str | None:
    if need not in cache:
        cache[need] = None
        if need == "postgres":
            try:
                import psycopg

                psycopg.connect(pg_url(), connect_timeout=3).close()
            except Exception as exc:  # noqa: BLE001 - any failure means no server to prove on
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                cache[need] = f"no PostgreSQL at {pg_url()} ({first})"
        elif need == "pg_dump" and shutil.which("pg_dump") is None:
            cache[need] = "no pg_dump on PATH (PostgreSQL's client tools)"
    return cache[need]


def _run_one(
    job: dict[str, Any], seconds: float, services: dict[str, str | None]
) -> dict[str, Any]:
    started = time.monotonic()
    for need in job["needs"]:
        missing = _missing_service(need, services)
        if missing:
            return {"n": job["n"], "status": SKIP, "detail": missing, "seconds": 0.0}
    home, main_module = os.getcwd(), sys.modules["__main__"]
    folder = tempfile.mkdtemp(prefix="proof-")
    filename = f"<proof {job['id']} ({job['source']})>"
    before = set(sys.modules)
    out = io.StringIO()
    status, detail = "ran", ""
    try:
        os.chdir(folder)
        code = compile(job["code"], filename, "exec")
        module = types.ModuleType("__main__")  # its own __main__, as if run as a script
        module.__file__ = os.path.join(folder, "proof.py")
        sys.modules["__main__"] = module
        signal.alarm(max(1, int(seconds)))
        with contextlib.redirect_stdout(out):
            exec(code, module.__dict__)  # noqa: S102 - the bank author's program, not a student's
    except _ProofTimeout:
        status, detail = FAIL, f"ran longer than {seconds:g} s"
    except BaseException as exc:  # noqa: BLE001 - a proof's crash is its failure, reported
        lines = [
            f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename
        ]
        status = FAIL
        where = f" (proof line {lines[-1]})" if lines else ""
        detail = f"raised {type(exc).__name__}: {exc}{where}"
    finally:
        signal.alarm(0)
        sys.modules["__main__"] = main_module
        os.chdir(home)
        for name in set(sys.modules) - before:  # modules a proof wrote and imported are its own
            if str(getattr(sys.modules[name], "__file__", "") or "").startswith(folder):
                del sys.modules[name]
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "n": job["n"],
        "status": status,
        "detail": detail,
        "printed": out.getvalue(),
        "seconds": round(time.monotonic() - started, 3),
    }


def main(argv: list[str]) -> int:
    jobs_path, results_path = Path(argv[0]), Path(argv[1])
    spec = json.loads(jobs_path.read_text())
    signal.signal(signal.SIGALRM, _on_alarm)
    services: dict[str, str | None] = {}
    results = []
    for job in spec["jobs"]:
        results.append(_run_one(job, spec["seconds"], services))
        results_path.write_text(json.dumps(results))  # after each, so a crash keeps the rest
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
