"""The bank as a QTI 2.1 content package: an item per question (per variant of a variant
question), an assessment test that draws one variant of each, and a manifest whose IMS
metadata (LOM) gives each item's topic and difficulty."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from grader.quiz.bank import Bank
from grader.quiz.export.items import (
    LOM_DIFFICULTY,
    VARIANTS,
    Group,
    Item,
    feedback_text,
    groups,
)
from grader.quiz.export.xmltree import document, inline, sub

QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
QTI_XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
MD_NS = "http://www.imsglobal.org/xsd/imsmd_v1p2"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ITEM_TYPE = "imsqti_item_xmlv2p1"
TEST_TYPE = "imsqti_test_xmlv2p1"
TEST_HREF = "test.xml"
LOM_SOURCE = "LOMv1.0"
TOPIC_SOURCE = "persistlab topics"


def choice_id(key: str) -> str:
    return f"choice_{key}"


def item_href(item: Item) -> str:
    return f"items/{item.ident}.xml"


def _qti_root(tag: str, **attrs: str) -> ET.Element:
    return ET.Element(tag, {
        "xmlns": QTI_NS, "xmlns:xsi": XSI_NS, "xsi:schemaLocation": f"{QTI_NS} {QTI_XSD}",
        **attrs,
    })  # fmt: skip


def _response_processing(item: ET.Element) -> None:
    """SCORE 1 for the correct choice, FEEDBACK the chosen identifier, SOLUTION always shown."""
    processing = sub(item, "responseProcessing")
    condition = sub(processing, "responseCondition")
    for branch, score in (("responseIf", "1"), ("responseElse", "0")):
        block = sub(condition, branch)
        if branch == "responseIf":
            match = sub(block, "match")
            sub(match, "variable", identifier="RESPONSE")
            sub(match, "correct", identifier="RESPONSE")
        value = sub(block, "setOutcomeValue", identifier="SCORE")
        sub(value, "baseValue", score, baseType="float")
    feedback = sub(processing, "setOutcomeValue", identifier="FEEDBACK")
    sub(feedback, "variable", identifier="RESPONSE")
    solution = sub(processing, "setOutcomeValue", identifier="SOLUTION")
    sub(solution, "baseValue", "solution", baseType="identifier")


def qti_item(item: Item) -> ET.Element:
    question = item.question
    root = _qti_root("assessmentItem", identifier=item.ident, title=item.title,
                     adaptive="false", timeDependent="false")  # fmt: skip
    response = sub(root, "responseDeclaration", identifier="RESPONSE", cardinality="single",
                   baseType="identifier")  # fmt: skip
    sub(sub(response, "correctResponse"), "value", choice_id(question.answer.key))
    score = sub(root, "outcomeDeclaration", identifier="SCORE", cardinality="single",
                baseType="float")  # fmt: skip
    sub(sub(score, "defaultValue"), "value", "0")
    for outcome in ("FEEDBACK", "SOLUTION"):
        sub(root, "outcomeDeclaration", identifier=outcome, cardinality="single",
            baseType="identifier")  # fmt: skip
    body = sub(root, "itemBody")
    inline(body, "p", question.stem)
    if question.code:
        sub(body, "pre", question.code.strip())
    interaction = sub(body, "choiceInteraction", responseIdentifier="RESPONSE", shuffle="true",
                      maxChoices="1")  # fmt: skip
    for option in question.options:
        inline(interaction, "simpleChoice", option.text, identifier=choice_id(option.key))
    _response_processing(root)
    for option in question.options:
        inline(root, "modalFeedback", feedback_text(question, option.key),
               outcomeIdentifier="FEEDBACK", identifier=choice_id(option.key), showHide="show")  # fmt: skip
    solution = sub(root, "modalFeedback", outcomeIdentifier="SOLUTION", identifier="solution",
                   showHide="show")  # fmt: skip
    steps = sub(solution, "ol")
    for step in question.solution:
        inline(steps, "li", step)
    return root


def _item_ref(section: ET.Element, item: Item) -> None:
    question = item.question
    sub(section, "assessmentItemRef", identifier=item.ident, href=item_href(item),
        category=f"{question.topic} {question.difficulty}")  # fmt: skip


def qti_test(found: list[Group]) -> ET.Element:
    """One test part, a section per topic; a variant question is a hidden sub-section that
    selects one of its variants, so each test taker gets one."""
    root = _qti_root("assessmentTest", identifier="persistlab-quiz", title="persistlab quiz bank")
    sub(root, "outcomeDeclaration", identifier="SCORE", cardinality="single", baseType="float")
    part = sub(root, "testPart", identifier="all-topics", navigationMode="nonlinear",
               submissionMode="individual")  # fmt: skip
    sections: dict[str, ET.Element] = {}
    for group in found:
        topic = group.question.topic
        if topic not in sections:
            sections[topic] = sub(part, "assessmentSection", identifier=f"topic-{topic}",
                                  title=topic, visible="true")  # fmt: skip
        if not group.question.is_variant:
            _item_ref(sections[topic], group.items[0])
            continue
        pick = sub(sections[topic], "assessmentSection", identifier=f"variants-{group.question.id}",
                   title=group.question.id, visible="false")  # fmt: skip
        sub(pick, "selection", select="1")
        for item in group.items:
            _item_ref(pick, item)
    processing = sub(root, "outcomeProcessing")
    total = sub(sub(processing, "setOutcomeValue", identifier="SCORE"), "sum")
    sub(total, "testVariables", variableIdentifier="SCORE")
    return root


def _langstring(parent: ET.Element, text: str, lang: str = "en") -> None:
    sub(parent, "imsmd:langstring", text, **{"xml:lang": lang})


def _vocabulary(parent: ET.Element, tag: str, value: str) -> None:
    element = sub(parent, tag)
    _langstring(sub(element, "imsmd:source"), LOM_SOURCE, "x-none")
    _langstring(sub(element, "imsmd:value"), value, "x-none")


def item_metadata(resource: ET.Element, item: Item) -> None:
    """IMS metadata (LOM 1.2): the item's title, its topic as a keyword and as a
    classification, its difficulty in LOM's vocabulary."""
    question = item.question
    lom = sub(sub(resource, "metadata"), "imsmd:lom")
    general = sub(lom, "imsmd:general")
    sub(general, "imsmd:identifier", item.ident)
    _langstring(sub(general, "imsmd:title"), item.title)
    _langstring(sub(general, "imsmd:keyword"), question.topic)
    _vocabulary(sub(lom, "imsmd:educational"), "imsmd:difficulty",
                LOM_DIFFICULTY[question.difficulty])  # fmt: skip
    classification = sub(lom, "imsmd:classification")
    _vocabulary(classification, "imsmd:purpose", "discipline")
    path = sub(classification, "imsmd:taxonpath")
    _langstring(sub(path, "imsmd:source"), TOPIC_SOURCE)
    taxon = sub(path, "imsmd:taxon")
    sub(taxon, "imsmd:id", question.topic)
    _langstring(sub(taxon, "imsmd:entry"), question.topic)


