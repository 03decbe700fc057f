"""Whole runs through the fault proxy (issue 24): a network that drops kept-alive connections,
resets a few and delays some answers is no finding.

The faithful reference server stays CONFORMANT with the retries counted in summary.json, no
request past the budget and no session left; a mutant is still caught; requests the network
keeps losing make their checks not checked (transport), the verdict INCOMPLETE, never a failure.
One seed per case here (the 5 seeds per mode are measured, not tested: see the issue's report).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from snapconform.contracts import default_contracts
from snapconform.mutants import get as get_mutant
from snapconform.server.app import ServerConfig
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    NOPRIVS_PASSWORD,
    NOPRIVS_USERNAME,
)
from snapconform.server.runner import serve_in_thread
from tests.network.faultproxy import FaultProxy, Faults

pytestmark = pytest.mark.slow

#: 5% of the requests on a kept-alive connection meet a dropped connection (the issue's
#: measured case), 0.5% of the GETs on one are reset, 1% of the answers wait a second, and
#: connections idle for 3 s are closed. Resets only on kept-alive connections: the retry (on a
#: fresh connection) is never lost, so the verdict never depends on two faults meeting (a
#: retry lost too is its own test below; with resets on every connection the 5-seed
#: measurement lost one GET in 2 runs of 10: INCOMPLETE, never a failure)
NETWORK = Faults(
    drop_reused=0.05,
    reset=0.005,
    reset_reused_only=True,
    delay=0.01,
    delay_seconds=1.0,
    idle_close=3.0,
)


def _run(
    server_config: ServerConfig, faults: Faults, mode: str, tmp_path: Path, *extra: str
) -> tuple[dict[str, Any], FaultProxy, int, subprocess.CompletedProcess[str]]:
    """``snapconform run`` through the proxy (the control protocol goes to the server
    directly: it is the test harness' own channel, not the network under test)."""
    report = tmp_path / "report"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    with (
        serve_in_thread(server_config, "127.0.0.1", 0) as server,
        FaultProxy(server.host, server.port, faults) as proxy,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
        args = ["--base-url", proxy.base_url, "--report-dir", str(report), "--seed", "1"]
        args += ["--api-version", server_config.api_version, "--max-examples", "5", *extra]
        if mode == "controlled":
            args += ["--control-url", server.control_url]
        else:
            args += ["--username", ADMIN_USERNAME, "--unprivileged-username", NOPRIVS_USERNAME]
            env["SNAPCONFORM_PASSWORD"] = ADMIN_PASSWORD
            env["SNAPCONFORM_UNPRIVILEGED_PASSWORD"] = NOPRIVS_PASSWORD
        completed = subprocess.run(
            [sys.executable, "-m", "snapconform", "run", *args],
            capture_output=True, text=True, env=env, cwd=cwd, timeout=900, check=False,
        )  # fmt: skip
        sessions_left = len(server.runtime.sessions)
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert default_contracts().errors("summary", summary) == []
    assert list(cwd.iterdir()) == []  # nothing written into the working directory
    return summary, proxy, sessions_left, completed


def _failed(summary: dict[str, Any]) -> list[str]:
    return [
        f"{r['id']}: {r['detail']}" for r in summary["requirements"] if r["outcome"] == "failed"
    ]


# controlled: a budget the run nearly spends (the retries must fit in it); observed: the
# default (at 700 its plan gave FILTER-INVALID-STATUS a share of 10 requests, spent before a
# decision with no request lost: not checked, budget; not investigated further)
@pytest.mark.parametrize(("mode", "budget"), [("controlled", 700), ("observed", 1500)])
def test_the_faithful_server_stays_conformant_behind_a_faulty_network(
    mode: str, budget: int, tmp_path: Path
) -> None:
    summary, proxy, sessions_left, completed = _run(
        ServerConfig(api_version="9.0"), NETWORK, mode, tmp_path, "--max-requests", str(budget)
    )
    output = completed.stdout + completed.stderr
    assert summary["verdict"] == "conformant", (_failed(summary), summary["not_checked"], output)
    assert completed.returncode == 0
    # the faults happened, and each lost GET was sent again and counted
    assert proxy.counts["dropped"] > 0
    assert summary["transport"]["retried"] > 0 and summary["transport"]["lost"] == 0
    assert any("connection closed before any response" in note for note in summary["notes"])
    # retries spend the budget like any request: none went past it (the closing DELETEs of
    # the run's sessions are outside the budget on purpose)
    assert summary["requests"] <= budget
    assert proxy.stats.methods["GET"] + proxy.stats.methods["POST"] <= budget
    assert proxy.stats.methods["POST"] > 0  # API 9.0: sessions were made ...
    assert sessions_left == 0  # ... and every one deleted


def test_a_mutant_is_still_caught_behind_a_faulty_network(tmp_path: Path) -> None:
    mutant = get_mutant("filter-ignores-status")
    summary, proxy, sessions_left, _ = _run(mutant.server_config(), NETWORK, "controlled", tmp_path)
    assert summary["verdict"] == "non-conformant"
    failed = {r["id"] for r in summary["requirements"] if r["outcome"] == "failed"}
    assert failed & set(mutant.requirements), _failed(summary)
    assert proxy.counts["dropped"] > 0 and summary["transport"]["retried"] > 0
    assert sessions_left == 0


def test_evidence_the_network_keeps_losing_is_not_checked_never_failed(tmp_path: Path) -> None:
    """Every GET with a status filter is reset, also when sent again: the checks that need
    one end not checked (transport), the verdict INCOMPLETE, and nothing fails."""
    faults = Faults(reset_matching=b"status=")
    summary, proxy, sessions_left, completed = _run(
        ServerConfig(api_version="9.0"), faults, "controlled", tmp_path
    )
    assert _failed(summary) == []
    assert summary["verdict"] == "incomplete" and completed.returncode == 3
    transport = [r for r in summary["not_checked"] if r["reason"] == "transport"]
    assert transport and all("connection closed before any" in r["detail"] for r in transport)
    assert summary["transport"]["lost"] > 0
    assert summary["transport"]["retried"] >= summary["transport"]["lost"]
    assert proxy.counts["reset"] >= 2 * summary["transport"]["lost"]
    assert sessions_left == 0
