"""The documented round trip, as a user runs it: capture -> serve --state -> run --state-file.

Subprocesses of the installed command, secrets in the environment only; the declared-mode run of
a server loaded with the capture is conformant and checks visibility with the captured limited
principal (its password placeholder filled from a variable without the SNAPCONFORM_ prefix).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from snapconform.server.app import ServerConfig
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    LIMITED_PASSWORD,
    LIMITED_USERNAME,
    NOPRIVS_PASSWORD,
    NOPRIVS_USERNAME,
)
from snapconform.server.runner import serve_in_thread
from snapconform.state import load_state_file

pytestmark = pytest.mark.slow


def snapconform(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    environ.update(
        {
            "SNAPCONFORM_PASSWORD": ADMIN_PASSWORD,
            "SNAPCONFORM_UNPRIVILEGED_PASSWORD": NOPRIVS_PASSWORD,
            "OPERATOR_PASSWORD": LIMITED_PASSWORD,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "snapconform", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=600,
        check=False,
    )


def test_capture_then_certify_a_replay_in_declared_mode(tmp_path: Path) -> None:
    principals = ["--username", ADMIN_USERNAME, "--unprivileged-username", NOPRIVS_USERNAME]
    with serve_in_thread(ServerConfig(control=False)) as staging:
        captured = snapconform(
            *("capture", "--base-url", staging.base_url, *principals),
            *("--principal", f"{LIMITED_USERNAME}=OPERATOR_PASSWORD", "--out", "captured.json"),
            cwd=tmp_path,
        )
    assert captured.returncode == 0, captured.stdout + captured.stderr
    assert ADMIN_PASSWORD not in (tmp_path / "captured.json").read_text()
    environ = {"SNAPCONFORM_PASSWORD": ADMIN_PASSWORD, "OPERATOR_PASSWORD": LIMITED_PASSWORD}
    environ["SNAPCONFORM_UNPRIVILEGED_PASSWORD"] = NOPRIVS_PASSWORD
    state = load_state_file(tmp_path / "captured.json", environ)
    with serve_in_thread(ServerConfig(state=state, control=False)) as mock:
        certified = snapconform(
            *("run", "--base-url", mock.base_url, "--state-file", "captured.json", *principals),
            *("--report-dir", "reports", "--seed", "1", "--max-examples", "3"),
            cwd=tmp_path,
        )
    assert certified.returncode == 0, certified.stdout + certified.stderr
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert summary["mode"] == "declared" and summary["verdict"] == "conformant"
    outcomes = {r["id"]: r["outcome"] for r in summary["requirements"]}
    assert outcomes["AUTH-VISIBILITY"] == "passed"  # the captured limited principal was used
    assert outcomes["AUTH-PRIVILEGE"] == "passed"
