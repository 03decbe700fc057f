"""`pytest -p snapconform.pytest_plugin --snapconform-...`: the suite inside any pytest session.

End to end, in a foreign directory (not this repository's pytest configuration): the group marker
selects the cap requirements, a faithful reference server passes them, a server without the cap
fails them, and pytest-xdist splits the suite between workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from snapconform.engine.requirements import CATALOGUE
from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour
from snapconform.server.runner import ServerHandle, serve_in_thread

pytestmark = [pytest.mark.slow, pytest.mark.plugin_suite]


class NoCap(Behaviour):
    """Answers 200 with every match, however many: the 1000-task cap is never applied."""

    def exceeds_cap(self, result: object, store: object) -> bool:
        return False


def run_suite(
    directory: Path, *args: str, group: str = "snapconform_cap or mine"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SNAPCONFORM_"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "snapconform.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "-q",
            "-m",
            group,
            "--snapconform-max-examples",
            "3",
            "--snapconform-seed",
            "7",
            *args,
        ],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture
def faithful() -> Iterator[ServerHandle]:
    with serve_in_thread(ServerConfig()) as server:
        yield server


@pytest.fixture
def capless() -> Iterator[ServerHandle]:
    with serve_in_thread(ServerConfig(behaviour=NoCap())) as server:
        yield server


OWN_TEST = """
import pytest

pytestmark = pytest.mark.mine

def test_own(snapconform_target, snapconform_universe, snapconform_oracle):
    response = snapconform_target.list_tasks(snapconform_oracle.FilterSpec())
    assert response.status == 200
    assert len(snapconform_universe) >= 20
"""


def test_group_marker_selects_the_cap_checks_and_they_pass(
    tmp_path: Path, faithful: ServerHandle
) -> None:
    (tmp_path / "test_own.py").write_text(OWN_TEST)
    result = run_suite(
        tmp_path,
        "test_own.py",
        "--snapconform-base-url",
        faithful.base_url,
        "--snapconform-control-url",
        faithful.control_url,
        "-rA",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "PASSED test_own.py::test_own" in result.stdout  # the team's own test, our fixtures
    passed = sorted(
        line.split("[")[1].rstrip("]")
        for line in result.stdout.splitlines()
        if line.startswith("PASSED") and "[" in line
    )
    assert passed and all(name.startswith("CAP-") for name in passed), result.stdout
    assert len(passed) == len([r for r in CATALOGUE if r.feature == "cap"])
    assert "deselected" in result.stdout  # the other groups were collected, then left out


@pytest.mark.parametrize("layout", ["testpaths", "cwd"])
def test_the_suite_is_added_to_the_teams_own_tests(
    layout: str, tmp_path: Path, faithful: ServerHandle
) -> None:
    """No path named: pytest collects what it would without the plugin (the ini's testpaths,
    else the working directory) *and* the suite. Seen: only the suite was collected."""
    if layout == "testpaths":
        (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = checks\n")
        (tmp_path / "checks").mkdir()
        (tmp_path / "checks" / "test_own.py").write_text(OWN_TEST)
        own = "checks/test_own.py::test_own"
    else:
        (tmp_path / "test_own.py").write_text(OWN_TEST)
        own = "test_own.py::test_own"
    result = run_suite(
        tmp_path,
        "--snapconform-base-url",
        faithful.base_url,
        "--snapconform-control-url",
        faithful.control_url,
        "-rA",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"PASSED {own}" in result.stdout
    assert any(line.startswith("PASSED") and "CAP-" in line for line in result.stdout.splitlines())


def test_a_server_without_the_cap_fails_the_cap_group(
    tmp_path: Path, capless: ServerHandle
) -> None:
    result = run_suite(
        tmp_path,
        "--snapconform-base-url",
        capless.base_url,
        "--snapconform-control-url",
        capless.control_url,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "CAP-OVER-LIMIT" in result.stdout


def test_runs_under_xdist(tmp_path: Path) -> None:
    # no base URL: each worker checks its own embedded reference server (controlled mode)
    result = run_suite(tmp_path, "-n", "2", group="snapconform_auth")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "passed" in result.stdout and "failed" not in result.stdout
