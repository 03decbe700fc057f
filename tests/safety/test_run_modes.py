"""A whole ``snapconform run`` in every mode sends only GET and the session calls to the target.

A recording reverse proxy sits in front of the reference server (and, in controlled mode, a
second one in front of its control URL); after the run every recorded request is compared with
the allow-list. Observed and declared runs must not touch the control protocol at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from snapconform.engine.target import ALLOWED_REQUESTS
from snapconform.server.app import ServerConfig
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    NOPRIVS_PASSWORD,
    NOPRIVS_USERNAME,
)
from snapconform.server.runner import serve_in_thread
from tests.safety.hostile import RecordingProxy

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["controlled", "declared", "observed"])
def test_a_whole_run_sends_only_get_and_session_calls(mode: str, tmp_path: Path) -> None:
    with (
        serve_in_thread(ServerConfig(api_version="9.0")) as server,
        RecordingProxy(server.base_url) as proxy,
        RecordingProxy(server.control_url) as control_proxy,
    ):
        args = [
            sys.executable, "-m", "snapconform", "run",
            "--base-url", proxy.base_url, "--username", ADMIN_USERNAME,
            "--report-dir", str(tmp_path / "report"), "--seed", "1", "--max-examples", "2",
            "--api-version", "9.0", "--timeout", "10",
        ]  # fmt: skip
        if mode == "controlled":
            args += ["--control-url", control_proxy.base_url]
        elif mode == "declared":
            state = tmp_path / "state.json"
            state.write_text(httpx.get(f"{server.control_url}/state").text)
            args += ["--state-file", str(state)]
        env = dict(os.environ, SNAPCONFORM_PASSWORD=ADMIN_PASSWORD)
        if mode != "controlled":
            # Without an unprivileged principal AUTH-PRIVILEGE is not checked (incomplete, 3).
            args += ["--unprivileged-username", NOPRIVS_USERNAME]
            env["SNAPCONFORM_UNPRIVILEGED_PASSWORD"] = NOPRIVS_PASSWORD
        completed = subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        sent = proxy.recorder.calls()
        control = control_proxy.recorder.calls()
        sessions_left = len(server.runtime.sessions)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    print(f"{mode}: {len(sent)} requests to the target, {len(control)} to the control URL")
    assert sent, "the proxy saw nothing: the run did not go through it"
    assert set(sent) <= ALLOWED_REQUESTS, sorted(set(sent) - ALLOWED_REQUESTS)
    assert sessions_left == 0
    if mode == "controlled":
        assert control and {path for _, path in control} <= {"/state", "/faults"}
    else:
        assert control == []
