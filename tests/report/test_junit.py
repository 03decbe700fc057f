"""junit.xml: its failures are exactly the failed MUST requirements; SHOULD findings are read,
not failed.

A CI test tab shows a ``<failure>`` as red. A conformant run (every applicable MUST passed) must
be green there even when a SHOULD requirement found something: that finding goes to the test
case's ``<properties>`` and ``<system-out>`` and the suite's ``snapconform.should_findings``. A
non-conformant run's failures are its failed MUST requirements, no more and no fewer.

The unit tests annotate a pytest-shaped file; the slow ones run ``snapconform run`` against two
mutants: ``auth-no-challenge`` (a SHOULD deviation: conformant) and ``auth-401-403-swapped`` (MUST
deviations: non-conformant).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snapconform.report.junit import annotate_junit, requirement_of
from tests.report.conftest import make_summary

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 900


def _pytest_junit(path: Path, summary: dict[str, Any]) -> None:
    """What pytest writes for ``summary``'s rows: a failure per failed one, a skip per undecided."""
    root = ET.Element("testsuites")
    suite = ET.SubElement(root, "testsuite", name="pytest", tests=str(len(summary["requirements"])))
    for row in summary["requirements"]:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="snapconform._suite.test_x",
            name=f"test_requirement[{row['id']}]",
            time="0.1",
        )
        if row["outcome"] == "failed":
            ET.SubElement(case, "failure", message=f"{row['id']}: {row['detail']}").text = "x"
        elif row["outcome"] in ("not_checked", "not_applicable"):
            ET.SubElement(case, "skipped", message=f"{row['id']}: skipped")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _suite(path: Path) -> ET.Element:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return suite


