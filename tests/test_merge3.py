"""The three-way merge that carries a student's code forward: diff3's rules, and TODO comments
that never conflict."""

from __future__ import annotations

from grader.merge3 import merge3


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


BASE = lines("a\nb\nc\nd\n")


def test_changes_to_different_lines_both_land() -> None:
    assert merge3(BASE, lines("a\nB\nc\nd\n"), lines("a\nb\nc\nD\n")) == lines("a\nB\nc\nD\n")
    assert merge3(BASE, lines("x\na\nb\nc\nd\n"), lines("a\nb\nc\nd\ny\n")) == lines("x\na\nb\nc\nd\ny\n")


def test_the_same_change_on_both_sides_is_taken_once() -> None:
    assert merge3(BASE, lines("a\nB\nc\nd\n"), lines("a\nB\nc\nd\n")) == lines("a\nB\nc\nd\n")


def test_different_changes_to_the_same_or_touching_lines_conflict() -> None:
    assert merge3(BASE, lines("a\nB\nc\nd\n"), lines("a\nb2\nc\nd\n")) is None
    assert merge3(BASE, lines("a\nB\nc\nd\n"), lines("a\nb\nC\nd\n")) is None
    assert merge3(BASE, lines("a\nb\nc\nd\nmine()\n"), lines("a\nb\nc\nd\ncode()\n")) is None


def test_comment_lines_the_new_step_inserts_go_beside_lines_the_student_changed() -> None:
    todo = "# TODO 1: add a route\n"
    assert merge3(BASE, lines("a\nb\nc\nD\n"), lines("a\nb\nc\nd\n" + todo)) == lines("a\nb\nc\nD\n" + todo)
    assert merge3(BASE, lines("a\nB\nc\nd\n"), lines("a\n" + todo + "b\nc\nd\n")) == lines("a\n" + todo + "B\nc\nd\n")


def test_code_the_new_step_inserts_beside_a_change_conflicts() -> None:
    assert merge3(BASE, lines("a\nb\nc\nD\n"), lines("a\nb\nc\nd\nx = 1\n")) is None


def test_a_comment_the_student_added_beside_a_line_the_step_changes_stays() -> None:
    assert merge3(BASE, lines("# mine\na\nb\nc\nd\n"), lines("A\nb\nc\nd\n")) == lines("# mine\nA\nb\nc\nd\n")


def test_one_side_unchanged_gives_the_other_exactly() -> None:
    import random

    rng = random.Random(14)
    for _ in range(300):
        base = [rng.choice("abcdef") + "\n" for _ in range(rng.randint(0, 12))]
        other = [line for line in base if rng.random() > 0.3]
        for _ in range(rng.randint(0, 4)):
            other.insert(rng.randint(0, len(other)), rng.choice("xyz#") + "\n")
        assert merge3(base, base, other) == other
        assert merge3(base, other, base) == other
        assert merge3(base, other, other) == other
