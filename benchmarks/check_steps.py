"""`persistlab check N` on the reference solutions, as a ratio to `python -c "import fastapi"`.

Run by hand:  .venv/bin/python benchmarks/check_steps.py [--runs 9] [--steps 5,10,11]
Machines of this kind differ by 2x from one day to the next, so each check is timed beside the
import, alternating, in the same run, and the figure that travels is the ratio of the medians.
Each run is a whole new process, as a student types it, with the grader's modules compiled
first, as `pip install` leaves an installed package (an editable install, beside
PYTHONDONTWRITEBYTECODE=1, would compile them again on every run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grader
from grader.course import load_course
from grader.workspace import create_workspace


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--steps", default="5,10,11")
    args = parser.parse_args()
    steps = [int(n) for n in args.steps.split(",")]
    course = load_course()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before")
    baseline = [sys.executable, "-c", "import fastapi"]
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "ws"
        create_workspace(course, workspace)
        for number in steps:
            step = course.step(number)
            shutil.copytree(step.solution_dir, workspace / step.folder, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.db", "__pycache__"))
        imports: list[float] = []
        checks: dict[int, list[float]] = {n: [] for n in steps}
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(grader.__file__).parent)],
                       check=True)
        timed(baseline)  # warm the disk cache
        for _ in range(args.runs):
            for number in steps:
                imports.append(timed(baseline))
                checks[number].append(timed([sys.executable, "-m", "grader", "check", str(number),
                                             "--dir", str(workspace)]))
    unit = statistics.median(imports)
    print(f"python -c 'import fastapi': median {unit:.3f} s ({len(imports)} runs)")
    for number, times in checks.items():
        median = statistics.median(times)
        print(f"persistlab check {number}: median {median:.3f} s, {median / unit:.1f}x the import "
              f"(min {min(times):.3f} s, max {max(times):.3f} s, {len(times)} runs)")
    print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
