"""Median wall time of `persistlab check 5` on the reference solution, restart test included.

Run by hand:  .venv/bin/python benchmarks/check_step5.py [--runs 15]
Each run is a whole new `persistlab` process, as a student types it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.course import load_course
from grader.workspace import create_workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    course = load_course()
    step = course.step(5)
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "ws"
        create_workspace(course, workspace)
        for path in step.solution_dir.glob("*.py"):
            shutil.copy(path, workspace / step.folder / path.name)
        command = [sys.executable, "-m", "grader", "check", "5", "--dir", str(workspace)]
        subprocess.run(command, capture_output=True, check=True)  # warm the disk cache
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"check 5 did not pass:\n{done.stdout}{done.stderr}")
    print(f"persistlab check 5 (reference solution, {runs} runs): "
          f"median {statistics.median(times):.3f} s, min {min(times):.3f} s, max {max(times):.3f} s")


if __name__ == "__main__":
    main()
