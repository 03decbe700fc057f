"""State the run's verdict in ``junit.xml``, where CI systems read test results.

:func:`write_junit` writes one ``<testcase>`` per requirement from the summary (a requirement not
checked or not applicable is a ``<skipped>`` whose message says which, and why); under the
pytest plugin, pytest writes them. A CI test tab shows a ``<failure>`` as red,
so the file's failures must be exactly the failed MUST requirements: a conformant run is green.
:func:`annotate_junit` makes it so and adds what only the whole run knows:

- a failed SHOULD requirement is a finding, not a failure: its ``<failure>`` becomes
  ``<properties>`` (``snapconform.level``, ``snapconform.outcome``, ``snapconform.finding``) and
  a ``<system-out>`` line, so the test case passes and the finding is still read;
- ``<properties>`` on the test suite: ``snapconform.verdict``, ``snapconform.not_checked``
  (``ID [LEVEL] (reason)``, comma-separated), ``snapconform.should_findings`` (``ID: detail``,
  separated by `` | ``) and ``snapconform.summary`` (summary.json's path); the suite's
  ``<system-out>`` states the verdict;
- one more test case, ``snapconform.verdict``, where the requirement cases alone would not say
  it: passed (with the verdict in its system-out) when conformant, a ``<failure>`` when
  incomplete (its message lists the MUST requirements not checked and why; no requirement
  failed, yet nothing is certified), an ``<error>`` when no verdict was possible. A
  non-conformant run gets none: its failed MUST cases are its failures, exactly.

It is idempotent (an earlier annotation is replaced), and leaves a missing or unreadable file
alone: the JUnit file is a courtesy, summary.json is the record.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from snapconform.engine.verdicts import outcome_label

VERDICT_CLASSNAME = "snapconform"
VERDICT_NAME = "verdict"
PROPERTY_PREFIX = "snapconform."


def verdict_message(summary: Mapping[str, Any]) -> str:
    """One paragraph: the verdict and, unless conformant, what decided it."""
    requirements = summary["requirements"]
    verdict = str(summary["verdict"])
    failed = [r["id"] for r in requirements if r["outcome"] == "failed" and r["level"] == "MUST"]
    unchecked = [r for r in requirements if r["outcome"] == "not_checked" and r["level"] == "MUST"]
    listed = "; ".join(
        f"{r['id']} {outcome_label('not_checked', r.get('reason'))}: {r['detail']}"
        for r in unchecked
    )
    if verdict == "conformant":
        return "CONFORMANT: every applicable MUST requirement was checked and passed."
    if verdict == "non-conformant":
        text = f"NON-CONFORMANT: MUST requirement(s) failed: {', '.join(failed)}."
        return text + (f" Also not checked: {listed}" if unchecked else "")
    if verdict == "incomplete":
        return (
            f"INCOMPLETE (exit 3): no MUST requirement failed, but {len(unchecked)} applicable"
            f" MUST requirement(s) were not checked, so nothing is certified. Not checked:"
            f" {listed}"
        )
    return f"NO VERDICT: {summary.get('reason') or 'the run could not reach a verdict'}"


def write_junit(path: Path, summary: Mapping[str, Any], summary_path: Path | None = None) -> Path:
    """Write ``path`` from ``summary``: one test case per requirement, then the verdict."""
    root = ET.Element("testsuites")
    suite = ET.SubElement(
        root,
        "testsuite",
        name="snapconform",
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"),
        time=str(summary.get("elapsed_seconds") or 0),
    )
    for r in summary["requirements"]:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"snapconform.{r['feature'].replace(' ', '_')}",
            name=f"{r['title']} [{r['id']}]",
            time="0",
        )
        if r["outcome"] == "failed":
            message = f"{r['id']}: {r['detail']}"
            ET.SubElement(
                case, "failure", message=message, type="snapconform.failed"
            ).text = message
        elif r["outcome"] in ("not_checked", "not_applicable"):
            label = outcome_label(r["outcome"], r.get("reason"))
            ET.SubElement(
                case, "skipped", message=f"{r['id']}: {label}: {r['detail']}", type="pytest.skip"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    annotate_junit(path, summary, summary_path)
    return path


def annotate_junit(
    path: Path, summary: Mapping[str, Any], summary_path: Path | None = None
) -> bool:
    """Add the verdict to the JUnit file at ``path``; False when there is none to annotate."""
    if not path.is_file():
        return False
    try:
        tree = ET.parse(path)
    except ET.ParseError:
        return False
    root = tree.getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return False
    _set_properties(suite, summary, summary_path)
    _findings_not_failures(suite, summary)
    _set_verdict_case(suite, summary)
    _set_suite_output(suite, summary)
    _recount(root, suite)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return True


def _set_properties(
    suite: ET.Element, summary: Mapping[str, Any], summary_path: Path | None
) -> None:
    properties = suite.find("properties")
    if properties is None:
        properties = ET.Element("properties")
        suite.insert(0, properties)
    for existing in list(properties):
        if existing.get("name", "").startswith(PROPERTY_PREFIX):
            properties.remove(existing)
    unchecked = ", ".join(
        f"{r['id']} [{r['level']}] ({r.get('reason')})"
        for r in summary["requirements"]
        if r["outcome"] == "not_checked"
    )
    findings = " | ".join(f"{r['id']}: {r['detail']}" for r in should_findings(summary))
    values = {
        "verdict": str(summary["verdict"]),
        "not_checked": unchecked or "none",
        "should_findings": findings or "none",
    }
    if summary_path is not None:
        values["summary"] = str(summary_path)
    for name, value in values.items():
        ET.SubElement(properties, "property", name=PROPERTY_PREFIX + name, value=value)


def should_findings(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The failed SHOULD requirements of ``summary`` (findings; the verdict ignores them)."""
    return [
        r for r in summary["requirements"] if r["outcome"] == "failed" and r["level"] == "SHOULD"
    ]


