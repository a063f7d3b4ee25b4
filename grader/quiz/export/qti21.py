"""The question bank exported for learning platforms: Moodle GIFT text, or a QTI 2.1 package."""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from grader.quiz.bank import Bank, Question

FORMATS = ("gift", "qti")
QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
QTI_XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ITEM_TYPE = "imsqti_item_xmlv2p1"
CODE_SPAN = re.compile(r"`([^`]+)`")
# Moodle's own GIFT export escapes these; a backslash first, so later escapes stay intact.
GIFT_ESCAPES = [("\\", "\\\\"), ("~", "\\~"), ("=", "\\="), ("#", "\\#"), ("{", "\\{"),
                ("}", "\\}"), (":", "\\:"), ("\r", ""), ("\n", "\\n")]  # fmt: skip


def gift_escape(text: str) -> str:
    for char, escaped in GIFT_ESCAPES:
        text = text.replace(char, escaped)
    return text


def _html(text: str) -> str:
    """Plain text as HTML, with `backtick` spans as <code>."""
    return CODE_SPAN.sub(r"<code>\1</code>", html.escape(text, quote=False))


def _solution_html(question: Question) -> str:
    steps = "".join(f"<li>{_html(step)}</li>" for step in question.solution)
    return f"<ol>{steps}</ol><p>Answer: {_html(question.final_answer)}</p>"


def gift_question(question: Question) -> str:
    stem = _html(question.stem)
    if question.code:
        stem += f"<pre><code>{html.escape(question.code.strip(), quote=False)}</code></pre>"
    lines = [
        f"// {question.topic}, {question.difficulty}; practised in {', '.join(question.steps)}",
        f"::{gift_escape(question.id)}::[html]{gift_escape(stem)} {{",
    ]
    for option in question.options:
        mark = "=" if option.correct else "~"
        feedback = question.final_answer if option.correct else option.misconception or ""
        tail = f"#{gift_escape(_html(feedback))}" if feedback else ""
        lines.append(f"\t{mark}{gift_escape(_html(option.text))}{tail}")
    lines.append(f"\t####{gift_escape(_solution_html(question))}")
    lines.append("}")
    return "\n".join(lines)


