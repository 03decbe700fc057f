"""The rendered report in a real headless chromium, as a reviewer opens it.

Served over loopback http; driven by tests/report/browser/drive_report.mjs (playwright-core with
the system chromium). Screenshots stay in the test's temporary directory (pytest keeps the last
three runs' under its base temp; the path is printed).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from snapconform.cli import main as snapconform_main
from snapconform.report.render import AllureCli

REPO = Path(__file__).resolve().parents[2]
FAILED_TITLE = "FILTER-STATUS Every result matches the status filter"


def _rgb(css: str) -> tuple[int, int, int]:
    numbers = re.findall(r"[\d.]+", css)
    red, green, blue = (int(float(n)) for n in numbers[:3])
    return red, green, blue


@pytest.mark.slow
def test_reviewer_opens_the_failed_check_and_its_diff(
    sample_report: Path,
    allure_cli: AllureCli,
    chromium: Path,
    http_serve: Callable[[Path], Any],
    browser_drive: Callable[..., dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert snapconform_main(["report", "--report-dir", str(sample_report)]) == 0
    shots, profile = tmp_path / "shots", tmp_path / "chromium-profile"
    shots.mkdir()
    profile.mkdir()
    with http_serve(sample_report / "html") as base_url:
        seen = browser_drive(f"{base_url}/index.html", FAILED_TITLE, shots, profile, chromium)

    with capsys.disabled():
        print(f"\nreport screenshots: {shots}")

    assert seen.get("error") is None, seen.get("error")
    assert seen["status"] == 200
    assert seen["title"] == "snapconform conformance report"
    assert seen["pageErrors"] == []
    assert seen["offLoopback"] == [], "the report must not call out"
    # The requirement tree: endpoint, then feature, then requirement.
    tree = seen["tree"]
    for node in (
        "GET /api/snapservice/tasks",
        "filter semantics",
        "contract",
        "FILTER-STATUS: Every result matches the status filter",
        "BODY-SCHEMA: The body is a valid ListResult",
    ):
        assert node in tree
    assert tree.index("GET /api/snapservice/tasks") < tree.index("filter semantics")
    # The failed check: category, severity, labels, the exchange step, the counterexample.
    page = seen["testPage"]
    for fact in (
        "Failed",
        "Critical",
        "Category: semantic violation",
        "hypothesis_seed",
        "GET /api/snapservice/tasks?status=RUNNING -> 200 (3 items)",
        "minimal counterexample",
        "missing (expected, not returned):",
    ):
        assert fact in page, fact
    # Its diff: t-3 was expected and missing (red), t-9 returned unexpectedly (green).
    blocks = {block["text"].strip(): _rgb(block["color"]) for block in seen["diffBlocks"]}
    missing, unexpected = blocks["t-3"], blocks["t-9"]
    assert missing[0] > missing[1], f"missing id not marked red: {missing}"
    assert unexpected[1] > unexpected[0], f"unexpected id not marked green: {unexpected}"
    for name in ("report-tree.png", "failed-check.png", "failed-check-diff.png"):
        assert (shots / name).stat().st_size > 10_000
