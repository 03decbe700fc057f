"""Fixtures for the fuzzing tests: live reference servers (uvicorn, loopback) and sessions."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME
from snapconform.server.runner import ServerHandle, serve_in_thread

#: The session calls exist from 9.0 on; the fuzzer covers them there.
API_VERSION = "9.0"
SESSION_HEADER = "vmware-api-session-id"


def admin_session(base_url: str) -> dict[str, str]:
    """Log in as the documented administrator; the session header to send."""
    response = httpx.post(
        f"{base_url}/api/snapservice/sessions", auth=(ADMIN_USERNAME, ADMIN_PASSWORD), timeout=10
    )
    assert response.status_code == 201, response.text
    return {SESSION_HEADER: response.json()}


@pytest.fixture(scope="module")
def faithful_server() -> Iterator[ServerHandle]:
    """The faithful reference server with its default universe (1500 tasks)."""
    with serve_in_thread(ServerConfig(api_version=API_VERSION)) as handle:
        yield handle


ServeBehaviour = Callable[[Behaviour], ServerHandle]


@pytest.fixture
def serve_behaviour() -> Iterator[ServeBehaviour]:
    """Start a live server with a (broken) Behaviour; every one is stopped after the test."""
    handles: list[ServerHandle] = []

    def serve(behaviour: Behaviour) -> ServerHandle:
        handle = serve_in_thread(ServerConfig(api_version=API_VERSION, behaviour=behaviour))
        handles.append(handle)
        return handle

    yield serve
    for handle in handles:
        handle.stop()
