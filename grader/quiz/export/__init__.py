"""The question bank exported for learning platforms: Moodle GIFT or Moodle XML, a QTI 2.1
package, or a QTI 1.2 package for Canvas. A variant question is written as a fixed number of
variants, grouped so that the platform gives each student one."""

from __future__ import annotations

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
    for fewer than one variant per question."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    if variants < 1:
        raise ValueError(f"Export at least one variant per question, not {variants}.")
    if fmt == "qti":
        return export_qti(bank, out, variants)
    if fmt == "canvas":
        return export_canvas(bank, out, variants)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "moodle":
        out.write_bytes(export_moodle(bank, variants))
    else:
        out.write_text(export_gift(bank, variants), encoding="utf-8")
    return out
