"""The session guards of tests/conftest.py catch what they promise to catch.

Each case runs a throwaway project (this repository's tests/conftest.py next to one test) in a
pytest subprocess, as the outermost session: a test skipped for want of a CI-provided tool fails
the run under CI=true and names the tool, stays a skip locally; a test that writes into the
current directory fails the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")
INI = """[pytest]
markers =
    bindings: needs the bindings
    browser: needs chromium
    allure_cli: needs the Allure CLI
    plugin_suite: the plugin suite
"""
SKIPS_FOR_A_TOOL = """
import pytest

@pytest.fixture
def allure_cli():
    return "allure"

@pytest.fixture
def chromium():
    pytest.skip("chromium not installed (apt-get install -y chromium)")

def test_browser(allure_cli, chromium):
    pass

@pytest.mark.bindings
def test_bindings():
    pytest.skip("official bindings not importable: No module named 'com.vmware'")

def test_unrelated():
    pytest.skip("not applicable here")
"""
WRITES_INTO_CWD = """
from pathlib import Path

def test_writes():
    Path("leftover.json").write_text("{}")
"""


def run_project(tmp_path: Path, test_source: str, ci: str | None) -> tuple[int, str]:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    shutil.copy(CONFTEST, project / "tests" / "conftest.py")
    (project / "pytest.ini").write_text(INI)
    (project / "tests" / "test_case.py").write_text(test_source)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "SNAPCONFORM_", "SCTESTS_")) and k != "CI"
    }
    if ci is not None:
        env["CI"] = ci
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


def test_a_tool_skip_fails_under_ci_and_names_the_tool(tmp_path: Path) -> None:
    code, out = run_project(tmp_path, SKIPS_FOR_A_TOOL, ci="true")
    assert code == 1, out
    assert "session guards failed" in out
    assert "missing chromium with node and playwright-core" in out
    assert "chromium not installed" in out  # the skip's own reason, naming the exact piece
    assert "missing the official VMware bindings" in out
    assert "No module named 'com.vmware'" in out
    assert "Allure" not in out.split("session guards failed")[1].split("short test summary")[0]
    guard_section = out.split("session guards failed")[1].split("short test summary")[0]
    assert "not applicable here" not in guard_section  # a skip of no tool's is no failure


@pytest.mark.parametrize("ci", [None, "false"])
def test_locally_a_tool_skip_stays_a_skip(tmp_path: Path, ci: str | None) -> None:
    code, out = run_project(tmp_path, SKIPS_FOR_A_TOOL, ci=ci)
    assert code == 0, out
    assert "3 skipped" in out and "chromium not installed" in out
    assert "session guards failed" not in out


def test_a_test_writing_into_the_current_directory_fails_the_run(tmp_path: Path) -> None:
    code, out = run_project(tmp_path, WRITES_INTO_CWD, ci=None)
    assert code == 1, out
    assert "wrote into the checkout or the current directory" in out
    assert "created " in out and "leftover.json" in out
