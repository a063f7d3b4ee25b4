"""A three-way merge of lines, as diff3 does it: the changes from `base` to `theirs` applied to
`ours`, or None where both changed the same lines differently.

One leniency: lines one side only inserts that are comments or blank (a step's `# TODO` block,
a student's own note) never conflict; beside lines the other side changed, they go just before
them (or after them, at the end of the changed stretch). Comments change no program.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher


@dataclass(frozen=True)
class Hunk:
    """Lines base[start:end] became side[side_start:side_end]."""

    start: int
    end: int
    side_start: int
    side_end: int
    ours: bool


def hunks(base: list[str], side: list[str], ours: bool) -> list[Hunk]:
    matcher = SequenceMatcher(None, base, side, autojunk=False)
    return [Hunk(b1, b2, s1, s2, ours) for tag, b1, b2, s1, s2 in matcher.get_opcodes() if tag != "equal"]


def is_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def only_comments_inserted(side: list[Hunk], lines: list[str]) -> bool:
    return all(h.start == h.end and all(map(is_comment, lines[h.side_start:h.side_end])) for h in side)


def beside(inserts: list[Hunk], lines: list[str], other: list[str], end: int) -> list[str]:
    """The comment lines of `inserts` before `other`, or after it where they were at its end."""
    before = [line for h in inserts if h.start < end for line in lines[h.side_start:h.side_end]]
    after = [line for h in inserts if h.start == end for line in lines[h.side_start:h.side_end]]
    return before + other + after


def _span(side: list[Hunk], everything: list[Hunk], start: int, end: int) -> tuple[int, int]:
    """Where base[start:end] lies in a side: its hunks in the stretch, or the offset before it."""
    if side:
        return side[0].side_start - (side[0].start - start), side[-1].side_end + (end - side[-1].end)
    offset = sum((h.side_end - h.side_start) - (h.end - h.start) for h in everything if h.end <= start)
    return start + offset, end + offset


def merge3(base: list[str], ours: list[str], theirs: list[str]) -> list[str] | None:
    mine, new = hunks(base, ours, True), hunks(base, theirs, False)
    merged: list[str] = []
    done = 0  # base lines up to here are in `merged`
    pending = sorted(mine + new, key=lambda h: (h.start, h.end))
    while pending:
        group = [pending.pop(0)]
        end = group[0].end
        while pending and pending[0].start <= end:  # overlapping or touching
            end = max(end, pending[0].end)
            group.append(pending.pop(0))
        start = group[0].start
        merged += base[done:start]
        our_hunks = [h for h in group if h.ours]
        their_hunks = [h for h in group if not h.ours]
        o1, o2 = _span(our_hunks, mine, start, end)
        t1, t2 = _span(their_hunks, new, start, end)
        if not their_hunks:
            merged += ours[o1:o2]
        elif not our_hunks or ours[o1:o2] == theirs[t1:t2]:
            merged += theirs[t1:t2]
        elif only_comments_inserted(their_hunks, theirs):
            merged += beside(their_hunks, theirs, ours[o1:o2], end)
        elif only_comments_inserted(our_hunks, ours):
            merged += beside(our_hunks, ours, theirs[t1:t2], end)
        else:
            return None
        done = end
    return merged + base[done:]


__all__ = ["merge3"]
