"""junit.xml: one test suite per student, one test case per check, for CI dashboards."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any


def junit_xml(results: dict[str, dict[str, Any]]) -> str:
    """Build from each student's results.json, so a regrade of one student rebuilds the whole file."""
    root = ET.Element("testsuites", name="persistlab")
    for name in sorted(results):
        tests = results[name].get("tests", [])
        suite = ET.SubElement(
            root, "testsuite", name=name, tests=str(len(tests)),
            failures=str(sum(t["status"] != "passed" for t in tests)),
            time=f"{results[name].get('execution_time', 0):.3f}",
        )
        for test in tests:
            case = ET.SubElement(suite, "testcase", classname=name, name=test["name"])
            if test["status"] != "passed":
                first = (test["output"] or "failed").splitlines()[0][:200]
                failure = ET.SubElement(case, "failure", message=first)
                failure.text = test["output"]
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


__all__ = ["junit_xml"]
