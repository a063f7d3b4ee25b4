"""What a quiz asks and how an answer is graded; shared by the web and terminal runners.

Options are shown under display labels A-D in a per-attempt shuffled order. A page or prompt
only ever carries display labels, so the bank's keys (and where the answer sits) stay on the
server until the answer is in.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from grader.course import Step
from grader.quiz import variants
from grader.quiz.bank import LEVELS, Bank, Option, Question

if TYPE_CHECKING:
    from grader.quiz.answers import Served

LABELS = "ABCD"
SELF_CHECK = "self-check"
SELF_CHECK_COUNT = 10


class QuizChoiceError(ValueError):
    """No such topic or level, or no question matches."""


@dataclass(frozen=True)
class QuizChoice:
    """A topic quiz (optionally one level), a level quiz, or the mixed self-check."""

    topic: str | None = None
    level: str | None = None
    count: int | None = None
    topic_title: str | None = field(default=None, compare=False)  # the bank's title of the topic
    step: Step | None = None  # the questions course.toml links to this step, and no others

    @classmethod
    def for_step(cls, step: Step) -> QuizChoice:
        return cls(topic=f"step-{step.number}", step=step)

    @property
    def is_self_check(self) -> bool:
        return self.topic is None and self.level is None

    @property
    def title(self) -> str:
        if self.is_self_check:
            return "Self-check"
        if self.step is not None:
            return f"Step {self.step.number}, {self.step.title}"
        what = "All topics"
        if self.topic:
            what = self.topic_title or self.topic.replace("-", " ").capitalize()
        return f"{what} ({self.level})" if self.level else what

    def pick(self, bank: Bank, rng: random.Random) -> list[Question]:
        """The questions of a new attempt, easiest first; raises QuizChoiceError."""
        if self.step is not None:
            known = {question.id for question in bank.questions}
            linked = [bank.get(qid) for qid in self.step.quiz if qid in known]
            if not linked:
                raise QuizChoiceError(f"No question is linked to step {self.step.number}.")
            return sorted(linked, key=lambda q: LEVELS.index(q.difficulty))
        if self.topic is not None and self.topic not in bank.topics():
            raise QuizChoiceError(
                f"There is no quiz {self.topic!r}. Topics: {', '.join(bank.topics())}."
            )
        if self.level is not None and self.level not in LEVELS:
            raise QuizChoiceError(
                f"There is no level {self.level!r}: choose {', '.join(LEVELS)} or none."
            )
        if self.is_self_check:
            questions = bank.self_check(self.count or SELF_CHECK_COUNT, rng=rng)
        else:
            questions = bank.select(topic=self.topic, level=self.level, rng=rng)
            questions = sorted(questions[: self.count], key=lambda q: LEVELS.index(q.difficulty))
        if not questions:
            raise QuizChoiceError(f"No questions match {self.title.lower()}.")
        return questions


def shuffled_order(question: Question, rng: random.Random) -> str:
    """The question's option keys in a random order, as stored with the attempt ("cadb")."""
    keys = [option.key for option in question.options]
    rng.shuffle(keys)
    return "".join(keys)


def serve(question: Question, rng: random.Random) -> Served:
    """A question as a new attempt stores it: id, shuffled order, version, drawn parameters."""
    order = shuffled_order(question, rng)
    return (question.id, order, question.version, variants.dumps(question.draw(rng)))


def displayed(question: Question, order: str) -> list[tuple[str, Option]]:
    """(display label, option) pairs in the attempt's order."""
    return [(label, question.option(key)) for label, key in zip(LABELS, order)]


def key_for(order: str, label: str) -> str:
    """The bank key shown under `label`; ValueError for a label the question does not have."""
    label = label.strip().upper()
    if len(label) != 1 or label not in LABELS[: len(order)]:
        choices = ", ".join(LABELS[: len(order)])
        raise ValueError(f"{label or 'Nothing'!r} is not an option: choose one of {choices}.")
    return order[LABELS.index(label)]


def label_for(order: str, key: str) -> str:
    return LABELS[order.index(key)]


@dataclass(frozen=True)
class Feedback:
    """What the student sees after answering, in this order: verdict, misconception, hint,
    worked solution, linked steps."""

    question: Question
    chosen: Option
    order: str

    @property
    def correct(self) -> bool:
        return self.chosen.correct

    @property
    def answer(self) -> Option:
        return self.question.answer

    @property
    def chosen_label(self) -> str:
        return label_for(self.order, self.chosen.key)

    @property
    def answer_label(self) -> str:
        return label_for(self.order, self.answer.key)

    @property
    def misconception(self) -> str | None:
        return None if self.correct else self.chosen.misconception


def grade(question: Question, order: str, chosen_key: str) -> Feedback:
    """Feedback for choosing the bank option `chosen_key` (KeyError if it is not one)."""
    return Feedback(question=question, chosen=question.option(chosen_key), order=order)


@dataclass(frozen=True)
class Revisit:
    """A course step to go back to, with the positions of the missed questions it practises."""

    step: Step
    positions: tuple[int, ...]

    @property
    def missed(self) -> str:
        """'question 2', 'questions 2 and 5', 'questions 1, 2 and 5'."""
        numbers = [str(p) for p in self.positions]
        if len(numbers) == 1:
            return f"question {numbers[0]}"
        return f"questions {', '.join(numbers[:-1])} and {numbers[-1]}"


def steps_to_revisit(
    missed: Iterable[tuple[int, Question]], steps: Mapping[str, Step]
) -> list[Revisit]:
    """The steps linked to the missed (position, question) pairs, in course order, each once."""
    positions: dict[str, list[int]] = {}
    for position, question in missed:
        for slug in question.steps:
            if slug in steps and position not in positions.setdefault(slug, []):
                positions[slug].append(position)
    revisits = [Revisit(steps[slug], tuple(sorted(found))) for slug, found in positions.items()]
    return sorted(revisits, key=lambda revisit: revisit.step.number)
