"""Sessions the harness creates are deleted when its Target closes, however the run ends."""

from __future__ import annotations

import pytest

from snapconform.engine.target import Target, TargetSettings
from snapconform.server.app import ServerConfig
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME
from snapconform.server.runner import serve_in_thread


def test_sessions_are_deleted_when_the_run_fails_midway() -> None:
    with serve_in_thread(ServerConfig(api_version="9.0")) as server:
        with (
            pytest.raises(RuntimeError),
            Target(TargetSettings(base_url=server.base_url)) as target,
        ):
            target.login(ADMIN_USERNAME, ADMIN_PASSWORD, api_version="9.0")
            target.create_session(ADMIN_USERNAME, ADMIN_PASSWORD)  # a check's own session
            assert len(server.runtime.sessions) == 2
            raise RuntimeError("a check crashed")
        assert len(server.runtime.sessions) == 0
        assert (target.sessions.created, target.sessions.deleted) == (2, 2)


def test_a_session_the_suite_deleted_itself_is_not_deleted_twice() -> None:
    with serve_in_thread(ServerConfig(api_version="9.0")) as server:
        with Target(TargetSettings(base_url=server.base_url)) as target:
            target.login(ADMIN_USERNAME, ADMIN_PASSWORD, api_version="9.0")
            assert target.delete_session().status == 204
            before = target.stats.requests
        assert target.stats.requests == before  # close() had nothing left to delete
        assert len(server.runtime.sessions) == 0


def test_cleanup_is_sent_even_when_the_budget_is_spent() -> None:
    with serve_in_thread(ServerConfig(api_version="9.0")) as server:
        settings = TargetSettings(base_url=server.base_url, max_requests=1)
        with Target(settings) as target:
            target.login(ADMIN_USERNAME, ADMIN_PASSWORD, api_version="9.0")  # the 1 request
        assert len(server.runtime.sessions) == 0
