"""capture and diff send nothing but GET and the session calls, and open no session they leave.

Both targets sit behind a recording proxy; every request that reached them is checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from snapconform.capture import capture
from snapconform.config import Credentials, RunConfig
from snapconform.diff.engine import run_diff
from snapconform.engine.target import ALLOWED_REQUESTS, SESSIONS_PATH
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
ADMIN = Credentials(ADMIN_USERNAME, ADMIN_PASSWORD)
NOPRIVS = Credentials(NOPRIVS_USERNAME, NOPRIVS_PASSWORD)


def test_capture_and_diff_send_only_get_and_session_calls(tmp_path: Path) -> None:
    with (
        serve_in_thread(ServerConfig(api_version="9.0")) as a,
        serve_in_thread(ServerConfig(api_version="9.0")) as b,
        RecordingProxy(a.base_url) as proxy_a,
        RecordingProxy(b.base_url) as proxy_b,
    ):
        config = RunConfig(
            base_url=proxy_a.base_url, credentials=ADMIN, unprivileged=NOPRIVS, api_version="9.0"
        )
        captured = capture(config)
        compared = run_diff(config, proxy_b.base_url, max_requests=60)
        open_sessions = [len(server.runtime.sessions) for server in (a, b)]
    assert len(captured.document["tasks"]) == 1500 and compared.outcomes
    for proxy in (proxy_a, proxy_b):
        calls = proxy.recorder.calls()
        assert calls and set(calls) <= ALLOWED_REQUESTS, set(calls) - ALLOWED_REQUESTS
        assert not any(path.startswith("/control") for _, path in calls)
        logins = sum(1 for call in calls if call == ("POST", SESSIONS_PATH))
        logouts = sum(1 for call in calls if call == ("DELETE", SESSIONS_PATH))
        assert logins == logouts > 0  # every session opened was deleted
    assert open_sessions == [0, 0]
