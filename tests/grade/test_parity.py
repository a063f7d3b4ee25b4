"""One verdict: the same files get the same score, check by check, from `check` and from `grade`
(in the sandbox where this machine has one), for the reference solutions of all eleven steps and
for broken and unusual submissions."""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.check import run_checks
from grader.cli import cli
from grader.course import Course
from grader.engine.sandbox import unavailable_reason
from grader.grade.results_json import max_score
from grader.results import PASS
from tests.checks.variants import S3, S5, VARIANTS, Variant
from tests.engine.machine import cpu_hogs

SAFETY = [] if unavailable_reason() is None else ["--unsafe"]
TMP_DB = f"/tmp/persistlab-parity-{secrets.token_hex(4)}.db"
UNUSUAL = [
    # prints 20 MB as it starts and a line per request: output is cut, never a failure
    Variant("loud", 3, S3, {"main.py": [
        ("app = FastAPI()", "import sys\nsys.stdout.write('x' * (20 << 20))\napp = FastAPI()"),
        ("    global next_id\n", "    global next_id\n    print('adding', note.text)\n"),
    ]}),
    # sends itself SIGTERM as it starts: it dies of it in check and in the sandbox alike (a pid 1
    # of its namespace would ignore a signal it has no handler for, and serve on)
    Variant("signals-itself", 3, S3, {"main.py": [
        ("app = FastAPI()", "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\napp = FastAPI()"),
    ]}),
    # the database file under /tmp: there after a restart, in check and in the sandbox alike (it
    # still loses the check that asks for notes.db in the working directory, both ways)
    Variant("tmp-database", 5, S5, {"db.py": [('"notes.db"', repr(TMP_DB))]}),
]
BROKEN = ["missing-global", "dict-in-memory", "no-commit", "create-answers-200", "delete-not-committed",
          "no-migration", "create-all-before-alembic", "foreign-keys-off", "pragma-on-postgres",
          "health-always-ok", "upgrade-nowhere"]


def _students(root: Path, course: Course) -> dict[str, dict[int, Path]]:
    """name -> step -> step folder: the reference for every step, and one student a variant."""
    students: dict[str, dict[int, Path]] = {"reference": {}}
    for step in course.steps:
        folder = root / "reference" / step.folder
        shutil.copytree(step.solution_dir, folder, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
        students["reference"][step.number] = folder
    chosen = [v for v in VARIANTS if v.name in BROKEN] + UNUSUAL
    for variant in chosen:
        folder = variant.write(root / variant.name / course.step(variant.step).folder)
        students[variant.name] = {variant.step: folder}
    return students


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, course: Course) -> Iterator[tuple[dict[str, dict[int, Path]], Path]]:
    """The class graded by `grade`, beside two CPU hogs: made in the solo test below, the first
    of this file, which runs whole on one worker."""
    root = tmp_path_factory.mktemp("parity")
    students = _students(root / "class", course)
    out = root / "grades"
    with cpu_hogs():  # the reference gets full marks in the sandbox on a busy machine too
        result = CliRunner().invoke(
            cli, ["grade", str(root / "class"), "--out", str(out), *SAFETY], catch_exceptions=False
        )
    assert result.exit_code == 0, result.output
    try:
        yield students, out
    finally:
        Path(TMP_DB).unlink(missing_ok=True)


@pytest.mark.solo
def test_grade_gives_the_reference_full_marks_beside_two_cpu_hogs(
    graded: tuple[dict[str, dict[int, Path]], Path], course: Course
) -> None:
    _, out = graded
    reference = json.loads((out / "results" / "reference.json").read_text(encoding="utf-8"))
    wrong = [(t["number"], t["name"], t["output"]) for t in reference["tests"] if t["status"] != "passed"]
    assert wrong == [], "dev check (tests/test_cli.py) holds check to full marks for the same files"
    assert reference["score"] == max_score(reference) == sum(s.points for s in course.steps)


def test_check_and_grade_give_the_same_verdict_check_by_check(
    graded: tuple[dict[str, dict[int, Path]], Path], course: Course
) -> None:
    """Beside other tests: check's side needs no hogs."""
    students, out = graded
    for name, steps in students.items():
        if name == "reference":
            continue
        graded_json = json.loads((out / "results" / f"{name}.json").read_text(encoding="utf-8"))
        for number, folder in steps.items():
            checked = run_checks(course.step(number), folder)
            by_grade = [(t["name"].split(": ", 1)[1], t["status"], t["score"])
                        for t in graded_json["tests"] if t["number"].split(".")[0] == str(number)]
            by_check = [(t.name, "passed" if t.status == PASS else "failed", t.score)
                        for t in checked.tests]
            assert by_grade == by_check, (name, number, checked.message)
            if name == "loud":
                assert checked.score == checked.max_score, (name, number, checked.message)


@pytest.mark.parametrize("name", BROKEN)
def test_each_broken_variant_named_here_exists(name: str) -> None:
    assert any(v.name == name for v in VARIANTS), f"no variant {name} in tests/checks/variants.py"
