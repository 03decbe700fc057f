"""Fixtures of the report tests: a sample Allure run, summaries, the Allure CLI, chromium, http."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from snapconform.engine.requirements import BY_ID
from snapconform.engine.verdicts import verdict_of
from snapconform.report.render import AllureCli, RenderError, find_allure

REPO = Path(__file__).resolve().parents[2]
#: The sample suite's failing filter check (a set difference), as its title appears in the report.
SAMPLE_FAILED = BY_ID["FILTER-SOUNDNESS"]
SAMPLE_FAILED_TITLE = f"{SAMPLE_FAILED.id} {SAMPLE_FAILED.title}"
SAMPLE_SECRET = "Sample-Secret-7f3c9a!"


#: The reason a sample row gets for its outcome (summary.schema.json: null when decided).
DEFAULT_REASONS = {"not_checked": "budget", "not_applicable": "mode"}


def make_summary(**overrides: Any) -> dict[str, Any]:
    """A valid summary.json document; ``requirements`` as (id, level, outcome) or full dicts.

    The default rows are requirements of the catalogue, with their own titles and levels.
    """
    requirements = overrides.pop(
        "requirements",
        [
            ("FILTER-EMPTY", "MUST", "passed"),
            ("FILTER-SOUNDNESS", "MUST", "failed"),
            ("CONTRACT-200-BODY", "MUST", "failed"),
            ("AUTH-WWW-AUTHENTICATE", "SHOULD", "passed"),
            ("CONTRACT-BINDINGS", "SHOULD", "not_checked"),
        ],
    )
    for r in requirements:
        if not isinstance(r, dict) and r[0] in BY_ID:  # a catalogue id keeps its own level
            assert r[1] == BY_ID[r[0]].level, f"{r[0]} is {BY_ID[r[0]].level}, not {r[1]}"
    rows = [
        {"reason": DEFAULT_REASONS.get(r["outcome"]), **r}
        if isinstance(r, dict)
        else {
            "id": r[0],
            "title": BY_ID[r[0]].title if r[0] in BY_ID else f"title of {r[0]}",
            "level": r[1],
            "outcome": r[2],
            "reason": DEFAULT_REASONS.get(r[2]),
            "detail": f"evidence of {r[0]}",
        }
        for r in requirements
    ]
    document = {
        "verdict": verdict_of(rows),
        "target": "http://127.0.0.1:8080",
        "mode": "controlled",
        "api_version": "8.0.3",
        "seed": 1234,
        "requests": 42,
        "requirements": rows,
    }
    document.update(overrides)
    return document


@pytest.fixture
def write_summary() -> Callable[..., Path]:
    """``write_summary(dir, **overrides)``: a summary.json in ``dir``; returns ``dir``."""

    def write(directory: Path, **overrides: Any) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "summary.json").write_text(json.dumps(make_summary(**overrides)))
        return directory

    return write


@pytest.fixture(scope="session")
def sample_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report directory holding the raw results of the sample (3 fail, 2 pass, 2 skip).

    Tests copy it before changing it.
    """
    from tests.report.sample.sample_suite import write_sample_results

    report_dir = tmp_path_factory.mktemp("sample-run")
    write_sample_results(report_dir / "allure-results", SAMPLE_SECRET)
    (report_dir / "summary.json").write_text(
        json.dumps(
            make_summary(
                requirements=[
                    ("FILTER-EMPTY", "MUST", "passed"),
                    ("FILTER-SOUNDNESS", "MUST", "failed"),
                    ("CONTRACT-200-BODY", "MUST", "failed"),
                    ("AUTH-WWW-AUTHENTICATE", "SHOULD", "passed"),
                    ("CAP-OVER-LIMIT", "MUST", "not_checked"),
                    ("FILTER-COMPLETENESS", "MUST", "not_checked"),
                    ("FAULT-503", "MUST", "failed"),
                ]
            )
        )
    )
    return report_dir


@pytest.fixture
def sample_report(sample_results: Path, tmp_path: Path) -> Path:
    """A private copy of the sample run's report directory."""
    copy = tmp_path / "report"
    shutil.copytree(sample_results, copy)
    return copy


@pytest.fixture(scope="session")
def allure_cli() -> AllureCli:
    try:
        return find_allure()
    except RenderError as error:
        pytest.skip(f"Allure 3 CLI not installed (`npm ci` installs it): {error}")


@pytest.fixture(scope="session")
def chromium() -> Path:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium not installed (apt-get install -y chromium; .ci/run installs it)")
    if not (REPO / "node_modules" / "playwright-core").is_dir():
        pytest.skip("playwright-core not installed (`npm ci` installs it)")
    if shutil.which("node") is None:
        pytest.skip("node not installed")
    return Path(found)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` over http on an ephemeral loopback port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name="report-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def http_serve() -> Callable[[Path], Any]:
    return serve_directory


DRIVER = Path(__file__).parent / "browser" / "drive_report.mjs"
BROWSER_TIMEOUT_S = 120


def drive_report(
    url: str, title: str, shots: Path, profile: Path, chromium: Path, mode: str = "diff"
) -> dict[str, Any]:
    """Open ``url`` in chromium, read the tree, open the check titled ``title`` (and its diff)."""
    completed = subprocess.run(
        ["node", str(DRIVER), url, title, str(shots), str(profile), mode],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_S,
        check=False,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "CHROMIUM": str(chromium), "HOME": str(profile)},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


@pytest.fixture
def browser_drive() -> Callable[..., dict[str, Any]]:
    return drive_report


FIRST_SCREEN = Path(__file__).parent / "browser" / "first_screen.mjs"


def read_first_screen(
    url: str, expected: str, shot: Path, profile: Path, chromium: Path
) -> dict[str, Any]:
    """Open ``url`` in chromium as a person does; the title, the scroll position once rendered,
    whether ``expected`` is inside the first screen, and the page text."""
    completed = subprocess.run(
        ["node", str(FIRST_SCREEN), url, expected, str(shot), str(profile)],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_S,
        check=False,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "CHROMIUM": str(chromium), "HOME": str(profile)},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


@pytest.fixture
def first_screen() -> Callable[..., dict[str, Any]]:
    return read_first_screen
