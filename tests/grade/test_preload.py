"""What the zygote imports once, so student processes forked from it need not."""

from __future__ import annotations

import subprocess
import sys

from grader.preload import MODULES


def test_the_warm_up_loads_sqlalchemy_orm_and_httpx() -> None:
    assert {"sqlalchemy", "sqlalchemy.orm", "httpx"} <= set(MODULES)
    code = ("import sys\nfrom grader.preload import MODULES, warm_up\nwarm_up()\n"
            "print(sorted(set(MODULES) - set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
