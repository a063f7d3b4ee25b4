"""Time `persistlab similarity` on a generated class: every step of every student compared.

Run by hand:  .venv/bin/python benchmarks/similarity.py [--count 150] [--steps 1-11]
The class is tests/grade/classroom.py's (correct and broken workspaces across steps 1-5, each
student's files signed), so most pairs share the reference solution: the worst case for the
number of pairs with code in common.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.course import load_course
from tests.grade.classroom import make_class


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=150)
    parser.add_argument("--steps", default="1-11")
    args = parser.parse_args()
    course = load_course()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        make_class(root / "class", course, args.count)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", "similarity", str(root / "class"), "--out", str(root / "out"),
                        "--steps", args.steps], check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        pairs = len((root / "out" / "similarity.csv").read_text(encoding="utf-8").splitlines()) - 1
    print(f"{args.count} students, steps {args.steps}: {pairs} pairs with code in common, {seconds:.1f} s")


if __name__ == "__main__":
    main()
