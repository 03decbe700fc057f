"""`pytest -p snapconform.pytest_plugin --snapconform-...`: the suite inside any pytest session.

End to end, in a foreign directory (not this repository's pytest configuration): the group marker
selects the cap requirements, a faithful reference server passes them, a server without the cap
fails them; with or without -n 2 the plugin stays within the run's budget and rate limit.
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


BUDGET, RATE = 600, 40.0


def _busiest_second(times: list[float]) -> int:
    """The most requests that arrived within any one second."""
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times)))


def test_the_plugin_front_end_keeps_the_budget_and_rate_of_snapconform_run(
    tmp_path: Path, faithful: ServerHandle
) -> None:
    """Through a recording proxy: the plugin, with and without -n 2, sends within the same rate
    limit and total budget as `snapconform run` against the same target."""
    from tests.safety.hostile import RecordingProxy

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SNAPCONFORM_"))}
    sent: dict[str, list[float]] = {}
    for front in ("plugin", "plugin -n 2", "snapconform run"):
        with RecordingProxy(faithful.base_url) as proxy:
            common = {"base-url": proxy.base_url, "control-url": faithful.control_url}
            common |= {"max-requests": str(BUDGET), "rate-limit": str(RATE), "seed": "7"}
            if front == "snapconform run":
                args = [f"--{k}={v}" for k, v in common.items()]
                done = subprocess.run(
                    [sys.executable, "-m", "snapconform", "run", *args, "--report-dir", "r"],
                    cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                )  # fmt: skip
            else:
                args = [f"--snapconform-{k}={v}" for k, v in common.items()]
                xdist = ["-n", "2"] if "-n 2" in front else []
                done = run_suite(tmp_path, *args, *xdist, group="snapconform_cap")
            assert done.returncode in (0, 1, 3, 4), done.stdout[-2000:] + done.stderr[-2000:]
            sent[front] = [r.at for r in proxy.recorder.requests]
    for front, times in sent.items():
        assert len(times) <= BUDGET, f"{front}: {len(times)} requests for a budget of {BUDGET}"
        # a token bucket of RATE per second admits at most RATE (+1 for the edge) in a second
        assert not times or _busiest_second(times) <= RATE + 1, f"{front} exceeded {RATE}/s"
    assert sent["plugin"] and sent["snapconform run"]
    assert sent["plugin -n 2"] == []  # refused in one line: nothing reached the target
