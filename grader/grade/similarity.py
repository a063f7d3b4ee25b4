"""Which students' code is alike, step by step, with the starter left out: similarity.csv and
similarity.html (pairs ranked, the two files side by side, the shared regions marked).

The comparison is copydetect's: it tokenises Python with Pygments, replaces every name by one
letter (so renaming variables changes nothing), fingerprints the tokens by winnowing k-grams, and
drops the fingerprints the starter has. What it cannot see: code rewritten in another shape
(a loop for a comprehension, statements reordered), and short steps, where every correct
answer looks alike: a pair is flagged only when it shares MIN_TOKENS tokens or more.
"""

from __future__ import annotations

import csv
import html
import io
import shutil
import tempfile
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from grader.course import Course, Step
from grader.grade.sources import IntakeError
from grader.grade.submissions import Submission, intake_class

K = 25  # tokens a shared run must have (copydetect's noise threshold)
WINDOW = 1  # every k-gram fingerprinted: the steps are small
THRESHOLD = 0.6  # share of one student's own tokens (the starter's aside) found in the other's
MIN_TOKENS = 80  # shared tokens, at the least, for a pair to be flagged
MAX_SHOWN = 40  # pairs shown side by side in the HTML report
MAX_ROWS = 500  # pairs listed in the HTML report's table; similarity.csv has them all


class SimilarityUnavailable(Exception):
    """copydetect is not installed."""


def _copydetect() -> Any:
    try:
        import copydetect
    except ImportError:
        raise SimilarityUnavailable(
            "the similarity report needs copydetect: pip install 'persistlab[similarity]'") from None
    return copydetect


@dataclass
class Pair:
    step: int
    first: str
    second: str
    similarity: tuple[float, float]  # of each one's own code (the starter's left out), found in the other's
    tokens: int  # tokens the two share
    code: tuple[str, str] = ("", "")
    marked: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])

    @property
    def score(self) -> float:
        return max(self.similarity)

    @property
    def flagged(self) -> bool:
        return self.score >= THRESHOLD and self.tokens >= MIN_TOKENS


def step_code(folder: Path) -> str:
    """A step folder's Python files, one after the other, each under a comment naming it."""
    parts = []
    for path in sorted(folder.rglob("*.py")):
        if path.is_file() and "__pycache__" not in path.parts:
            text = path.read_text(encoding="utf-8", errors="replace")
            parts.append(f"# {path.relative_to(folder).as_posix()}\n{text}")
    return "\n".join(parts)


def _fingerprint(code: str, boilerplate: Any = None) -> Any:
    copydetect = _copydetect()
    return copydetect.CodeFingerprint("main.py", K, WINDOW, boilerplate=boilerplate, language="python",
                                      fp=io.StringIO(code))


def _codes(submissions: list[Submission], step: Step, scratch: Path) -> dict[str, str]:
    """Each student's code for `step` (those with a folder that holds more than the starter)."""
    starter = step_code(step.exercise_dir)
    codes = {}
    for submission in submissions:
        if submission.work is None:
            continue
        target = scratch / submission.name / step.folder
        try:
            folder = submission.work.stage(step.folder, target)
        except (IntakeError, OSError):
            continue
        if folder is not None:
            code = step_code(folder)
            if code.strip() and code != starter:
                codes[submission.name] = code
        shutil.rmtree(scratch / submission.name, ignore_errors=True)
    return codes


def _slices(found: Any) -> list[tuple[int, int]]:
    return [(int(start), int(end)) for start, end in zip(found[0], found[1])] if len(found) else []


def compare_step(submissions: list[Submission], step: Step, scratch: Path) -> list[Pair]:
    """Every pair of students who handed in work for `step`, the starter left out."""
    copydetect = _copydetect()
    import numpy

    boilerplate = numpy.array(sorted(_fingerprint(step_code(step.exercise_dir)).hashes))
    codes = _codes(submissions, step, scratch)
    prints = {name: _fingerprint(code, boilerplate) for name, code in codes.items()}
    pairs = []
    for first, second in combinations(sorted(prints), 2):
        tokens, similarity, slices = copydetect.compare_files(prints[first], prints[second])
        if tokens == 0:
            continue
        pairs.append(Pair(step.number, first, second, (float(similarity[0]), float(similarity[1])), int(tokens),
                          (codes[first], codes[second]), (_slices(slices[0]), _slices(slices[1]))))
    return pairs


def compare_class(submissions: list[Submission], course: Course, steps: tuple[int, ...]) -> list[Pair]:
    """The pairs of every step, most alike first."""
    with tempfile.TemporaryDirectory(prefix="persistlab-similarity-") as scratch:
        pairs = [pair for number in steps for pair in compare_step(submissions, course.step(number), Path(scratch))]
    return sorted(pairs, key=lambda p: (-p.score, -p.tokens, p.step, p.first, p.second))


