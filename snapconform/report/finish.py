"""The runner's one call after the run: finish allure-results, write junit.xml and summary.md.

    from snapconform.report.finish import finish_run
    finish_run(report_dir)   # after summary.json is written

It never raises for a missing ``allure-results`` (a run with no verdict may have none).
"""

from __future__ import annotations

from pathlib import Path

from snapconform.report.junit import write_junit
from snapconform.report.results import RunEnvironment, finalize_allure_results
from snapconform.report.summary import load_summary, write_markdown

ALLURE_RESULTS = "allure-results"
JUNIT_XML = "junit.xml"


def finish_run(report_dir: Path) -> Path:
    """Finish ``report_dir`` of a run whose summary.json is written; return summary.md's path."""
    summary = load_summary(report_dir)
    results = report_dir / ALLURE_RESULTS
    if results.is_dir():
        finalize_allure_results(results, RunEnvironment.from_summary(summary.document))
    write_junit(report_dir / JUNIT_XML, summary.document, summary.path)
    return write_markdown(report_dir)