def export_gift(bank: Bank) -> str:
    """The bank as Moodle GIFT: a category per topic, one block per question, blank-line separated."""
    blocks = []
    for topic in bank.topics():
        blocks.append(f"$CATEGORY: persistlab/{topic}")
        blocks += [gift_question(q) for q in bank.questions if q.topic == topic]
    return "\n\n".join(blocks) + "\n"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def _inline(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    """An element holding `text`, its `backtick` spans as <code> children (as GIFT's <code>)."""
    element = _sub(parent, tag, **attrs)
    parts = CODE_SPAN.split(text)  # plain, code, plain, code, ..., plain
    element.text = parts[0]
    for code, plain in zip(parts[1::2], parts[2::2]):
        _sub(element, "code", code).tail = plain
    return element


def choice_id(key: str) -> str:
    return f"choice_{key}"


def _response_processing(item: ET.Element) -> None:
    """SCORE 1 for the correct choice, FEEDBACK the chosen identifier, SOLUTION always shown."""
    processing = _sub(item, "responseProcessing")
    condition = _sub(processing, "responseCondition")
    for branch, score in (("responseIf", "1"), ("responseElse", "0")):
        block = _sub(condition, branch)
        if branch == "responseIf":
            match = _sub(block, "match")
            _sub(match, "variable", identifier="RESPONSE")
            _sub(match, "correct", identifier="RESPONSE")
        value = _sub(block, "setOutcomeValue", identifier="SCORE")
        _sub(value, "baseValue", score, baseType="float")
    feedback = _sub(processing, "setOutcomeValue", identifier="FEEDBACK")
    _sub(feedback, "variable", identifier="RESPONSE")
    solution = _sub(processing, "setOutcomeValue", identifier="SOLUTION")
    _sub(solution, "baseValue", "solution", baseType="identifier")


def qti_item(question: Question) -> ET.Element:
    item = ET.Element("assessmentItem", {
        "xmlns": QTI_NS, "xmlns:xsi": XSI_NS, "xsi:schemaLocation": f"{QTI_NS} {QTI_XSD}",
        "identifier": question.id, "title": question.id, "adaptive": "false",
        "timeDependent": "false",
    })  # fmt: skip
    response = _sub(item, "responseDeclaration", identifier="RESPONSE", cardinality="single",
                    baseType="identifier")  # fmt: skip
    _sub(_sub(response, "correctResponse"), "value", choice_id(question.answer.key))
    score = _sub(item, "outcomeDeclaration", identifier="SCORE", cardinality="single",
                 baseType="float")  # fmt: skip
    _sub(_sub(score, "defaultValue"), "value", "0")
    for outcome in ("FEEDBACK", "SOLUTION"):
        _sub(item, "outcomeDeclaration", identifier=outcome, cardinality="single",
             baseType="identifier")  # fmt: skip
    body = _sub(item, "itemBody")
    _inline(body, "p", question.stem)
    if question.code:
        _sub(body, "pre", question.code.strip())
    interaction = _sub(body, "choiceInteraction", responseIdentifier="RESPONSE", shuffle="true",
                       maxChoices="1")  # fmt: skip
    for option in question.options:
        _inline(interaction, "simpleChoice", option.text, identifier=choice_id(option.key))
    _response_processing(item)
    for option in question.options:
        text = question.final_answer if option.correct else option.misconception or ""
        _inline(item, "modalFeedback", text, outcomeIdentifier="FEEDBACK",
                identifier=choice_id(option.key), showHide="show")  # fmt: skip
    solution = _sub(item, "modalFeedback", outcomeIdentifier="SOLUTION", identifier="solution",
                    showHide="show")  # fmt: skip
    steps = _sub(solution, "ol")
    for step in question.solution:
        _inline(steps, "li", step)
    return item


def item_href(question: Question) -> str:
    return f"items/{question.id}.xml"


def qti_manifest(bank: Bank) -> ET.Element:
    manifest = ET.Element("manifest", xmlns=CP_NS, identifier="persistlab-quiz-bank")
    metadata = _sub(manifest, "metadata")
    _sub(metadata, "schema", "QTIv2.1 Package")
    _sub(metadata, "schemaversion", "1.0.0")
    _sub(manifest, "organizations")
    resources = _sub(manifest, "resources")
    for question in bank.questions:
        href = item_href(question)
        resource = _sub(resources, "resource", identifier=f"res-{question.id}", type=ITEM_TYPE,
                        href=href)  # fmt: skip
        _sub(resource, "file", href=href)
    return manifest


def _indent(element: ET.Element, level: int = 0) -> None:
    """ET.indent, but leaving mixed content (text with <code> in it) as it is: there, added
    whitespace would become part of the text."""
    children = list(element)
    if not children or any(child.tag == "code" for child in children):
        return
    pad = "\n" + "  " * (level + 1)
    if not (element.text or "").strip():
        element.text = pad
    for child in children:
        _indent(child, level + 1)
        if not (child.tail or "").strip():
            child.tail = pad
    children[-1].tail = "\n" + "  " * level


def _xml(root: ET.Element) -> bytes:
    """The document; its tags are plain, the root's xmlns attribute puts them in the namespace."""
    _indent(root)
    text = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{text}\n'.encode()


def export_qti(bank: Bank, out: Path) -> Path:
    """A QTI 2.1 content package at `out` (a .zip): imsmanifest.xml and one item file per question."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("imsmanifest.xml", _xml(qti_manifest(bank)))
        for question in bank.questions:
            package.writestr(item_href(question), _xml(qti_item(question)))
    return out


def export_bank(bank: Bank, fmt: str, out: Path) -> Path:
    """Write the bank to `out` as "gift" or "qti"; ValueError for any other format."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    if fmt == "qti":
        return export_qti(bank, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(export_gift(bank), encoding="utf-8")
    return out
