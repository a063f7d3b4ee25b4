"""The bank as a QTI 1.2 package in the shape Canvas imports: one assessment whose plain
questions are items, and whose variant questions are question groups that pick one variant
each; per-answer feedback, the worked solution as general feedback, and each item's topic and
level in its QTI metadata (qmd_topic, qmd_levelofdifficulty)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from grader.quiz.bank import Bank
from grader.quiz.export.items import (
    LOM_DIFFICULTY,
    VARIANTS,
    Item,
    as_html,
    feedback_text,
    groups,
    solution_html,
    stem_html,
)
from grader.quiz.export.qti21 import CP_NS
from grader.quiz.export.xmltree import document, sub

QTI12_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
QTI12_XSD = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
RESOURCE_TYPE = "imsqti_xmlv1p2"
ASSESSMENT = "persistlab-quiz"
ASSESSMENT_HREF = f"{ASSESSMENT}/{ASSESSMENT}.xml"
RESPONSE = "response1"
GENERAL_FEEDBACK = "general_fb"


def answer_id(key: str) -> str:
    """Canvas keeps its answers by number: a is 1, b is 2, ..."""
    return str("abcd".index(key) + 1)


def _mattext(parent: ET.Element, html_text: str) -> None:
    sub(sub(parent, "material"), "mattext", f"<div>{html_text}</div>", texttype="text/html")


def _fields(parent: ET.Element, fields: dict[str, str]) -> None:
    metadata = sub(parent, "qtimetadata")
    for label, entry in fields.items():
        field = sub(metadata, "qtimetadatafield")
        sub(field, "fieldlabel", label)
        sub(field, "fieldentry", entry)


def _feedback(item: ET.Element, ident: str, html_text: str) -> None:
    _mattext(sub(sub(item, "itemfeedback", ident=ident), "flow_mat"), html_text)


def canvas_item(parent: ET.Element, exported: Item) -> None:
    question = exported.question
    item = sub(parent, "item", ident=exported.ident, title=exported.title)
    _fields(sub(item, "itemmetadata"), {
        "question_type": "multiple_choice_question",
        "points_possible": "1.0",
        "original_answer_ids": ",".join(answer_id(o.key) for o in question.options),
        "qmd_topic": question.topic,
        "qmd_levelofdifficulty": LOM_DIFFICULTY[question.difficulty],
    })  # fmt: skip
    presentation = sub(item, "presentation")
    _mattext(presentation, stem_html(question))
    choices = sub(sub(presentation, "response_lid", ident=RESPONSE, rcardinality="Single"),
                  "render_choice")  # fmt: skip
    for option in question.options:
        _mattext(sub(choices, "response_label", ident=answer_id(option.key)), as_html(option.text))
    processing = sub(item, "resprocessing")
    sub(sub(processing, "outcomes"), "decvar", maxvalue="100", minvalue="0", varname="SCORE",
        vartype="Decimal")  # fmt: skip
    general = sub(processing, "respcondition", **{"continue": "Yes"})
    sub(sub(general, "conditionvar"), "other")
    sub(general, "displayfeedback", feedbacktype="Response", linkrefid=GENERAL_FEEDBACK)
    for option in question.options:
        each = sub(processing, "respcondition", **{"continue": "Yes"})
        sub(sub(each, "conditionvar"), "varequal", answer_id(option.key), respident=RESPONSE)
        sub(each, "displayfeedback", feedbacktype="Response",
            linkrefid=f"{answer_id(option.key)}_fb")  # fmt: skip
    right = sub(processing, "respcondition", **{"continue": "No"})
    sub(sub(right, "conditionvar"), "varequal", answer_id(question.answer.key), respident=RESPONSE)
    sub(right, "setvar", "100", action="Set", varname="SCORE")
    _feedback(item, GENERAL_FEEDBACK, solution_html(question))
    for option in question.options:
        _feedback(item, f"{answer_id(option.key)}_fb", as_html(feedback_text(question, option.key)))


def canvas_assessment(bank: Bank, variants: int = VARIANTS) -> ET.Element:
    root = ET.Element("questestinterop", {
        "xmlns": QTI12_NS, "xmlns:xsi": XSI_NS, "xsi:schemaLocation": f"{QTI12_NS} {QTI12_XSD}",
    })  # fmt: skip
    assessment = sub(root, "assessment", ident=ASSESSMENT, title="persistlab quiz bank")
    _fields(assessment, {"cc_maxattempts": "1"})
    section = sub(assessment, "section", ident="root_section")
    for group in groups(bank, variants):
        if not group.question.is_variant:
            canvas_item(section, group.items[0])
            continue
        pick = sub(section, "section", ident=f"group-{group.question.id}",
                   title=group.question.id)  # fmt: skip
        selection = sub(sub(pick, "selection_ordering"), "selection")
        sub(selection, "selection_number", "1")
        sub(sub(selection, "selection_extension"), "points_per_item", "1.0")
        for item in group.items:
            canvas_item(pick, item)
    return root


def canvas_manifest() -> ET.Element:
    manifest = ET.Element("manifest", xmlns=CP_NS, identifier=f"{ASSESSMENT}-package")
    metadata = sub(manifest, "metadata")
    sub(metadata, "schema", "IMS Content")
    sub(metadata, "schemaversion", "1.1.3")
    sub(manifest, "organizations")
    resource = sub(sub(manifest, "resources"), "resource", identifier=ASSESSMENT,
                   type=RESOURCE_TYPE, href=ASSESSMENT_HREF)  # fmt: skip
    sub(resource, "file", href=ASSESSMENT_HREF)
    return manifest


def export_canvas(bank: Bank, out: Path, variants: int = VARIANTS) -> Path:
    """A QTI 1.2 package at `out` (a .zip) for Canvas's QTI import."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("imsmanifest.xml", document(canvas_manifest()))
        package.writestr(ASSESSMENT_HREF, document(canvas_assessment(bank, variants)))
    return out
