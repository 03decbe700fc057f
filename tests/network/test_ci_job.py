"""A CI job exports its secrets for every step (issue 24): with SNAPCONFORM_PASSWORD and
SNAPCONFORM_UNPRIVILEGED_PASSWORD in the environment, ``config``, ``serve``, ``capture`` and a
run on the embedded server all work, and a run leaves nothing in the working directory except
what --report-dir names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from snapconform.server.app import ServerConfig
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME
from snapconform.server.runner import serve_in_thread

pytestmark = pytest.mark.slow


def _ci_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    env["SNAPCONFORM_PASSWORD"] = ADMIN_PASSWORD
    env["SNAPCONFORM_UNPRIVILEGED_PASSWORD"] = "exported-for-another-step"
    return env


def _snapconform(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snapconform", *args],
        capture_output=True, text=True, env=_ci_environment(), cwd=cwd, timeout=600,
        check=False,
    )  # fmt: skip


def test_every_command_runs_with_both_passwords_exported(tmp_path: Path) -> None:
    cwd = tmp_path / "job"
    cwd.mkdir()
    config = _snapconform(cwd, "config")
    assert config.returncode == 0, config.stderr
    assert "env SNAPCONFORM_UNPRIVILEGED_PASSWORD" in config.stdout
    assert ADMIN_PASSWORD not in config.stdout + config.stderr

    with serve_in_thread(ServerConfig(), "127.0.0.1", 0) as server:
        out = tmp_path / "captured" / "state.json"
        capture = _snapconform(
            cwd, "capture", "--base-url", server.base_url, "--username", ADMIN_USERNAME,
            "--out", str(out),
        )  # fmt: skip
    assert capture.returncode == 0, capture.stdout + capture.stderr
    assert out.is_file()

    serve = subprocess.Popen(
        [sys.executable, "-m", "snapconform", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_ci_environment(),
        cwd=cwd,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        first = serve.stdout.readline()
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert first.startswith("snapconform reference server on http://127.0.0.1:"), first

    report = tmp_path / "report"
    run = _snapconform(
        cwd, "run", "--report-dir", str(report), "--seed", "1", "--max-examples", "3"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "verdict: CONFORMANT" in run.stdout
    assert "SNAPCONFORM_UNPRIVILEGED_PASSWORD are not used" in run.stdout
    # Hypothesis wrote below the report directory, nothing in the working directory
    assert sorted(p.name for p in cwd.iterdir()) == []
    assert (report / "summary.json").is_file()
