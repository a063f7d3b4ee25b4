"""`persistlab check N` on the reference solutions, as a ratio to `python -c "import fastapi"`.

Run by hand:  .venv/bin/python benchmarks/check_steps.py [--runs 9] [--steps 5,10,11]
Machines of this kind differ by 2x from one day to the next, so each check is timed beside the
import, alternating, in the same run, and the figure that travels is the ratio of the medians.
The CPU time of each run (every process it started, the zygote and the app's servers included,
which this process reaps as their subreaper; not the PostgreSQL server's) is measured too: on
a machine with N CPUs no run can take less than its CPU time over N, whatever runs in parallel.
Each run is a whole new process, as a student types it, with the grader's modules compiled
first, as `pip install` leaves an installed package (an editable install, beside
PYTHONDONTWRITEBYTECODE=1, would compile them again on every run).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
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

PR_SET_CHILD_SUBREAPER = 36


def reap() -> None:
    """Wait for the orphans of a run (its zygote, the app's servers), reparented to this process:
    the zygote ends with the run that started it, its students with it. A run that left one
    behind for good would keep the benchmark waiting here, in plain sight."""
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str]) -> tuple[float, float]:
    """The wall time and the CPU time of one run."""
    cpu = cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    reap()
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return elapsed, cpu_of_children() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--steps", default="5,10,11")
    args = parser.parse_args()
    steps = [int(n) for n in args.steps.split(",")]
    course = load_course()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    cpus = os.cpu_count() or 1
    print(f"{cpus} CPUs, load average {os.getloadavg()[0]:.1f} before")
    baseline = [sys.executable, "-c", "import fastapi"]
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "ws"
        create_workspace(course, workspace)
        for number in steps:
            step = course.step(number)
            shutil.copytree(step.solution_dir, workspace / step.folder, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.db", "__pycache__"))
        imports: list[tuple[float, float]] = []
        checks: dict[int, list[tuple[float, float]]] = {n: [] for n in steps}
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(grader.__file__).parent)],
                       check=True)
        timed(baseline)  # warm the disk cache
        for _ in range(args.runs):
            for number in steps:
                imports.append(timed(baseline))
                checks[number].append(timed([sys.executable, "-m", "grader", "check", str(number),
                                             "--dir", str(workspace)]))
    unit = statistics.median(wall for wall, _ in imports)
    unit_cpu = statistics.median(cpu for _, cpu in imports)
    print(f"python -c 'import fastapi': median {unit:.3f} s, CPU {unit_cpu:.3f} s "
          f"({len(imports)} runs)")
    for number, runs in checks.items():
        walls = [wall for wall, _ in runs]
        median = statistics.median(walls)
        cpu = statistics.median(cpu for _, cpu in runs)
        print(f"persistlab check {number}: median {median:.3f} s, {median / unit:.1f}x the import "
              f"(min {min(walls):.3f} s, max {max(walls):.3f} s, {len(runs)} runs); CPU "
              f"{cpu:.3f} s, {cpu / unit_cpu:.1f}x the import's: on {cpus} CPUs, however it were "
              f"spread, at least {cpu / cpus / unit_cpu:.1f}x the time of an import that runs "
              "unhindered")
    print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