def qti_manifest(found: list[Group]) -> ET.Element:
    manifest = ET.Element("manifest", {"xmlns": CP_NS, "xmlns:imsmd": MD_NS,
                                       "identifier": "persistlab-quiz-bank"})  # fmt: skip
    metadata = sub(manifest, "metadata")
    sub(metadata, "schema", "QTIv2.1 Package")
    sub(metadata, "schemaversion", "1.0.0")
    sub(manifest, "organizations")
    resources = sub(manifest, "resources")
    every = [item for group in found for item in group.items]
    test = sub(resources, "resource", identifier="res-test", type=TEST_TYPE, href=TEST_HREF)
    sub(test, "file", href=TEST_HREF)
    for item in every:
        sub(test, "dependency", identifierref=f"res-{item.ident}")
    for item in every:
        href = item_href(item)
        resource = sub(resources, "resource", identifier=f"res-{item.ident}", type=ITEM_TYPE,
                       href=href)  # fmt: skip
        item_metadata(resource, item)
        sub(resource, "file", href=href)
    return manifest


def export_qti(bank: Bank, out: Path, variants: int = VARIANTS) -> Path:
    """A QTI 2.1 content package at `out` (a .zip): imsmanifest.xml, test.xml and the items."""
    found = groups(bank, variants)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("imsmanifest.xml", document(qti_manifest(found)))
        package.writestr(TEST_HREF, document(qti_test(found)))
        for group in found:
            for item in group.items:
                package.writestr(item_href(item), document(qti_item(item)))
    return out
