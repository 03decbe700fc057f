"""A real `snapconform run` against a broken server, then `snapconform report`.

The server ignores the ``status`` filter and accepts any password (realistic mock bugs; the
password one is caught deterministically, the filter one depends on the examples drawn) and
records every secret it sees on the wire: each password that logs in, each Authorization value
and each session id it issues. After the run and the report, no file under the report
directory may contain any of them in any form (raw, Basic token, URL-encoded, JSON-escaped,
HTML-escaped, base64, UTF-16).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from snapconform.report.redaction import MIN_SECRET_LENGTH, scan_report_dir, secret_forms
from snapconform.report.render import AllureCli

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 900
ALWAYS_FAILING = "AUTH-WRONG-PASSWORD"
CATEGORY_OF_FEATURE = {"filter semantics": "semantic violation", "auth": "auth"}


def _behaviour() -> Any:
    from snapconform.server.behaviour import Behaviour

    class Recording(Behaviour):
        name = "ignores-status-filter-accepts-any-password"

        def __init__(self) -> None:
            self.seen: set[str] = set()

        def field_matches(self, field_name: str, wanted: Sequence[str], actual: Any) -> bool:
            if field_name == "status":
                return True
            return super().field_matches(field_name, wanted, actual)

        def password_ok(self, principal: Any, password: str) -> bool:
            self.seen.add(password)
            return True

        def authenticate(self, runtime: Any, headers: Mapping[str, str]) -> Any:
            for name, value in headers.items():
                if name.lower() in {"authorization", "vmware-api-session-id"}:
                    self.seen.add(value)
                    self.seen.add(value.split(" ", 1)[-1])
            return super().authenticate(runtime, headers)

        def login(self, snapshot: Any, username: str, password: str) -> Any:
            self.seen.add(password)
            return super().login(snapshot, username, password)

        def create_session(self, runtime: Any, headers: Mapping[str, str]) -> Any:
            reply = super().create_session(runtime, headers)
            if reply.status == 201 and reply.body:
                self.seen.add(json.loads(reply.body))
            return reply

    return Recording()


@dataclass(frozen=True)
class MutantRun:
    report_dir: Path
    run: subprocess.CompletedProcess[str]
    report: subprocess.CompletedProcess[str]
    secrets: frozenset[str] = field(repr=False)
    sessions_issued: int = 0


@pytest.fixture(scope="module")
def mutant_run(
    tmp_path_factory: pytest.TempPathFactory, allure_cli: AllureCli
) -> Iterator[MutantRun]:
    from snapconform.server.app import ServerConfig
    from snapconform.server.runner import serve_in_thread

    behaviour = _behaviour()
    report_dir = tmp_path_factory.mktemp("mutant-run") / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    # 9.0: the run logs in with sessions, whose ids the secret scan looks for.
    handle = serve_in_thread(ServerConfig(behaviour=behaviour, seed=7, api_version="9.0"))
    try:
        run = subprocess.run(
            [
                sys.executable, "-m", "snapconform", "run",
                "--base-url", handle.base_url, "--control-url", handle.control_url,
                "--report-dir", str(report_dir), "--seed", "42", "--max-examples", "5",
                "--api-version", "9.0",
            ],
            capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False, cwd=REPO, env=env,
        )  # fmt: skip
    finally:
        handle.stop()
    report = subprocess.run(
        [sys.executable, "-m", "snapconform", "report", "--report-dir", str(report_dir)],
        capture_output=True, text=True, timeout=300, check=False, cwd=REPO, env=env,
    )  # fmt: skip
    sessions = sum(1 for s in behaviour.seen if len(s) == 40)
    yield MutantRun(report_dir, run, report, frozenset(behaviour.seen), sessions)


@pytest.mark.slow
def test_the_mutant_is_non_conformant_and_reported(mutant_run: MutantRun) -> None:
    assert mutant_run.run.returncode == 1, mutant_run.run.stdout[-3000:] + mutant_run.run.stderr
    assert mutant_run.report.returncode == 0, mutant_run.report.stderr
    summary = json.loads((mutant_run.report_dir / "summary.json").read_text())
    outcomes = {r["id"]: r["outcome"] for r in summary["requirements"]}
    assert outcomes[ALWAYS_FAILING] == "failed"
    markdown = (mutant_run.report_dir / "summary.md").read_text()
    assert markdown.startswith("## snapconform: ❌ NON-CONFORMANT")
    assert f"| `{ALWAYS_FAILING}` " in markdown
    assert (mutant_run.report_dir / "junit.xml").is_file()
    assert (mutant_run.report_dir / "html" / "index.html").is_file()
    properties = (mutant_run.report_dir / "allure-results" / "environment.properties").read_text()
    assert "mode=controlled" in properties and "seed=42" in properties


@pytest.mark.slow
def test_no_secret_reaches_any_report_file(mutant_run: MutantRun) -> None:
    secrets = sorted(s for s in mutant_run.secrets if len(s) >= MIN_SECRET_LENGTH)
    # Not vacuous: the harness logged in and held sessions during the run.
    assert mutant_run.sessions_issued >= 1
    assert any(s.startswith("Sc-") for s in secrets), "no harness password was seen"
    files = [p for p in mutant_run.report_dir.rglob("*") if p.is_file()]
    assert len(files) > 20
    leaks = scan_report_dir(mutant_run.report_dir, secret_forms(secrets))
    assert leaks == [], "\n".join(str(leak) for leak in leaks[:20])


@pytest.mark.slow
def test_failed_check_of_the_mutant_run_opens_in_the_browser(
    mutant_run: MutantRun,
    chromium: Path,
    http_serve: Any,
    browser_drive: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from snapconform.engine.requirements import CATALOGUE

    summary = json.loads((mutant_run.report_dir / "summary.json").read_text())
    failed = {r["id"] for r in summary["requirements"] if r["outcome"] == "failed"}
    # The filter bug's check if it was caught (its page shows the most), else the cap's.
    chosen = "FILTER-SOUNDNESS" if "FILTER-SOUNDNESS" in failed else ALWAYS_FAILING
    requirement = next(r for r in CATALOGUE if r.id == chosen)
    title = f"{requirement.id} {requirement.title}"  # the test, under its "ID: title" story
    shots, profile = tmp_path / "shots", tmp_path / "profile"
    shots.mkdir()
    profile.mkdir()
    with http_serve(mutant_run.report_dir / "html") as base_url:
        seen = browser_drive(f"{base_url}/index.html", title, shots, profile, chromium, "nodiff")
    with capsys.disabled():
        print(f"\nmutant-run report screenshots: {shots}")
    assert seen.get("error") is None, seen.get("error")
    assert seen["offLoopback"] == [] and seen["pageErrors"] == []
    assert "GET /api/snapservice/tasks" in seen["tree"]
    assert requirement.feature in seen["tree"]
    page = seen["testPage"]
    assert f"Category: {CATEGORY_OF_FEATURE[requirement.feature]}" in page
    assert "Critical" in page
    assert "GET /api/snapservice/" in page and " -> " in page  # the exchanges are steps
    assert "reproduce: curl" in page


@pytest.mark.slow
def test_the_mutant_runs_report_says_non_conformant_first(
    mutant_run: MutantRun, chromium: Path, first_screen: Any, tmp_path: Path
) -> None:
    """A real failing run's report, double-clicked: the verdict, not a percentage, on top."""
    from tests.report.test_browser import assert_verdict_on_first_screen

    index = mutant_run.report_dir / "html" / "index.html"
    summary = json.loads((mutant_run.report_dir / "summary.json").read_text(encoding="utf-8"))
    first_failed = next(
        r["id"]
        for r in summary["requirements"]
        if r["outcome"] == "failed" and r["level"] == "MUST"
    )
    seen = first_screen(
        index.as_uri(), "NON-CONFORMANT", tmp_path / "s.png", tmp_path / "p", chromium
    )
    assert_verdict_on_first_screen(seen, "NON-CONFORMANT", first_failed)
    assert " MUST failed — " in seen["title"]