CSV_HEADER = ("step", "student_a", "student_b", "similarity_a", "similarity_b", "shared_tokens", "flagged")


def similarity_csv(pairs: list[Pair]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for pair in pairs:
        writer.writerow([pair.step, pair.first, pair.second, f"{pair.similarity[0]:.2f}",
                         f"{pair.similarity[1]:.2f}", pair.tokens, "yes" if pair.flagged else ""])
    return out.getvalue()


def marked_html(code: str, regions: list[tuple[int, int]]) -> str:
    """`code`, escaped, with each shared region in a <mark>."""
    out, at = [], 0
    for start, end in sorted(regions):
        start = max(start, at)
        if end <= start:
            continue
        out += [html.escape(code[at:start]), "<mark>", html.escape(code[start:end]), "</mark>"]
        at = end
    out.append(html.escape(code[at:]))
    return "".join(out)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>persistlab: similarity</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #999; padding: .25rem .5rem; }}
.pair {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }}
pre {{ background: #f6f6f6; padding: .5rem; overflow-x: auto; font-size: .85rem; }}
mark {{ background: #ffd54f; color: #000; }}
</style></head><body>
<h1>Similarity, step by step (the starter left out)</h1>
<p>{summary}</p>
<table><thead><tr><th scope="col">Step</th><th scope="col">Student A</th><th scope="col">Student B</th>
<th scope="col">A found in B</th><th scope="col">B found in A</th><th scope="col">Shared tokens</th>
<th scope="col">Flagged</th></tr></thead><tbody>
{rows}
</tbody></table>
{shown}
</body></html>
"""


def similarity_html(pairs: list[Pair]) -> str:
    flagged = [p for p in pairs if p.flagged]
    summary = (f"{len(pairs)} pairs share code beyond the starter; {len(flagged)} are flagged (at least "
               f"{THRESHOLD:.0%} of one student's code found in the other's, and {MIN_TOKENS} tokens or more). "
               "Names are not compared: a copy with renamed variables is found all the same. A flag is a "
               "place to look, not a verdict.")
    rows = "\n".join(
        f"<tr><td>{p.step}</td><td><a href=\"#pair-{i}\">{html.escape(p.first)}</a></td>"
        f"<td>{html.escape(p.second)}</td><td>{p.similarity[0]:.0%}</td><td>{p.similarity[1]:.0%}</td>"
        f"<td>{p.tokens}</td><td>{'yes' if p.flagged else ''}</td></tr>"
        for i, p in enumerate(pairs[:MAX_ROWS]))
    if len(pairs) > MAX_ROWS:
        rows += f'\n<tr><td colspan="7">... and {len(pairs) - MAX_ROWS} more pairs, in similarity.csv</td></tr>'
    shown = "\n".join(
        f'<section id="pair-{i}"><h2>Step {p.step}: {html.escape(p.first)} and {html.escape(p.second)} '
        f"({p.score:.0%})</h2><div class=\"pair\">"
        f"<div><h3>{html.escape(p.first)}</h3><pre>{marked_html(p.code[0], p.marked[0])}</pre></div>"
        f"<div><h3>{html.escape(p.second)}</h3><pre>{marked_html(p.code[1], p.marked[1])}</pre></div></div></section>"
        for i, p in enumerate(pairs[:MAX_SHOWN]))
    return _PAGE.format(summary=html.escape(summary), rows=rows, shown=shown)


def similarity_report(inputs: list[Path], out: Path, course: Course, steps: tuple[int, ...]) -> list[Pair]:
    """Take in the class as `grade` does (an LMS's download, zipped or not), compare every pair of
    students step by step, and write similarity.csv and similarity.html into `out`."""
    _copydetect()
    with tempfile.TemporaryDirectory(prefix="persistlab-download-") as unpacked:
        found = intake_class(inputs, course, exclude=(out,), unpack_to=Path(unpacked))
        pairs = compare_class(found.submissions, course, steps)
    write_report(out, pairs)
    return pairs


def write_report(out: Path, pairs: list[Pair]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("similarity.csv", similarity_csv(pairs)), ("similarity.html", similarity_html(pairs))):
        path = out / name
        partial = path.with_name(f".{name}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
        written.append(path)
    return written


__all__ = [
    "CSV_HEADER", "MIN_TOKENS", "THRESHOLD", "Pair", "SimilarityUnavailable", "compare_class", "compare_step",
    "marked_html", "similarity_csv", "similarity_html", "similarity_report", "step_code", "write_report",
]
