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
from snapconform.engine.requirements import BY_ID
from snapconform.report.render import AllureCli

REPO = Path(__file__).resolve().parents[2]
SOUNDNESS, BODY = BY_ID["FILTER-SOUNDNESS"], BY_ID["CONTRACT-200-BODY"]
FAILED_TITLE = f"{SOUNDNESS.id} {SOUNDNESS.title}"  # the sample suite's failed set check


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
    assert seen["title"] == "snapconform: NON-CONFORMANT — 4 MUST failed — http://127.0.0.1:8080"
    assert seen["pageErrors"] == []
    assert seen["offLoopback"] == [], "the report must not call out"
    # The requirement tree: endpoint, then feature, then requirement.
    tree = seen["tree"]
    for node in (
        "GET /api/snapservice/tasks",
        "filter semantics",
        "contract",
        f"{SOUNDNESS.id}: {SOUNDNESS.title}",
        f"{BODY.id}: {BODY.title}",
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


def assert_verdict_on_first_screen(seen: dict[str, Any], verdict: str) -> None:
    """The verdict is the page title and in view, unscrolled, once the report has rendered."""
    assert seen.get("error") is None, seen.get("error")
    assert seen["pageErrors"] == [] and seen["offLoopback"] == []
    assert seen["title"].startswith(f"snapconform: {verdict} — "), seen["title"]
    assert seen["scrollY"] == 0, "the report must open at the top"
    assert seen["expectedInViewport"], seen["expectedBox"]
    assert verdict in seen["text"].split("GET /api/snapservice/tasks")[0]  # above the tree


@pytest.mark.slow
def test_a_passing_run_reports_conformant_on_the_first_screen_from_a_file(
    chromium: Path,
    allure_cli: AllureCli,
    first_screen: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    """A real (embedded, conformant) run, rendered, opened as a person does: double-clicking
    index.html (file://; it was a spinner before the single-file report)."""
    import os
    import subprocess
    import sys

    report_dir = tmp_path / "reports"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    run = subprocess.run(
        [sys.executable, "-m", "snapconform", "run", "--report-dir", str(report_dir),
         "--seed", "3", "--max-examples", "2"],
        capture_output=True, text=True, env=environ, cwd=tmp_path, timeout=900, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    assert snapconform_main(["report", "--report-dir", str(report_dir)]) == 0
    index = report_dir / "html" / "index.html"
    assert [p.name for p in index.parent.iterdir() if p.suffix in (".js", ".css")] == []
    seen = first_screen(
        index.as_uri(), "CONFORMANT", tmp_path / "first.png", tmp_path / "p", chromium
    )
    assert_verdict_on_first_screen(seen, "CONFORMANT")
    assert "no MUST failed" in seen["title"]


@pytest.mark.slow
def test_a_failing_run_reports_non_conformant_on_the_first_screen(
    sample_report: Path,
    allure_cli: AllureCli,
    chromium: Path,
    first_screen: Callable[..., dict[str, Any]],
    http_serve: Callable[[Path], Any],
    tmp_path: Path,
) -> None:
    assert snapconform_main(["report", "--report-dir", str(sample_report)]) == 0
    index = sample_report / "html" / "index.html"
    seen = first_screen(
        index.as_uri(), "NON-CONFORMANT", tmp_path / "f.png", tmp_path / "p1", chromium
    )
    assert_verdict_on_first_screen(seen, "NON-CONFORMANT")
    assert "4 MUST failed" in seen["title"]
    with http_serve(sample_report / "html") as base_url:  # served over http works too
        seen = first_screen(f"{base_url}/index.html", "NON-CONFORMANT", tmp_path / "h.png",
                            tmp_path / "p2", chromium)  # fmt: skip
    assert_verdict_on_first_screen(seen, "NON-CONFORMANT")
