"""Rendering DIR/html with the Allure 3 CLI, and the errors when it is missing."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from snapconform.cli import main as snapconform_main
from snapconform.report.render import (
    ALLURE_ENV,
    AllureCli,
    RenderError,
    embedded_files,
    find_allure,
    generate_html,
    strip_analytics,
)


def test_named_executable_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(
        RenderError, match=r"does not exist; the Allure 3 CLI is not installed.*npm ci"
    ):
        find_allure(tmp_path / "allure")


def test_named_executable_that_is_not_allure_3(tmp_path: Path) -> None:
    fake = tmp_path / "allure"
    fake.write_text("#!/bin/sh\necho 2.27.0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(RenderError, match=r"is not the Allure 3 CLI \(2\.27\.0\)"):
        find_allure(fake)


def test_environment_variable_names_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "allure"
    fake.write_text("#!/bin/sh\necho 3.99.1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(ALLURE_ENV, str(fake))
    assert find_allure() == AllureCli(fake, "3.99.1")


def test_report_without_the_cli_says_how_to_install(
    sample_report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = snapconform_main(
        ["report", "--report-dir", str(sample_report), "--allure", str(tmp_path / "missing")]
    )
    assert code == 5  # not 3, which `run` uses for an incomplete verdict
    captured = capsys.readouterr()
    assert "npm ci" in captured.err and "Traceback" not in captured.err
    assert (sample_report / "summary.md").is_file()  # the summary does not need the CLI


def test_report_without_results_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "summary.json").write_text(
        json.dumps(
            {
                "verdict": "error",
                "target": "http://127.0.0.1:1",
                "mode": "observed",
                "api_version": "8.0.3",
                "seed": None,
                "requests": 0,
                "reason": "cannot connect",
                "requirements": [],
            }
        )
    )
    assert snapconform_main(["report", "--report-dir", str(tmp_path)]) == 2
    assert "allure-results does not exist" in capsys.readouterr().err


def test_analytics_scripts_are_removed(tmp_path: Path) -> None:
    index = tmp_path / "index.html"
    index.write_text(
        '<head><script src="app.js"></script>\n'
        '    <script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>\n'
        "    <script>\n        window.dataLayer = window.dataLayer || [];\n"
        "        function gtag(){dataLayer.push(arguments);}\n        gtag('js', new Date());\n"
        "    </script>\n    <script async>window.allureReportDataReady = true;</script></head>"
    )
    assert strip_analytics(index) is True
    page = index.read_text()
    assert "googletagmanager" not in page and "gtag" not in page
    assert '<script src="app.js"></script>' in page and "allureReportDataReady" in page
    assert strip_analytics(index) is False


def test_report_renders_html(
    sample_report: Path, allure_cli: AllureCli, capsys: pytest.CaptureFixture[str]
) -> None:
    assert snapconform_main(["report", "--report-dir", str(sample_report)]) == 0
    out = capsys.readouterr().out
    index = sample_report / "html" / "index.html"
    assert f"html: {index}" in out
    page = index.read_text()
    # the verdict is the report's name; one self-contained page (it opens from file://)
    assert "<title> snapconform: NON-CONFORMANT — 3 MUST failed — http://127.0.0.1:8080" in page
    assert "googletagmanager" not in page
    assert 'id="snapconform-open-at-top"' in page
    assert not (sample_report / "html" / "data").exists()
    rendered = "".join(embedded_files(index).values())
    for expected in ("semantic violation", "FILTER-SOUNDNESS", "GET /api/snapservice/tasks"):
        assert expected in rendered


def test_rendering_replaces_an_old_report(sample_report: Path, allure_cli: AllureCli) -> None:
    stale = sample_report / "html" / "stale.txt"
    stale.parent.mkdir()
    stale.write_text("from an older run")
    generate_html(sample_report / "allure-results", sample_report / "html", allure_cli)
    assert not stale.exists()


def test_empty_results_are_refused(tmp_path: Path, allure_cli: AllureCli) -> None:
    (tmp_path / "allure-results").mkdir()
    with pytest.raises(RenderError, match="holds no Allure test results"):
        generate_html(tmp_path / "allure-results", tmp_path / "html", allure_cli)


def test_cli_is_found_from_another_directory(
    allure_cli: AllureCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ALLURE_ENV, raising=False)
    found = find_allure()
    assert found.version == allure_cli.version
    assert os.access(found.executable, os.X_OK)


@pytest.mark.parametrize("flag", [["--report-dir", "reports"], []], ids=["relative", "default"])
def test_report_from_a_relative_report_dir(
    sample_results: Path,
    allure_cli: AllureCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flag: list[str],
) -> None:
    """The README's `snapconform report` in a project directory: `reports/` is relative to the
    user's cwd, while the Allure CLI runs in a scratch directory of its own."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(sample_results, project / "reports")
    monkeypatch.chdir(project)
    for name in ("SNAPCONFORM_REPORT_DIR", "SNAPCONFORM_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    code = snapconform_main(["report", "--allure", str(allure_cli.executable), *flag])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    index = project / "reports" / "html" / "index.html"
    assert index.is_file()
    # every path the command prints is absolute, so it can be opened from anywhere
    assert f"summary: {project / 'reports' / 'summary.md'}" in captured.out
    assert str(index) in captured.out


@pytest.mark.parametrize(
    ("summary", "title"),
    [
        ({"verdict": "conformant", "requirements": [{"outcome": "passed", "level": "MUST"}]},
         "snapconform: CONFORMANT — 1 of 1 requirements passed, no MUST failed — http://h"),
        ({"verdict": "non-conformant", "requirements": [
            {"outcome": "failed", "level": "MUST"}, {"outcome": "failed", "level": "SHOULD"}]},
         "snapconform: NON-CONFORMANT — 1 MUST failed — http://h"),
        ({"verdict": "error", "reason": "cannot connect", "requirements": []},
         "snapconform: NO VERDICT — cannot connect — http://h"),
    ],
)  # fmt: skip
def test_the_report_is_named_by_its_verdict(summary: dict, title: str) -> None:
    from snapconform.report.render import verdict_title

    shown = verdict_title({**summary, "target": "http://user:pw@h"})
    assert shown == title.replace("http://h", "http://user:********@h")  # no password
