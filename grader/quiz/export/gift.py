"""The bank as Moodle GIFT text: a category per topic, and one per variant question holding its
variants (a quiz's "random question" from that category gives each student one of them)."""

from __future__ import annotations

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

# Moodle's own GIFT export escapes these; a backslash first, so later escapes stay intact.
GIFT_ESCAPES = [("\\", "\\\\"), ("~", "\\~"), ("=", "\\="), ("#", "\\#"), ("{", "\\{"),
                ("}", "\\}"), (":", "\\:"), ("\r", ""), ("\n", "\\n")]  # fmt: skip
# In [html] text a brace or a backslash is written as its character reference: Moodle shows the
# same character, and no GIFT reader can take it for the end of the answers or an escape.
HTML_REFERENCES = [("\\", "&#92;"), ("{", "&#123;"), ("}", "&#125;")]


def gift_escape(text: str) -> str:
    for char, escaped in GIFT_ESCAPES:
        text = text.replace(char, escaped)
    return text


def gift_html(html_text: str) -> str:
    """HTML for a GIFT [html] field: braces and backslashes as character references, then
    GIFT's escapes."""
    for char, reference in HTML_REFERENCES:
        html_text = html_text.replace(char, reference)
    return gift_escape(html_text)


def gift_question(item: Item) -> str:
    question = item.question
    lines = [
        f"// {question.topic}, {question.difficulty}; practised in {', '.join(question.steps)}",
        f"::{gift_escape(item.ident)}::[html]{gift_html(stem_html(question))} {{",
    ]
    for option in question.options:
        mark = "=" if option.correct else "~"
        feedback = feedback_text(question, option.key)
        tail = f"#{gift_html(as_html(feedback))}" if feedback else ""
        lines.append(f"\t{mark}{gift_html(as_html(option.text))}{tail}")
    lines.append(f"\t####{gift_html(solution_html(question))}")
    lines.append("}")
    return "\n".join(lines)


def export_gift(bank: Bank, variants: int = VARIANTS) -> str:
    """The bank as GIFT: category lines, then one block per item, blank-line separated."""
    blocks = []
    category = None
    for group in groups(bank, variants):
        topic = f"persistlab/{group.question.topic}"
        wanted = f"{topic}/{group.question.id}" if group.question.is_variant else topic
        if wanted != category:
            blocks.append(f"$CATEGORY: {wanted}")
            category = wanted
        blocks += [gift_question(item) for item in group.items]
    return "\n\n".join(blocks) + "\n"
