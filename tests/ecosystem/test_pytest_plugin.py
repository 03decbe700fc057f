"""The `snapconform` pytest plugin: inert by default, progress events per test, xdist-safe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE_TESTS = """
import sys
import pytest

def test_passes():
    assert "snapconform.run.engine_plugin" not in sys.modules

@pytest.mark.requirement("SC-DEMO-FAIL", title="a failing demo")
def test_fails():
    assert False

def test_skips():
    pytest.skip("not applicable")

@pytest.fixture
def broken():
    raise RuntimeError("setup broke")

def test_errors(broken):
    pass
"""


PLUGIN = "snapconform.pytest_plugin"


def run_pytest(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SNAPCONFORM_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    (tmp_path / "test_sample.py").write_text(SAMPLE_TESTS)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    requirement: the requirement a test checks\n"
    )
    return tmp_path


def events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


IMPORTED_TEST = """
import sys

def test_imported_only_when_named(pytestconfig):
    named = "snapconform.pytest_plugin" in pytestconfig.invocation_params.args
    assert ("snapconform.pytest_plugin" in sys.modules) == named
"""


@pytest.mark.slow
def test_plugin_is_inert_without_snapconform_options(sample: Path) -> None:
    (sample / "test_imported.py").write_text(IMPORTED_TEST)
    for extra in ([], ["-p", PLUGIN]):
        result = run_pytest(sample, *extra, "-k", "passes or imported")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "2 passed" in result.stdout
    # no entry point: an unrelated pytest session does not even import the plugin
    assert "--snapconform-progress" not in run_pytest(sample, "--help").stdout
    assert "--snapconform-progress" in run_pytest(sample, "-p", PLUGIN, "--help").stdout


@pytest.mark.slow
def test_progress_events_for_each_outcome(sample: Path) -> None:
    progress = sample / "progress.jsonl"
    result = run_pytest(sample, "-p", PLUGIN, "--snapconform-progress", str(progress))
    assert result.returncode == 1, result.stdout + result.stderr
    got = events(progress)
    assert got[0] == {"event": "start", "total": 4}
    outcomes = {e["requirement"]: e["outcome"] for e in got if e["event"] == "outcome"}
    assert outcomes == {
        "test_passes": "passed",
        "SC-DEMO-FAIL": "failed",
        "test_skips": "skipped",
        "test_errors": "error",
    }
    checks = [e["requirement"] for e in got if e["event"] == "check"]
    assert sorted(checks) == sorted(outcomes)
    failed = next(
        e for e in got if e.get("requirement") == "SC-DEMO-FAIL" and e["event"] == "outcome"
    )
    assert failed["title"] == "a failing demo"


@pytest.mark.slow
def test_progress_under_xdist_reports_each_test_once(sample: Path) -> None:
    progress = sample / "progress.jsonl"
    result = run_pytest(sample, "-p", PLUGIN, "-n", "2", "--snapconform-progress", str(progress))
    assert result.returncode == 1, result.stdout + result.stderr
    got = events(progress)
    outcomes = sorted(str(e["requirement"]) for e in got if e["event"] == "outcome")
    assert outcomes == sorted(["test_passes", "SC-DEMO-FAIL", "test_skips", "test_errors"])
    starts = [e for e in got if e["event"] == "start"]
    assert starts and all(e["total"] == 4 for e in starts)  # one per worker, same collection
