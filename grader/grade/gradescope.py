"""A Gradescope autograder bundle, and what its run_autograder runs inside Gradescope's container.

Gradescope unpacks the bundle into /autograder/source, runs setup.sh once per image, then
run_autograder per submission: the student's upload is in /autograder/submission, and
/autograder/results/results.json must be written whatever happens.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
import zipfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from grader.course import ROOT, SOLUTIONS, Course, load_course

if TYPE_CHECKING:
    from grader.grade.submissions import Submission

PACKAGE = "persistlab"
INCLUDED = ("pyproject.toml", "README.md", "course.toml", "grader", "exercises", "solutions")
SKIPPED = {"__pycache__", ".pytest_cache", ".mypy_cache"}

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image.
set -euo pipefail
if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv --help >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip
fi
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -q --upgrade pip
# the versions persistlab was built and tested with, every one pinned; then persistlab itself
/autograder/venv/bin/pip install -q -r /autograder/source/persistlab/requirements.lock
/autograder/venv/bin/pip install -q --no-deps -e /autograder/source/persistlab
"""
LOCK = "requirements.lock"

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission. results.json is always written, even if grading fails.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${PERSISTLAB_PYTHON:-$ROOT/venv/bin/python}"
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
# student code runs as another user: without namespaces, file modes are what keeps it out
chmod 700 "$ROOT/source" "$ROOT/results" "$ROOT/submission" 2>/dev/null || true
(cd / && "$PYTHON" -I -m grader.grade.gradescope --root "$ROOT") || true
if [ ! -s "$ROOT/results/results.json" ]; then
    cat > "$ROOT/results/results.json" <<'JSON'
{"score": 0, "output": "The autograder failed before it could grade this submission, so no marks were given. Please tell your instructor.", "tests": []}
JSON
fi
"""


def _requirements(name: str, extras: frozenset[str]) -> list[Requirement]:
    """What an installed distribution requires, with `extras` asked for."""
    found = []
    for line in distribution(name).requires or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras | {""}):
            found.append(requirement)
        elif "extra" not in str(marker):
            found.append(requirement)  # for another Python or system: kept, its marker with it
    return found


def pinned_requirements(package: str = PACKAGE) -> list[str]:
    """Every distribution `package` needs at run time, pinned to the version installed here (with
    the dependencies of each, and theirs); one meant for another Python keeps its range and marker."""
    pins: dict[str, str] = {}
    other: dict[tuple[str, str], str] = {}
    queue = [(package, frozenset[str]())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while queue:
        name, extras = queue.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for requirement in _requirements(name, extras):
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}) \
                    and "extra" not in str(requirement.marker):
                other.setdefault((canonicalize_name(requirement.name), str(requirement.marker)), str(requirement))
                continue
            try:
                found = distribution(requirement.name)
            except PackageNotFoundError:
                raise RuntimeError(f"{requirement.name} is not installed: install {package} first") from None
            pins[canonicalize_name(found.metadata["Name"])] = f"{found.metadata['Name']}=={found.version}"
            queue.append((requirement.name, frozenset(requirement.extras)))
    return [pins[key] for key in sorted(pins)] + [other[key] for key in sorted(other)]


def build_bundle(out: Path, source: Path = ROOT, late_policy: str | None = None) -> Path:
    """Write the autograder zip: setup.sh, run_autograder, persistlab's source and its pinned
    dependencies (requirements.lock); `late_policy`, late-policy.json (grade.gradescope_late)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"{PACKAGE}/{LOCK}", "\n".join(pinned_requirements()) + "\n")
        if late_policy is not None:
            from grader.grade.gradescope_late import POLICY

            bundle.writestr(f"{PACKAGE}/{POLICY}", late_policy)
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, text)
        for entry in INCLUDED:
            path = source / entry
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for file in files:
                relative = file.relative_to(source)
                if SKIPPED & set(relative.parts):
                    continue
                bundle.write(file, f"{PACKAGE}/{relative}")
    return out


def _failure(message: str) -> dict[str, Any]:
    return {"score": 0, "output": message, "tests": [], "visibility": "visible"}


def grade_submission(root: Path, course: Course) -> dict[str, Any]:
    """Grade root/submission with every protection this container allows."""
    from grader.grade.submissions import intake

    return _grade_taken(root, course, intake([root / "submission"], course))


def _grade_taken(root: Path, course: Course, submissions: list[Submission]) -> dict[str, Any]:
    from grader.engine.sandbox import unavailable_reason, user_only_reason
    from grader.grade.batch import Options, grade_class
    from grader.grade.command import limits_for, protections_off
    from grader.grade.results_json import results_json

    no_namespaces, no_user = unavailable_reason(), user_only_reason()
    namespaces, user = no_namespaces is None, no_user is None
    if len(submissions) != 1:
        return _failure(f"Upload one workspace (the step folders, or one zip of them); found {len(submissions)}.")
    hide = tuple(str(p) for p in (SOLUTIONS, root / "results", root / "submission", course.root / ".git")
                 if p.exists())
    options = Options(steps=tuple(s.number for s in course.steps),
                      limits=limits_for(), submission_timeout=300.0, sandboxed=user,
                      namespaces=namespaces, hide=hide)
    [graded] = grade_class(submissions, course, options, jobs=1)
    data = results_json(graded, course)
    why = ((no_namespaces or "") if user
           else f"there is no sandbox here ({no_user}): student code ran as the autograder's user")
    for line in protections_off(options, why):
        data["output"] += f"\n({line})"
    return data


def run(root: Path) -> int:
    from grader.grade.adjustments import apply
    from grader.grade.gradescope_late import late_adjustment

    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = grade_submission(root, load_course())
        late = late_adjustment(root, root / "source" / PACKAGE)
        data = apply(data, [late]) if late is not None else data
    except Exception:  # noqa: BLE001 - fail closed: zero marks and the reason, never a missing file
        data = _failure("The autograder itself failed, so no marks were given:\n"
                        + traceback.format_exc(limit=3))
    results.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="Grade /autograder/submission for Gradescope.")
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    sys.exit(run(parser.parse_args().root))


if __name__ == "__main__":
    main()
