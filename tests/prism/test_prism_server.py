"""The helper that starts Prism for the tests: the base URL it yields is Prism's own."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.prism import prism_server


class _Squatter(http.server.BaseHTTPRequestHandler):
    """Another test's server: answers anything with a 401 JSON body, as the reference does."""

    def do_GET(self) -> None:
        body = b'{"error_type": "UNAUTHENTICATED"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Squatter", "yes")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def squatter() -> Iterator[int]:
    """A port another server took between the helper's choice of it and Prism's bind."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Squatter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


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
