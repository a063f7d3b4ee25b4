"""Building export XML with ElementTree: plain tags (the root's xmlns puts them in its
namespace), text with `backtick` spans as <code> children, and indentation that leaves mixed
content alone."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from grader.quiz.export.items import CODE_SPAN


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def inline(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    """An element holding `text`, its `backtick` spans as <code> children (as GIFT's <code>)."""
    element = sub(parent, tag, **attrs)
    parts = CODE_SPAN.split(text)  # plain, code, plain, code, ..., plain
    element.text = parts[0]
    for code, plain in zip(parts[1::2], parts[2::2]):
        sub(element, "code", code).tail = plain
    return element


def indent(element: ET.Element, level: int = 0) -> None:
    """ET.indent, but leaving mixed content (text with <code> in it) as it is: there, added
    whitespace would become part of the text."""
    children = list(element)
    if not children or any(child.tag == "code" for child in children):
        return
    pad = "\n" + "  " * (level + 1)
    if not (element.text or "").strip():
        element.text = pad
    for child in children:
        indent(child, level + 1)
        if not (child.tail or "").strip():
            child.tail = pad
    children[-1].tail = "\n" + "  " * level


def document(root: ET.Element) -> bytes:
    """The document, indented, with its XML declaration."""
    indent(root)
    text = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{text}\n'.encode()
