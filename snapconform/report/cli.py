"""``snapconform report``: summary.md, the Allure HTML report, and run-to-run comparison.

    snapconform report [--report-dir DIR]              summary.md + DIR/html
    snapconform report --compare OLD_DIR [--report-dir NEW_DIR]

Exit codes: 0 done; 1 ``--compare`` found a regression; 2 bad input (no or invalid summary.json,
no results); 3 the environment lacks the Allure 3 CLI or it failed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from snapconform.report.compare import compare, load_comparable, render_comparison
from snapconform.report.render import RenderError, find_allure, generate_html, verdict_title
from snapconform.report.results import RunEnvironment, finalize_allure_results
from snapconform.report.summary import SummaryError, load_summary, write_markdown

EXIT_REGRESSION = 1
EXIT_BAD_INPUT = 2
#: A tool the HTML report needs is missing (summary.md is written anyway). Not 3: `run` uses 3
#: for an incomplete verdict, and a CI script reading both must not confuse them.
EXIT_ENVIRONMENT = 5
ALLURE_RESULTS = "allure-results"
HTML_DIR = "html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report-dir",
        dest="report_dir",
        metavar="DIR",
        help="the run's report directory (default: the report_dir setting, else ./reports)",
    )
    parser.add_argument(
        "--compare",
        metavar="OLD_DIR",
        type=Path,
        help="list the requirements whose outcome changed since the run in OLD_DIR "
        "(regressions first); exit 1 when there is a regression",
    )
    parser.add_argument(
        "--allure",
        metavar="PATH",
        type=Path,
        help="the Allure 3 `allure` executable (default: node_modules/.bin/allure, see `npm ci`)",
    )
    parser.add_argument(
        "--no-html", action="store_true", help="write summary.md only, skip the HTML report"
    )


def _report_dir(flag: str | None) -> Path:
    """The report directory, absolute (printed paths must work from anywhere)."""
    if flag:
        return Path(flag).absolute()
    from snapconform.settings import SettingsError, resolve_settings

    try:
        resolved = resolve_settings({}, os.environ, Path.cwd())
    except SettingsError:
        return Path("reports").absolute()
    return Path(resolved.values["report_dir"].value).absolute()


def _fail(message: str, code: int) -> int:
    print(f"snapconform report: {message}", file=sys.stderr)
    return code


def _compare(old_dir: Path, new_dir: Path) -> int:
    try:
        old, new = load_comparable(old_dir), load_comparable(new_dir)
    except SummaryError as error:
        return _fail(str(error), EXIT_BAD_INPUT)
    comparison = compare(old, new)
    sys.stdout.write(render_comparison(comparison))
    return EXIT_REGRESSION if comparison.regressions else 0


def main(args: argparse.Namespace) -> int:
    report_dir = _report_dir(args.report_dir)
    if args.compare is not None:
        return _compare(args.compare, report_dir)
    try:
        summary = load_summary(report_dir)
        markdown = write_markdown(report_dir)
    except SummaryError as error:
        return _fail(str(error), EXIT_BAD_INPUT)
    print(f"verdict: {summary.verdict}")
    print(f"summary: {markdown}")
    if args.no_html:
        return 0
    results_dir = report_dir / ALLURE_RESULTS
    if not results_dir.is_dir():
        return _fail(f"{results_dir} does not exist: `snapconform run` writes it", EXIT_BAD_INPUT)
    finalize_allure_results(results_dir, RunEnvironment.from_summary(summary.document))
    try:
        cli = find_allure(args.allure)
        index = generate_html(
            results_dir,
            report_dir / HTML_DIR,
            cli,
            report_name=verdict_title(summary.document),
            summary=summary.document,
        )
    except RenderError as error:
        return _fail(str(error), EXIT_ENVIRONMENT)
    print(f"html: {index} (Allure {cli.version}; one file: open it in a browser)")
    return 0
