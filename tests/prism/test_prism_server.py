"""The helper that starts Prism for the tests: the base URL it yields is Prism's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.prism import prism_server
from tests.safety.hostile import HostileServer, json_response, send

#: Another test's server: a 401 JSON body, as the reference answers, marked as the squatter's.
SQUATTERS_ANSWER = json_response(
    "401 Unauthorized",
    {"error_type": "UNAUTHENTICATED"},
    {"X-Squatter": "yes", "Connection": "close"},
)


@pytest.fixture
def squatter() -> Iterator[int]:
    """A port another server took between the helper's choice of it and Prism's bind."""
    with HostileServer(send(SQUATTERS_ANSWER)) as server:
        port = urlsplit(server.base_url).port
        assert port is not None
        yield port


def test_a_port_taken_before_prism_binds_it_is_not_taken_for_prism(
    prism_cli: Path, squatter: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = iter([squatter])
    free = prism_server.free_loopback_port
    monkeypatch.setattr(prism_server, "free_loopback_port", lambda: next(ports, None) or free())
    with prism_server.prism_mock(tmp_path) as base_url:
        answer = httpx.get(f"{base_url}/api/snapservice/tasks", timeout=60)
    assert base_url != f"http://127.0.0.1:{squatter}"
    assert "EADDRINUSE" in (tmp_path / f"prism-{squatter}.log").read_text(encoding="utf-8")
    # Prism answers with the contract's 401 example; the squatter would mark its answer
    assert answer.status_code == 401 and "x-squatter" not in answer.headers
