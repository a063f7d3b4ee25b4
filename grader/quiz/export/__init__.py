"""The question bank exported for learning platforms: Moodle GIFT or Moodle XML, a QTI 2.1
package, or a QTI 1.2 package for Canvas. A variant question is written as a fixed number of
variants, grouped so that the platform gives each student one."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from grader.quiz.bank import Bank
from grader.quiz.export.gift import export_gift, gift_escape
from grader.quiz.export.items import VARIANTS, Item, groups, items
from grader.quiz.export.moodle import export_moodle
from grader.quiz.export.qti12 import export_canvas
from grader.quiz.export.qti21 import export_qti, item_href

FORMATS = ("gift", "moodle", "qti", "canvas")

__all__ = [
    "FORMATS", "VARIANTS", "Item", "export_bank", "export_canvas", "export_gift",
    "export_moodle", "export_qti", "gift_escape", "groups", "item_href", "items",
]  # fmt: skip


def export_bank(bank: Bank, fmt: str, out: Path, variants: int = VARIANTS) -> Path:
    """Write the bank to `out` in format `fmt` (FORMATS); ValueError for any other format or
    for fewer than one variant per question, OSError when `out` cannot be written."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    if variants < 1:
        raise ValueError(f"Export at least one variant per question, not {variants}.")
    if out.is_dir():
        raise IsADirectoryError(errno.EISDIR, "it is a folder: give a file name", str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside `out`, then renamed over it: a failed export leaves no half-written file.
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        if fmt == "qti":
            export_qti(bank, partial, variants)
        elif fmt == "canvas":
            export_canvas(bank, partial, variants)
        elif fmt == "moodle":
            partial.write_bytes(export_moodle(bank, variants))
        else:
            partial.write_text(export_gift(bank, variants), encoding="utf-8")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out
