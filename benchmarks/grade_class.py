"""Grade 200 generated submissions with `persistlab grade --jobs 2`, and the naive way, in one run.

Run by hand:  .venv/bin/python benchmarks/grade_class.py [--count 200] [--baseline-sample N]
                  [--all-steps] [--other-tree DIR --repeat 3]
The class mixes correct and broken workspaces across steps 1-5 (made from tests/checks/variants.py,
each student's files signed so none is byte-identical to another's); with --all-steps, across
all eleven steps, graded and reported as steps 1-9 and steps 10-11. --other-tree grades the same
class with another checkout of persistlab (a git worktree of an earlier commit, with its own .venv
if its zygote runs isolated from PYTHONPATH), alternating with
this one --repeat times, for a side-by-side figure on a machine whose speed drifts. The naive way is one
`python -m pytest` process per submission running the same checks (benchmarks/naive), where
every student server is a fresh Python importing fastapi and uvicorn; two run at once, like
--jobs 2. By default it grades every submission of the class, as the published figures need;
--baseline-sample N (for a quick run) grades every (count/N)th one and scales the time to the class.
Peak memory is the highest sum of PSS over the grader's whole process tree, sampled every 20 ms.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from grader.course import load_course
from tests.grade.classroom import make_class


def tree(pid: int) -> list[int]:
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            for task in Path(f"/proc/{parent}/task").iterdir():
                children = (task / "children").read_text().split()
                found += map(int, children)
                frontier += map(int, children)
        except OSError:
            continue
    return found


def pss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_measured(command: list[str], **kwargs: object) -> tuple[float, int]:
    """Wall seconds and peak PSS of the whole process tree of `command`."""
    start = time.perf_counter()
    process = subprocess.Popen(command, **kwargs)  # type: ignore[call-overload]
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(pss_bytes(p) for p in tree(process.pid)))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    code = process.wait()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    if code != 0:
        sys.exit(f"{command[:4]} failed with status {code}")
    return elapsed, peak


def naive_one(submission: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(HERE / "naive"),
         "-c", os.devnull, str(HERE / "naive")],
        env={**os.environ, "PERSISTLAB_SUBMISSION": str(submission)},
        capture_output=True, cwd=HERE / "naive", check=False,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--baseline-sample", type=int, default=None,
                        help="submissions graded the naive way, spread over the class and scaled to it "
                             "(default: all of them, --count; 0 for none)")
    parser.add_argument("--unsafe", action="store_true", help="grade without the sandbox")
    parser.add_argument("--all-steps", action="store_true", help="a class across all eleven steps")
    parser.add_argument("--other-tree", type=Path, help="another persistlab checkout to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.other_tree is not None:
        compare(args)
        return
    if args.all_steps:
        all_steps(args)
        return
    if args.baseline_sample is None:
        args.baseline_sample = args.count
    course = load_course()
    print(f"{os.cpu_count()} CPUs; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        students = make_class(root / "class", course, args.count)
        command = [sys.executable, "-m", "grader", "grade", str(root / "class"), "--out",
                   str(root / "out"), "--jobs", str(args.jobs), "--steps", "1-5"]
        ours, peak = run_measured(command + (["--unsafe"] if args.unsafe else []),
                                  stdout=subprocess.DEVNULL)
        with open(root / "out" / "gradebook.csv", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        passing = sum(row["status"] == "pass" for row in rows)
        per_student = statistics.median(float(row["seconds"]) for row in rows)
        print(f"persistlab grade --jobs {args.jobs}: {len(rows)} submissions ({passing} all correct) "
              f"in {ours:.1f} s: {1000 * ours / len(rows):.0f} ms wall per submission, "
              f"median {1000 * per_student:.0f} ms of worker time each; "
              f"peak memory {peak / (1 << 20):.0f} MiB (PSS of the whole process tree)")
        if args.baseline_sample > 0:
            sample = students[:: max(1, len(students) // args.baseline_sample)][: args.baseline_sample]
            start = time.perf_counter()
            with ThreadPoolExecutor(args.jobs) as pool:
                times = list(pool.map(naive_one, sample))
            naive_wall = time.perf_counter() - start
            scaled = naive_wall * len(students) / len(sample)
            print(f"naive (python -m pytest per submission, {args.jobs} at once): {len(sample)} submissions "
                  f"in {naive_wall:.1f} s, median {statistics.median(times):.2f} s each; "
                  f"{'' if len(sample) == len(students) else 'scaled to the class: '}{scaled:.1f} s")
            print(f"ratio: persistlab grade is {scaled / ours:.1f}x faster")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def grade_once(root: Path, args: argparse.Namespace, steps: str, tree: Path | None = None) -> tuple[float, int, list[dict[str, str]]]:
    """Grade root/class into a fresh root/out; wall seconds, peak PSS and the gradebook rows."""
    out = root / "out"
    subprocess.run(["rm", "-rf", str(out)], check=True)
    python = tree / ".venv/bin/python" if tree and (tree / ".venv/bin/python").exists() else Path(sys.executable)
    command = [str(python), "-m", "grader", "grade", str(root / "class"), "--out", str(out),
               "--jobs", str(args.jobs), "--steps", steps, *(["--unsafe"] if args.unsafe else [])]
    env = {**os.environ, "PYTHONPATH": str(tree)} if tree else None
    wall, peak = run_measured(command, stdout=subprocess.DEVNULL, cwd=tree or HERE.parent, env=env)
    with open(out / "gradebook.csv", encoding="utf-8") as handle:
        return wall, peak, list(csv.DictReader(handle))


def all_steps(args: argparse.Namespace) -> None:
    course = load_course()
    print(f"{os.cpu_count()} CPUs; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_class(root / "class", course, args.count, steps=len(course.steps))
        for steps in ("1-9", "10-11"):
            wall, peak, rows = grade_once(root, args, steps)
            print(f"steps {steps}: {len(rows)} submissions in {wall:.1f} s, "
                  f"{1000 * wall / len(rows):.0f} ms per submission; peak {peak / (1 << 20):.0f} MiB")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def compare(args: argparse.Namespace) -> None:
    course = load_course()
    print(f"{os.cpu_count()} CPUs; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_class(root / "class", course, args.count)
        times: dict[str, list[float]] = {"this tree": [], str(args.other_tree): []}
        each: dict[str, list[float]] = {name: [] for name in times}  # worker seconds per submission
        grades: dict[str, list[tuple[str, ...]]] = {}
        for _ in range(args.repeat):
            for name, tree in (("this tree", None), (str(args.other_tree), args.other_tree)):
                wall, _, rows = grade_once(root, args, "1-5", tree)
                times[name].append(wall)
                each[name].append(statistics.median(float(r["seconds"]) for r in rows))
                grades[name] = sorted((r["student"], r["total"]) for r in rows)
                print(f"{name}: {wall:.1f} s ({1000 * wall / len(rows):.0f} ms per submission, "
                      f"median {1000 * each[name][-1]:.0f} ms of worker time)")
        ours, theirs = (statistics.median(t) for t in times.values())
        mine, other = (statistics.median(t) for t in each.values())
        print(f"median: this tree {ours:.1f} s, {args.other_tree} {theirs:.1f} s: "
              f"{ours / theirs:.2f}x its time; median submission {1000 * mine:.0f} ms against "
              f"{1000 * other:.0f} ms: {mine / other:.2f}x; "
              f"same grades: {len(set(map(tuple, grades.values()))) == 1}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
