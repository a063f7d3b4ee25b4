"""The bank as Moodle XML: a category per topic (and, under it, one per variant question holding
its variants), each question with per-answer feedback, its worked solution as general
feedback, the hint and the quick check as hints, and its topic and level as tags."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from grader.quiz.bank import Bank
from grader.quiz.export.items import (
    VARIANTS,
    Item,
    as_html,
    feedback_text,
    groups,
    solution_html,
    stem_html,
)
from grader.quiz.export.xmltree import document, sub

COURSE_CATEGORY = "$course$/top/persistlab"
PENALTY = "0.3333333"  # Moodle's default: a third of the mark per wrong try in interactive mode


def _html(parent: ET.Element, tag: str, html_text: str, **attrs: str) -> ET.Element:
    element = sub(parent, tag, format="html", **attrs)
    sub(element, "text", html_text)
    return element


def _category(quiz: ET.Element, path: str, info: str) -> None:
    question = sub(quiz, "question", type="category")
    sub(sub(question, "category"), "text", f"{COURSE_CATEGORY}/{path}")
    _html(question, "info", info)


def moodle_question(quiz: ET.Element, item: Item) -> None:
    question = item.question
    element = sub(quiz, "question", type="multichoice")
    sub(sub(element, "name"), "text", item.title)
    _html(element, "questiontext", stem_html(question))
    _html(element, "generalfeedback", solution_html(question))
    for tag, value in (("defaultgrade", "1"), ("penalty", PENALTY), ("hidden", "0"),
                       ("idnumber", item.ident), ("single", "true"), ("shuffleanswers", "true"),
                       ("answernumbering", "ABCD")):  # fmt: skip
        sub(element, tag, value)
    _html(element, "correctfeedback", "Right!")
    _html(element, "partiallycorrectfeedback", "")
    _html(element, "incorrectfeedback", "Not quite.")
    for option in question.options:
        answer = _html(element, "answer", as_html(option.text),
                       fraction="100" if option.correct else "0")  # fmt: skip
        _html(answer, "feedback", as_html(feedback_text(question, option.key)))
    _html(element, "hint", as_html(question.hint))
    _html(element, "hint", as_html(f"Check yourself: {question.quick_check}"))
    tags = sub(element, "tags")
    for tag in (question.topic, question.difficulty):
        sub(sub(tags, "tag"), "text", tag)


def export_moodle(bank: Bank, variants: int = VARIANTS) -> bytes:
    quiz = ET.Element("quiz")
    category = None
    for group in groups(bank, variants):
        topic = group.question.topic
        wanted = f"{topic}/{group.question.id}" if group.question.is_variant else topic
        if wanted != category:
            info = (
                f"{len(group.items)} variants of {group.question.id}: a random question from "
                "this category gives each student one."
                if group.question.is_variant
                else f"persistlab questions on {topic}."
            )
            _category(quiz, wanted, info)
            category = wanted
        for item in group.items:
            moodle_question(quiz, item)
    return document(quiz)
