"""The `snapconform` pytest plugin: inert by default; under xdist it refuses in one line."""

from __future__ import annotations

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
    assert "--snapconform-base-url" not in run_pytest(sample, "--help").stdout
    helped = run_pytest(sample, "-p", PLUGIN, "--snapconform-seed", "1", "--help").stdout
    assert "--snapconform-base-url" in helped and "--snapconform-max-requests" in helped


@pytest.mark.slow
def test_under_xdist_the_suite_refuses_in_one_line_and_sends_nothing(sample: Path) -> None:
    # every worker would open its own session: the budget and the rate limit would multiply
    result = run_pytest(sample, "-p", PLUGIN, "-n", "2", "--snapconform-seed", "1")
    assert result.returncode == 4, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if "snapconform" in line]
    assert len(lines) == 1 and "cannot run under pytest-xdist" in lines[0], result.stderr
    assert "passed" not in result.stdout
    # without a snapconform option the plugin is inert, and the team's own tests use xdist
    own = run_pytest(sample, "-p", PLUGIN, "-n", "2", "-k", "passes")
    assert own.returncode == 0 and "1 passed" in own.stdout, own.stdout + own.stderr
