"""How many small mistakes in each reference solution the checks catch (mutation analysis).

Run by hand, one step at a time, at low priority on a shared machine:

    nice -n 19 .venv/bin/python benchmarks/mutants.py 7 [--list] [--only TEXT] [--trust-caught]

Every mutant is one small change to one file of solutions/NN-*/ (a statement deleted, a commit
removed, a status code changed, a comparison flipped, an SQL clause dropped, a constant changed),
graded with the real checker (grader.check.run_checks) in a scratch copy of the step folder. A
survivor that changes nothing the step's README asks for is listed in benchmarks/equivalent_mutants.py
with its reason; the figure is the share of all other mutants that the checks catch.
Verdicts are cached per mutant in benchmarks/.mutants/ under the hash of the mutated source and of
the checks' code, so a rerun grades only what changed (--trust-caught keeps a mutant caught by an
earlier version of the checks without grading it again).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from equivalent_mutants import EQUIVALENT
from mutations import Mutant, mutants_of

from grader.check import run_checks
from grader.course import Course, Step, load_course
from grader.engine.limits import Limits
from grader.results import GRADER_FAULTS, PASSED, SKIPPED, TIMEOUT, StepReport

CACHE = Path(__file__).resolve().parent / ".mutants"
GRADER = Path(__file__).resolve().parent.parent / "grader"
CAUGHT, SURVIVED, UNSETTLED = "caught", "survived", "unsettled"


def checks_fingerprint(step: Step) -> str:
    """The grader's code but the check modules of later steps (a step's checks may replay an
    earlier step's): a change to it grades the step's mutants again."""
    digest = hashlib.sha256()
    for path in sorted(GRADER.rglob("*.py")):
        later = re.fullmatch(r"step(\d\d)_.*", path.stem) and int(path.stem[4:6]) > step.number
        if "quiz" not in path.parts and not later:
            digest.update(path.relative_to(GRADER).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def verdict_of(report: StepReport) -> tuple[str, str]:
    """Caught when a check failed because of the app; unsettled when the grader could not judge."""
    failed = [t for t in report.tests if t.outcome not in (PASSED, SKIPPED, *GRADER_FAULTS)]
    if failed:
        return CAUGHT, failed[0].name
    if report.outcome in GRADER_FAULTS or any(t.outcome != PASSED for t in report.tests) or not report.tests:
        return UNSETTLED, report.message or next((t.message for t in report.tests if t.outcome != PASSED), "")
    return SURVIVED, ""


def unparsed_files(step: Step) -> list[Mutant]:
    return [Mutant(p.name, f"{p.name} unchanged", ast.unparse(ast.parse(p.read_text(encoding="utf-8"))))
            for p in sorted(step.solution_dir.glob("*.py"))]


def grade(step: Step, mutant: Mutant) -> tuple[str, str]:
    """The verdict; a mutant caught by time limits alone is graded once more, since a busy machine
    can hold an answer past its limit: caught only if it fails again."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        folder = Path(tmp) / step.solution_dir.name
        shutil.copytree(step.solution_dir, folder, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
        (folder / mutant.file).write_text(mutant.source, encoding="utf-8")
        report = run_checks(step, folder, Limits())
        if verdict_of(report)[0] == CAUGHT and timed_out_only(report):
            report = run_checks(step, folder, Limits())
        return verdict_of(report)


def timed_out_only(report: StepReport) -> bool:
    return all(t.outcome in (PASSED, SKIPPED, TIMEOUT) for t in report.tests)


class Cache:
    def __init__(self, step: int) -> None:
        self.path = CACHE / f"step{step:02d}.json"
        self.entries: dict[str, dict[str, list[str]]] = (
            json.loads(self.path.read_text()) if self.path.exists() else {})

    def get(self, key: str, fingerprint: str, trust_caught: bool) -> tuple[str, str] | None:
        by_version = self.entries.get(key, {})
        if fingerprint in by_version:
            return tuple(by_version[fingerprint])  # type: ignore[return-value]
        if trust_caught:
            return next((tuple(v) for v in by_version.values() if v[0] == CAUGHT), None)  # type: ignore[misc]
        return None

    def put(self, key: str, fingerprint: str, verdict: tuple[str, str]) -> None:
        self.entries.setdefault(key, {})[fingerprint] = list(verdict)
        CACHE.mkdir(exist_ok=True)
        self.path.write_text(json.dumps(self.entries, indent=0, sort_keys=True))


def run_step(
    course: Course, number: int, only: str, trust_caught: bool, verbose: bool, every: int = 1,
    start: int = 0,
) -> dict[str, int]:
    step = course.step(number)
    mutants = [m for m in mutants_of(step.solution_dir) if only in m.name][start::every]
    fingerprint = checks_fingerprint(step)
    cache = Cache(number)
    equivalent = EQUIVALENT.get(number, {})
    counts = {CAUGHT: 0, SURVIVED: 0, UNSETTLED: 0, "equivalent": 0}
    started = time.monotonic()
    for baseline in unparsed_files(step):  # the harness rewrites a file as ast.unparse prints it
        verdict = grade(step, baseline)
        if verdict[0] != SURVIVED:
            sys.exit(f"step {number}: the reference with {baseline.file} as ast.unparse prints it "
                     f"does not pass ({verdict[1]}); no mutant can be judged")
    for index, mutant in enumerate(mutants, 1):
        key = hashlib.sha256(f"{mutant.file}\0{mutant.source}".encode()).hexdigest()[:20]
        verdict = cache.get(key, fingerprint, trust_caught)
        fresh = verdict is None
        if verdict is None:
            verdict = grade(step, mutant)
            if verdict[0] != UNSETTLED:
                cache.put(key, fingerprint, verdict)
        kind, why = verdict
        if kind == SURVIVED and mutant.name in equivalent:
            kind = "equivalent"
        elif kind == CAUGHT and mutant.name in equivalent:
            print(f"  ! listed as equivalent but caught: {mutant.name}")
        counts[kind] += 1
        if verbose or kind in (SURVIVED, UNSETTLED) or fresh:
            note = f" ({why[:90]})" if kind != SURVIVED and why else ""
            print(f"  [{index}/{len(mutants)}] {kind:10} {mutant.name}{note}", flush=True)
    stale = set(equivalent) - {m.name for m in mutants}
    for name in sorted(stale) if not only and every == 1 else ():
        print(f"  ! equivalence entry matches no mutant: {name}")
    judged = counts[CAUGHT] + counts[SURVIVED]
    share = 100 * counts[CAUGHT] / judged if judged else 0.0
    sample = f" (every {every}th from #{start})" if every > 1 else ""
    print(f"step {number}: {len(mutants)} mutants{sample}, {counts['equivalent']} equivalent, "
          f"{counts[CAUGHT]}/{judged} caught ({share:.1f}%), {counts[UNSETTLED]} unsettled, "
          f"{time.monotonic() - started:.0f} s", flush=True)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("steps", help="step numbers, comma-separated: 7 or 3,5,7")
    parser.add_argument("--list", action="store_true", help="list the mutants without grading them")
    parser.add_argument("--only", default="", help="only the mutants whose name holds this text")
    parser.add_argument("--trust-caught", action="store_true",
                        help="keep a mutant caught by an earlier version of the checks without grading it")
    parser.add_argument("--every", type=int, default=1,
                        help="a sample: every Nth mutant only (the figure is then an estimate)")
    parser.add_argument("--start", type=int, default=0, help="with --every: the first mutant's index")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every mutant, caught ones too")
    args = parser.parse_args()
    course = load_course()
    for number in (int(n) for n in args.steps.split(",")):
        if args.list:
            for mutant in mutants_of(course.step(number).solution_dir):
                print(mutant.name)
            continue
        run_step(course, number, args.only, args.trust_caught, args.verbose, args.every, args.start)


if __name__ == "__main__":
    main()
