"""Item statistics for the instructor: facility, discrimination, option counts, student scores.

Every item figure comes from the same answers: those of finished attempts. Each answer was
graded on the version of the question its attempt was served, and keeps that grade when the
bank changes; the answers to a version other than the bank's are counted, so a question whose
key was corrected shows how many answers still stand on the old key. A variant question's answers, whatever
parameters each student was drawn, count as answers to the one question: the option keys and
the key do not change between variants, only the numbers and names in the text. An attempt still
in progress (or abandoned) has no rest score, so it cannot count for discrimination, and
counting it for facility alone would describe the two columns with different students.

Facility is the share of those answers that were right. Discrimination is the point-biserial
correlation between an item (1 right, 0 wrong) and the rest score of the same attempt (the
share right on its other questions), so a question that strong students get right and weak
ones get wrong scores near +1. Attempts differ in length, hence shares.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from grader.quiz.bank import OPTION_KEYS, Bank
from grader.quiz.store import AnswerRow, Attempt
from grader.quiz.variants import outline


@dataclass(frozen=True)
class QuestionStats:
    question_id: str
    topic: str
    difficulty: str
    answer_key: str | None
    answered: int
    facility: float | None
    discrimination: float | None
    option_counts: dict[str, int] = field(default_factory=dict)
    earlier_version: int = 0  # answers to a version of the question other than the bank's
    stem: str = ""  # the question's text, for people ("" for a question no longer in the bank)
    variants: int = 0  # different parameter sets among the answers (0: not a variant question)


@dataclass(frozen=True)
class StudentScore:
    student_id: int
    name: str
    attempts: int
    finished: int
    best: float | None
    last: float | None


def correlation(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; None with fewer than three pairs or when either side never varies."""
    n = len(xs)
    if n < 3 or n != len(ys):
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    syy = sum((y - mean_y) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    return sxy / math.sqrt(sxx * syy)


def _rest_pairs(rows: Iterable[AnswerRow]) -> dict[str, tuple[list[float], list[float]]]:
    """Per question: item scores and rest scores from attempts of two or more items. A
    question an attempt was served but left unanswered (its time ran out) is one of the
    attempt's other questions, not right, as in the attempt's score."""
    by_attempt: dict[int, list[AnswerRow]] = defaultdict(list)
    for row in rows:
        by_attempt[row.attempt_id].append(row)
    pairs: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for answers in by_attempt.values():
        served = max(len(answers), answers[0].served)
        if served < 2:
            continue
        total = sum(a.correct for a in answers)
        for answer in answers:
            items, rests = pairs[answer.question_id]
            items.append(float(answer.correct))
            rests.append((total - answer.correct) / (served - 1))
    return pairs


def question_stats(rows: Sequence[AnswerRow], bank: Bank) -> list[QuestionStats]:
    """One row per bank question (answered or not), then any retired question still in data;
    answers of unfinished attempts are left out of every figure."""
    rows = [row for row in rows if row.attempt_finished]
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OPTION_KEYS, 0))
    right: dict[str, int] = defaultdict(int)
    earlier: dict[str, int] = defaultdict(int)
    drawn: dict[str, set[str]] = defaultdict(set)
    current = {q.id: q.version for q in bank.questions}
    for row in rows:
        earlier[row.question_id] += row.version not in (None, current.get(row.question_id))
        counts[row.question_id][row.chosen] = counts[row.question_id].get(row.chosen, 0) + 1
        right[row.question_id] += row.correct
        if row.params is not None:
            drawn[row.question_id].add(row.params)
    pairs = _rest_pairs(rows)
    known = {q.id: q for q in bank.questions}
    ids = list(known) + sorted(set(counts) - set(known))
    result = []
    for qid in ids:
        question = known.get(qid)
        option_counts = counts[qid] if qid in counts else dict.fromkeys(OPTION_KEYS, 0)
        answered = sum(option_counts.values())
        items, rests = pairs.get(qid, ([], []))
        result.append(
            QuestionStats(
                question_id=qid,
                topic=question.topic if question else "(retired)",
                difficulty=question.difficulty if question else "",
                answer_key=question.answer.key if question else None,
                answered=answered,
                facility=right[qid] / answered if answered else None,
                discrimination=correlation(items, rests),
                option_counts=option_counts,
                earlier_version=earlier[qid],
                stem=outline(question.stem) if question else "",
                variants=len(drawn[qid]),
            )
        )
    return result


def student_scores(attempts: Iterable[Attempt]) -> list[StudentScore]:
    """Per student, in order of first attempt: attempts, finished, best and latest share."""
    grouped: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        grouped[attempt.student_id].append(attempt)
    scores = []
    for student_id, own in grouped.items():
        done = [a.score / a.total for a in own if a.finished_at is not None and a.score is not None]
        scores.append(
            StudentScore(
                student_id=student_id,
                name=own[0].student.name,
                attempts=len(own),
                finished=len(done),
                best=max(done) if done else None,
                last=done[-1] if done else None,
            )
        )
    return scores


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def questions_csv(stats: Iterable[QuestionStats]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["question", "topic", "difficulty", "answer", "answered", "facility", "discrimination"]
        + [f"chose_{key}" for key in OPTION_KEYS]
        + ["variants"]
    )
    for s in stats:
        writer.writerow(
            [s.question_id, s.topic, s.difficulty, s.answer_key or "", s.answered,
             _number(s.facility), _number(s.discrimination)]
            + [s.option_counts.get(key, 0) for key in OPTION_KEYS]
            + [s.variants]
        )  # fmt: skip
    return out.getvalue()


def students_csv(scores: Iterable[StudentScore]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student_id", "name", "attempts", "finished", "best", "last"])
    for s in scores:
        writer.writerow(
            [s.student_id, _safe_cell(s.name), s.attempts, s.finished,
             _number(s.best), _number(s.last)]
        )  # fmt: skip
    return out.getvalue()


def _safe_cell(text: str) -> str:
    """Student names are typed by students: keep spreadsheets from running them as formulas."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
