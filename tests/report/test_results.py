"""Finishing allure-results: environment, categories, category per result, expected/actual."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from snapconform.report.results import (
    CATEGORIES,
    RunEnvironment,
    categories_document,
    classify,
    finalize_allure_results,
)

ENVIRONMENT = RunEnvironment(
    target="https://u:Secret-Passw0rd@127.0.0.1:8443",
    mode="controlled",
    api_version="8.0.3",
    seed=1234,
    harness_version="0.1.0",
)


def _results_by_requirement(results_dir: Path) -> dict[str, dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    for path in results_dir.glob("*-result.json"):
        result = json.loads(path.read_text())
        labels = {label["name"]: label["value"] for label in result["labels"]}
        by_id[labels["requirement_id"]] = result
    return by_id


def _category(result: dict[str, Any]) -> str | None:
    values = [label["value"] for label in result["labels"] if label["name"] == "category"]
    assert len(values) <= 1
    return values[0] if values else None


def test_environment_properties(sample_report: Path) -> None:
    results = sample_report / "allure-results"
    finalize_allure_results(results, ENVIRONMENT)
    lines = (results / "environment.properties").read_text().splitlines()
    assert lines == [
        "target=https://u:********@127.0.0.1:8443",
        "mode=controlled",
        "api_version=8.0.3",
        "seed=1234",
        "harness_version=0.1.0",
    ]


def test_categories_json_lists_the_seven_categories(sample_report: Path) -> None:
    results = sample_report / "allure-results"
    finalize_allure_results(results, None)
    document = json.loads((results / "categories.json").read_text())
    assert [c["name"] for c in document] == [
        "contract violation",
        "semantic violation",
        "auth",
        "target error",
        "uncertain",
        "not checked",
        "not applicable",
    ]
    assert document == categories_document()


def test_each_result_gets_its_category_label_and_message_tag(sample_report: Path) -> None:
    results = sample_report / "allure-results"
    assert finalize_allure_results(results, ENVIRONMENT) == 5
    by_id = _results_by_requirement(results)
    expected = {
        "FILTER-SOUNDNESS": "semantic violation",
        "CONTRACT-200-BODY": "contract violation",
        "CAP-OVER-LIMIT": "not checked",
        "FILTER-COMPLETENESS": "uncertain",
        "FILTER-EMPTY": None,
        "AUTH-WWW-AUTHENTICATE": None,
        "FAULT-503": "semantic violation",
    }
    for requirement_id, category in expected.items():
        result = by_id[requirement_id]
        assert _category(result) == category, requirement_id
        message = (result.get("statusDetails") or {}).get("message") or ""
        assert message.startswith(f"[{category}] ") == (category is not None), requirement_id


def test_failed_set_check_gets_expected_and_actual(sample_report: Path) -> None:
    results = sample_report / "allure-results"
    finalize_allure_results(results, None)
    details = _results_by_requirement(results)["FILTER-SOUNDNESS"]["statusDetails"]
    assert details["expected"] == "t-1\nt-2\nt-3"
    assert details["actual"] == "t-1\nt-2\nt-9"
    assert "expected" not in _results_by_requirement(results)["CONTRACT-200-BODY"]["statusDetails"]


def test_finishing_is_idempotent(sample_report: Path) -> None:
    results = sample_report / "allure-results"
    finalize_allure_results(results, ENVIRONMENT)
    snapshot = {p.name: p.read_bytes() for p in results.iterdir()}
    assert finalize_allure_results(results, ENVIRONMENT) == 0
    assert {p.name: p.read_bytes() for p in results.iterdir()} == snapshot


def test_classify_by_feature() -> None:
    def one(status: str, feature: str, message: str = "boom") -> str | None:
        category = classify(status, {"feature": [feature]}, message)
        return category.name if category else None

    assert one("failed", "contract") == "contract violation"
    assert one("failed", "fuzzing") == "contract violation"
    assert one("failed", "filter semantics") == "semantic violation"
    assert one("failed", "cap") == "semantic violation"
    assert one("failed", "faults") == "semantic violation"
    assert one("failed", "auth") == "auth"
    assert one("broken", "contract") == "target error"
    assert one("skipped", "cap", "uncertain: churn") == "uncertain"
    assert one("skipped", "cap", "budget exhausted") is None
    # the engine's skip messages (pytest_plugin.verify) say which kind of skip they are
    assert one("skipped", "cap", "CAP-AT-LIMIT: not checked (budget): spent") == "not checked"
    assert one("skipped", "cap", "Skipped: X-1: not checked (time): late") == "not checked"
    assert one("skipped", "faults", "FAULT-503: not applicable (mode): no") == "not applicable"
    assert one("skipped", "auth", "A: not checked (uncertain): uncertain: churn") == "uncertain"
    assert one("passed", "auth") is None
    # An explicit tag wins: a check may know better than its feature.
    assert one("failed", "filter semantics", "[auth] 401 without challenge") == "auth"
    assert len(CATEGORIES) == 7


def test_check_result_evidence_becomes_steps_and_a_diff(sample_report: Path) -> None:
    results = sample_report / "allure-results"
    finalize_allure_results(results, None)
    result = _results_by_requirement(results)["FAULT-503"]
    titles = [step["name"] for step in result["steps"]]
    assert titles[0] == "5 earlier exchanges not shown"
    assert titles[1:] == [
        f"GET /api/snapservice/tasks?tasks=t-{i} -> 200 (0 items)" for i in range(5, 25)
    ]
    names = [a["name"] for a in result["attachments"]]
    assert names == [
        "failed: detail",
        "task id diff (expected vs actual)",
        "expected task ids",
        "actual task ids",
        "minimal counterexample",
    ]
    assert result["statusDetails"]["expected"] == "t-1"
    assert result["statusDetails"]["actual"] == "t-1\nt-7\nt-8"
    labels = {label["name"]: label["value"] for label in result["labels"]}
    assert labels["hypothesis_seed"] == "99"


def test_each_attachment_file_is_named_by_one_attachment(sample_report: Path) -> None:
    """The Allure 3 report shows a source that a second attachment names as missing: equal
    bodies (the sample's responses repeat) each get a file of their own."""
    results = sample_report / "allure-results"
    sources: list[str] = []

    def collect(node: dict[str, Any]) -> None:
        sources.extend(attachment["source"] for attachment in node.get("attachments", []))
        for step in node.get("steps", []):
            collect(step)

    for path in results.glob("*-result.json"):
        collect(json.loads(path.read_text()))
    files = sorted(path.name for path in results.glob("*-attachment.*"))
    assert len(sources) > 20
    assert sorted(sources) == files
