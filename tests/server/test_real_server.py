"""The reference server over real loopback HTTP (uvicorn): startup, malformed requests, stop."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from snapconform.contracts import default_contracts
from snapconform.server.app import ServerConfig
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME
from snapconform.server.runner import ServerHandle, bind_socket, serve_in_thread

TASKS = "/api/snapservice/tasks"
ADMIN = (ADMIN_USERNAME, ADMIN_PASSWORD)
BASIC = "Basic " + base64.b64encode(f"{ADMIN_USERNAME}:{ADMIN_PASSWORD}".encode()).decode()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerHandle]:
    with serve_in_thread(ServerConfig()) as handle:
        yield handle


def raw_request(handle: ServerHandle, target: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send one GET with a raw request target (httpx refuses URLs over 64 KiB)."""
    with socket.create_connection((handle.host, handle.port), timeout=10) as sock:
        sock.sendall(
            b"GET "
            + target
            + b" HTTP/1.1\r\nHost: localhost\r\nAuthorization: "
            + BASIC.encode()
            + b"\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def test_urls_and_basic_listing(server: ServerHandle) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}"
    assert server.control_url == f"{server.base_url}/control"
    response = httpx.get(f"{server.base_url}{TASKS}?status=FAILED", auth=ADMIN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "target",
    [
        b"/api/snapservice/tasks?tasks=" + b"a" * (1 << 20),  # 1 MiB query
        b"/api/snapservice/tasks?" + b"&".join([b"tasks=a"] * 10_000),  # 10 000 parameters
        b"/api/snapservice/tasks?users=%zz",
        b"/api/snapservice/tasks?users=%ff",
        b"/api/snapservice/tasks?users=%",
        b"/api/snapservice/tasks?users=caf\xc3\xa9",  # raw non-ASCII: h11 refuses the line
        b"/api/snapservice/tasks?users=a b",  # a space splits the request line
    ],
    ids=["1MiB", "10000-params", "pct-zz", "pct-ff", "pct-alone", "raw-utf8", "space"],
)
def test_malformed_queries_are_a_clear_400(server: ServerHandle, target: bytes) -> None:
    status, headers, body = raw_request(server, target)  # the socket's timeout guards a hang
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert default_contracts().errors("InvalidArgument", json.loads(body)) == []


def test_the_server_still_answers_after_abuse(server: ServerHandle) -> None:
    raw_request(server, b"/api/snapservice/tasks?tasks=" + b"a" * (1 << 20))
    assert httpx.get(f"{server.base_url}{TASKS}?status=RUNNING", auth=ADMIN).status_code == 200


def test_serve_in_thread_is_loopback_only_and_stops_quickly() -> None:
    with pytest.raises(ValueError, match="loopback"):
        serve_in_thread(ServerConfig(), host="0.0.0.0")
    handle = serve_in_thread(ServerConfig())
    with httpx.Client(base_url=handle.base_url) as client:  # keep a connection open
        assert client.get(TASKS, auth=ADMIN).status_code == 500
        handle.stop()  # returns although a keep-alive connection is open (else: a hang)
    assert not handle._thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{handle.base_url}{TASKS}", auth=ADMIN)


def test_keep_alive_requests_do_not_wait_for_delayed_acks() -> None:
    """Without TCP_NODELAY on accepted sockets every answer costs ~40 ms (Nagle + delayed ACK);
    asyncio sets it only on a listening socket made with IPPROTO_TCP. Checked as configuration,
    not as a timing (flaky on a loaded machine); bench/server_bench.py measures the latency."""
    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_head_is_answered_without_a_body(server: ServerHandle) -> None:
    response = httpx.head(f"{server.base_url}{TASKS}?status=BLOCKED", auth=ADMIN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == b""
