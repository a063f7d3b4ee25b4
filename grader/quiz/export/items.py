"""What every export writes: the bank's questions as items, a variant question as a fixed
number of rendered variants, and the HTML their texts become."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from grader.quiz.bank import Bank, Question
from grader.quiz.variants import sample

VARIANTS = 3  # variants written per variant question unless the export is told otherwise
CODE_SPAN = re.compile(r"`([^`]+)`")
LOM_DIFFICULTY = {"easy": "easy", "medium": "medium", "hard": "difficult"}  # LOM's vocabulary


@dataclass(frozen=True)
class Item:
    """One exported question: a plain question, or one variant of a variant question."""

    question: Question  # rendered: no placeholders left
    ident: str  # unique in the export: the question id, or `<id>-v<n>` for a variant
    variant: int = 0  # 1, 2, ... for a variant; 0 for a plain question

    @property
    def title(self) -> str:
        return f"{self.question.id} (variant {self.variant})" if self.variant else self.ident


@dataclass(frozen=True)
class Group:
    """A bank question and the items it is exported as; a platform draws one item of a
    variant question's group per student."""

    question: Question  # as in the bank
    items: tuple[Item, ...]


def groups(bank: Bank, variants: int = VARIANTS) -> list[Group]:
    """Each question of the bank, by topic in bank order; a variant question as `variants`
    different parameter sets, the same on every export of the same bank."""
    if variants < 1:
        raise ValueError(f"Export at least one variant per question, not {variants}.")
    found = []
    for topic in bank.topics():
        for question in (q for q in bank.questions if q.topic == topic):
            if not question.is_variant:
                found.append(Group(question, (Item(question, question.id),)))
                continue
            drawn = sample(question.params, question.where, variants, question.version)
            found.append(
                Group(
                    question,
                    tuple(
                        Item(question.render(values), f"{question.id}-v{n}", n)
                        for n, values in enumerate(drawn, start=1)
                    ),
                )
            )
    return found


def items(bank: Bank, variants: int = VARIANTS) -> list[Item]:
    return [item for group in groups(bank, variants) for item in group.items]


def as_html(text: str) -> str:
    """Plain text as HTML, with `backtick` spans as <code>."""
    return CODE_SPAN.sub(r"<code>\1</code>", html.escape(text, quote=False))


def stem_html(question: Question) -> str:
    stem = as_html(question.stem)
    if question.code:
        stem += f"<pre><code>{html.escape(question.code.strip(), quote=False)}</code></pre>"
    return stem


def solution_html(question: Question) -> str:
    steps = "".join(f"<li>{as_html(step)}</li>" for step in question.solution)
    return f"<ol>{steps}</ol><p>Answer: {as_html(question.final_answer)}</p>"


def feedback_text(question: Question, key: str) -> str:
    """What a student who chose option `key` reads: the answer, or the misconception."""
    option = question.option(key)
    return question.final_answer if option.correct else option.misconception or ""
