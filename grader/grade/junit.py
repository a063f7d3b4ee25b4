"""junit.xml: one test suite per student, one test case per check, for CI dashboards.

A check the grader could not run (its own fault, or the sandbox's) is an <error>, a skipped one
<skipped>, any other failure a <failure>. Each suite's properties carry the student's score (after
adjustments), the maximum, and each check's points ("points 3.2" = "2/2"). Every text is made safe for XML 1.0 first: a student's
message can hold characters no XML document may contain (NUL, BEL, ESC, ...).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from grader.grade.results_json import max_score
from grader.results import GRADER_FAULTS, SKIPPED, clip

# what XML 1.0 allows: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str, limit: int = 4000) -> str:
    """`text` clipped, with control characters shown as escapes and nothing XML 1.0 forbids."""
    return _NOT_XML.sub("\ufffd", clip(text, limit))


def _outcome(test: dict[str, Any]) -> str:
    extra = test.get("extra_data")
    return str(extra.get("outcome", "")) if isinstance(extra, dict) else ""


def junit_xml(results: dict[str, dict[str, Any]]) -> str:
    """Build from each student's results.json, so a regrade of one student rebuilds the whole file."""
    root = ET.Element("testsuites", name="persistlab")
    for name in sorted(results):
        tests = results[name].get("tests", [])
        failed = [t for t in tests if t.get("status") != "passed"]
        kinds = [_outcome(t) for t in failed]
        errors = sum(kind in GRADER_FAULTS for kind in kinds)
        skipped = kinds.count(SKIPPED)
        suite = ET.SubElement(
            root, "testsuite", name=xml_text(name), tests=str(len(tests)),
            failures=str(len(failed) - errors - skipped), errors=str(errors), skipped=str(skipped),
            time=f"{float(results[name].get('execution_time', 0)):.3f}",
        )
        properties = ET.SubElement(suite, "properties")
        totals = {"score": float(results[name].get("score", 0)), "max_score": max_score(results[name])}
        for key, value in totals.items():
            ET.SubElement(properties, "property", name=key, value=f"{value:g}")
        for test in tests:  # a testcase holds no properties: each check's points are the suite's
            ET.SubElement(properties, "property", name=f"points {test.get('number', '')}",
                          value=f"{float(test.get('score', 0)):g}/{float(test.get('max_score', 0)):g}")
        for test in tests:
            case = ET.SubElement(suite, "testcase", classname=xml_text(name),
                                 name=xml_text(str(test.get("name", "")), 200))
            if test.get("status") == "passed":
                continue
            kind = _outcome(test)
            tag = "error" if kind in GRADER_FAULTS else "skipped" if kind == SKIPPED else "failure"
            output = xml_text(str(test.get("output") or "failed"))
            detail = ET.SubElement(case, tag, message=output.splitlines()[0][:200] if output else tag,
                                   type=kind or "failed")
            detail.text = output
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


__all__ = ["junit_xml", "xml_text"]