def _failed_cases(suite: ET.Element) -> set[str]:
    return {
        requirement_of(case) or str(case.get("name"))
        for case in suite.findall("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    }


def _suite_properties(suite: ET.Element) -> dict[str, str]:
    properties = suite.find("properties")
    assert properties is not None
    return {str(p.get("name")): str(p.get("value")) for p in properties.findall("property")}


def _case(suite: ET.Element, requirement_id: str) -> ET.Element:
    (case,) = [c for c in suite.findall("testcase") if requirement_of(c) == requirement_id]
    return case


def _assert_findings_are_read_not_failed(suite: ET.Element, summary: dict[str, Any]) -> None:
    findings = [
        r for r in summary["requirements"] if r["outcome"] == "failed" and r["level"] == "SHOULD"
    ]
    for row in findings:
        case = _case(suite, row["id"])
        assert case.find("failure") is None and case.find("error") is None, row["id"]
        properties = case.find("properties")
        assert properties is not None, row["id"]
        values = {p.get("name"): p.get("value") for p in properties.findall("property")}
        assert values["snapconform.level"] == "SHOULD"
        assert values["snapconform.finding"] == row["detail"]
        output = case.find("system-out")
        assert output is not None and row["detail"] in str(output.text)
        assert row["id"] in _suite_properties(suite)["snapconform.should_findings"]
    counted = int(suite.get("failures", "-1")), int(suite.get("errors", "-1"))
    assert counted == (len(_failed_cases(suite)), 0) or summary["verdict"] == "error"


def test_a_conformant_run_with_a_should_finding_has_no_failure(tmp_path: Path) -> None:
    summary = make_summary(
        requirements=[
            ("FILTER-EMPTY", "MUST", "passed"),
            ("AUTH-CHALLENGE", "SHOULD", "failed"),
            ("AUTH-WWW-AUTHENTICATE", "SHOULD", "failed"),
            ("CONTRACT-BINDINGS", "SHOULD", "not_checked"),
        ]
    )
    assert summary["verdict"] == "conformant"
    path = tmp_path / "junit.xml"
    _pytest_junit(path, summary)
    assert annotate_junit(path, summary)
    suite = _suite(path)
    assert _failed_cases(suite) == set()
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
    _assert_findings_are_read_not_failed(suite, summary)
    output = suite.find("system-out")
    assert output is not None and "2 SHOULD finding(s)" in str(output.text)
    # idempotent: a second annotation changes nothing
    before = path.read_bytes()
    assert annotate_junit(path, summary)
    assert path.read_bytes() == before


def test_a_non_conformant_runs_failures_are_its_failed_must_requirements(tmp_path: Path) -> None:
    summary = make_summary(
        requirements=[
            ("FILTER-EMPTY", "MUST", "passed"),
            ("FILTER-SOUNDNESS", "MUST", "failed"),
            ("CONTRACT-200-BODY", "MUST", "failed"),
            ("AUTH-CHALLENGE", "SHOULD", "failed"),
            ("CONTRACT-BINDINGS", "SHOULD", "not_checked"),
        ]
    )
    assert summary["verdict"] == "non-conformant"
    path = tmp_path / "junit.xml"
    _pytest_junit(path, summary)
    assert annotate_junit(path, summary)
    suite = _suite(path)
    assert _failed_cases(suite) == {"FILTER-SOUNDNESS", "CONTRACT-200-BODY"}
    assert suite.get("failures") == "2"
    _assert_findings_are_read_not_failed(suite, summary)
    assert _suite_properties(suite)["snapconform.verdict"] == "non-conformant"


def test_an_incomplete_run_is_one_failure_naming_what_was_not_checked(tmp_path: Path) -> None:
    summary = make_summary(
        requirements=[
            ("FILTER-EMPTY", "MUST", "passed"),
            ("FILTER-SOUNDNESS", "MUST", "not_checked"),
            ("AUTH-CHALLENGE", "SHOULD", "failed"),
        ]
    )
    assert summary["verdict"] == "incomplete"
    path = tmp_path / "junit.xml"
    _pytest_junit(path, summary)
    assert annotate_junit(path, summary)
    suite = _suite(path)
    assert _failed_cases(suite) == {"verdict"}
    _assert_findings_are_read_not_failed(suite, summary)


# --- real runs --------------------------------------------------------------------------------


def _run_against(mutant_name: str, report_dir: Path) -> dict[str, Any]:
    from snapconform.mutants import get
    from snapconform.server.runner import serve_in_thread

    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    handle = serve_in_thread(get(mutant_name).server_config())
    try:
        completed = subprocess.run(
            [
                sys.executable, "-m", "snapconform", "run",
                "--base-url", handle.base_url, "--control-url", handle.control_url,
                "--report-dir", str(report_dir), "--seed", "3", "--max-examples", "5",
            ],
            capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False, cwd=REPO, env=env,
        )  # fmt: skip
    finally:
        handle.stop()
    assert (report_dir / "summary.json").is_file(), completed.stdout[-3000:] + completed.stderr
    summary: dict[str, Any] = json.loads((report_dir / "summary.json").read_text("utf-8"))
    return summary


@pytest.fixture(scope="module")
def no_challenge_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    report_dir = tmp_path_factory.mktemp("no-challenge")
    _run_against("auth-no-challenge", report_dir)
    yield report_dir


@pytest.mark.slow
def test_a_conformant_run_against_a_should_mutant_is_green_in_junit(
    no_challenge_run: Path,
) -> None:
    summary = json.loads((no_challenge_run / "summary.json").read_text("utf-8"))
    assert summary["verdict"] == "conformant"
    failed = {r["id"] for r in summary["requirements"] if r["outcome"] == "failed"}
    assert "AUTH-CHALLENGE" in failed  # the mutant's SHOULD deviation was found
    suite = _suite(no_challenge_run / "junit.xml")
    assert _failed_cases(suite) == set()
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
    _assert_findings_are_read_not_failed(suite, summary)


@pytest.mark.slow
def test_a_non_conformant_runs_junit_failures_are_exactly_its_must_failures(
    tmp_path: Path,
) -> None:
    summary = _run_against("auth-401-403-swapped", tmp_path)
    assert summary["verdict"] == "non-conformant"
    must_failed = {
        r["id"]
        for r in summary["requirements"]
        if r["outcome"] == "failed" and r["level"] == "MUST"
    }
    assert must_failed
    suite = _suite(tmp_path / "junit.xml")
    assert _failed_cases(suite) == must_failed
    assert suite.get("failures") == str(len(must_failed)) and suite.get("errors") == "0"
    _assert_findings_are_read_not_failed(suite, summary)
