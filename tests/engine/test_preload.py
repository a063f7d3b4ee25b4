"""What the zygotes import once, so student processes forked from them need not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader.check import run_checks
from grader.course import Course
from grader.engine import zygote as zygote_module
from grader.engine.limits import Limits
from grader.engine.preload import KINDS, ORM, kind_for
from grader.engine.zygote import shared_zygote


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_loads_its_modules_and_no_more(kind: str) -> None:
    code = (f"import sys\nfrom grader.engine.preload import KINDS, ORM, warm_up\nwarm_up({kind!r})\n"
            f"print(sorted(set(KINDS[{kind!r}]) - set(sys.modules)), sorted(set(ORM) & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    missing, orm = result.stdout.split("] [")
    assert missing == "[", result.stdout + result.stderr
    assert (orm.strip() != "]") == (kind == "orm"), result.stdout
    assert set(ORM) <= set(KINDS["orm"]) and not set(ORM) & set(KINDS["web"])


def test_apps_that_import_sqlalchemy_get_the_orm_kind(course: Course, tmp_path: Path) -> None:
    kinds = {step.number: kind_for(step.solution_dir) for step in course.steps}
    assert kinds == {n: "web" if n <= 5 else "orm" for n in kinds}
    (tmp_path / "main.py").write_text("import os\n  from sqlalchemy.orm import Session\n", encoding="utf-8")
    assert kind_for(tmp_path) == "orm"
    (tmp_path / "main.py").write_text("# sqlalchemy comes later\nimport sqlite3\n", encoding="utf-8")
    assert kind_for(tmp_path) == "web"


def test_auto_forks_each_app_from_the_kind_it_needs(course: Course) -> None:
    auto = Limits(preload="auto")
    for number, kind in ((3, "web"), (6, "orm")):
        dead = {k: shared_zygote(k) for k in KINDS}
        for zygote in dead.values():
            zygote.process.kill()
            zygote.process.wait()
        report = run_checks(course.step(number), course.step(number).solution_dir, auto)
        assert report.status == "pass", report
        started = {k for k in KINDS if zygote_module._shared[(k, ())] is not dead[k]}
        assert started == {kind}