#: A requirement's test case: pytest names it ``test_requirement[ID]``, write_junit ``title [ID]``.
_REQUIREMENT_CASE = re.compile(r"\[([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+)\]$")


def requirement_of(case: ET.Element) -> str | None:
    """The requirement id a pytest test case judged (None: not a requirement's case)."""
    match = _REQUIREMENT_CASE.search(case.get("name", ""))
    return match.group(1) if match else None


def _findings_not_failures(suite: ET.Element, summary: Mapping[str, Any]) -> None:
    """A failed SHOULD requirement's ``<failure>`` becomes properties and system-out."""
    findings = {r["id"]: r for r in should_findings(summary)}
    for case in suite.findall("testcase"):
        finding = findings.get(requirement_of(case) or "")
        failure = case.find("failure")
        if finding is None or failure is None:
            continue
        case.remove(failure)
        properties = case.find("properties")
        if properties is None:
            properties = ET.Element("properties")
            case.insert(0, properties)
        for name, value in (
            ("level", "SHOULD"),
            ("outcome", "failed"),
            ("finding", str(finding["detail"])),
        ):
            ET.SubElement(properties, "property", name=PROPERTY_PREFIX + name, value=value)
        output = case.find("system-out")
        if output is None:
            output = ET.SubElement(case, "system-out")
        line = (
            f"SHOULD finding (not a failure: the verdict counts MUST requirements only):"
            f" {finding['id']}: {finding['detail']}"
        )
        output.text = line + ("\n" + output.text if output.text else "")


def _set_verdict_case(suite: ET.Element, summary: Mapping[str, Any]) -> None:
    for case in suite.findall("testcase"):
        if case.get("classname") == VERDICT_CLASSNAME and case.get("name") == VERDICT_NAME:
            suite.remove(case)
    verdict = str(summary["verdict"])
    if verdict == "non-conformant":
        return  # its failed MUST cases are its failures; the suite says the verdict
    case = ET.SubElement(
        suite, "testcase", classname=VERDICT_CLASSNAME, name=VERDICT_NAME, time="0"
    )
    message = verdict_message(summary)
    if verdict == "conformant":
        ET.SubElement(case, "system-out").text = message
    elif verdict == "error":
        ET.SubElement(case, "error", message=message, type="snapconform.no-verdict").text = message
    else:
        element = ET.SubElement(case, "failure", message=message, type=f"snapconform.{verdict}")
        element.text = message


#: The first line of the suite's system-out that this module writes (replaced when re-run).
_SUITE_OUTPUT_MARK = "snapconform verdict: "


def _set_suite_output(suite: ET.Element, summary: Mapping[str, Any]) -> None:
    for output in suite.findall("system-out"):
        if (output.text or "").startswith(_SUITE_OUTPUT_MARK):
            suite.remove(output)
    findings = should_findings(summary)
    lines = [_SUITE_OUTPUT_MARK + verdict_message(summary)]
    if findings:
        lines.append(f"{len(findings)} SHOULD finding(s) (not failures):")
        lines += [f"- {r['id']}: {r['detail']}" for r in findings]
    ET.SubElement(suite, "system-out").text = "\n".join(lines)


def _recount(root: ET.Element, suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    counts = {
        "tests": len(cases),
        "failures": sum(1 for c in cases if c.find("failure") is not None),
        "errors": sum(1 for c in cases if c.find("error") is not None),
        "skipped": sum(1 for c in cases if c.find("skipped") is not None),
    }
    for element in {id(root): root, id(suite): suite}.values():
        for name, value in counts.items():
            if element.get(name) is not None or element is suite:
                element.set(name, str(value))
