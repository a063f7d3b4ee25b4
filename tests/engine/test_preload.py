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
from grader.engine.preload import GROWING, KINDS, ORM, kind_for
from grader.engine.zygote import shared_zygote
from grader.server import StudentServer


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


def _modules_seen_by(folder: Path, workdir: Path, limits: Limits) -> str:
    seen = folder / "seen.txt"  # in the app's folder: under check, /tmp is its own
    server = StudentServer(folder, limits, workdir, env={"SEEN": "seen.txt"}).start()
    server.shutdown()
    return seen.read_text(encoding="utf-8")


def test_a_growing_zygote_adds_the_orm_only_when_an_app_needs_it(tmp_path: Path) -> None:
    growing = Limits()
    assert growing.preload == GROWING
    for zygote in [z for key, z in zygote_module._shared.items() if key[0] == GROWING]:
        zygote.process.kill()
        zygote.process.wait()
    web, orm = tmp_path / "web", tmp_path / "orm"
    for folder, extra in ((web, ""), (orm, "import sqlalchemy.orm\n")):
        folder.mkdir()
        (folder / "main.py").write_text(
            "import os, sys\n" + extra +
            "open(os.environ['SEEN'], 'w').write(str(sorted(m for m in ('sqlalchemy', 'alembic') if m in sys.modules)))\n"
            "from fastapi import FastAPI\napp = FastAPI()\n", encoding="utf-8")
    assert _modules_seen_by(web, tmp_path, growing) == "[]"  # forked before any ORM import
    first = zygote_module._shared[(GROWING, ())]
    assert _modules_seen_by(orm, tmp_path, growing) == "['alembic', 'sqlalchemy']"  # grown first
    assert _modules_seen_by(web, tmp_path, growing) == "['alembic', 'sqlalchemy']"
    assert zygote_module._shared[(GROWING, ())] is first and first.process.poll() is None
