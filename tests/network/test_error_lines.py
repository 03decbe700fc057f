"""The usual mistakes of a first run get one line with the likely fix (issue 24).

TLS against a plain HTTP server, nothing listening, and a --control-url that is a web server
but not a mock (its HTML error page is never dumped: its title at most); a state push the mock
refused changed nothing, and the summary says "not changed", not "NOT restored".
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from snapconform.config import RunConfig
from snapconform.engine.harness import Harness
from snapconform.engine.target import ControlClient, Target, TargetSettings
from snapconform.errors import HarnessError, TargetError

HTML_PAGE = (
    "<!DOCTYPE html>\n<html>\n<head><title>404 Not Found</title></head>\n<body>\n"
    + "<p>The requested URL was not found on this server.</p>\n" * 40
    + "</body></html>\n"
)


class _WebSite(BaseHTTPRequestHandler):
    """A web server that is not a mock: every request gets an HTML 404 page."""

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        body = HTML_PAGE.encode()
        self.send_response(404)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = _answer  # noqa: N815 - http.server's names

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def website() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _refused_url() -> str:
    with socket.socket() as sock:  # a port just freed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _error_of(base_url: str) -> str:
    with (
        Target(TargetSettings(base_url=base_url, timeout=10)) as target,
        pytest.raises(TargetError) as raised,
    ):
        target.get_tasks()
    return str(raised.value)


def test_https_against_plain_http_says_to_use_http(website: str) -> None:
    message = _error_of(website.replace("http://", "https://"))
    assert "does not speak TLS" in message and "try http:// in --base-url" in message
    assert "\n" not in message


def test_nothing_listening_says_what_to_check() -> None:
    message = _error_of(_refused_url())
    assert "connection refused, nothing listens there" in message
    assert "host and port of --base-url" in message and "\n" not in message


def test_a_control_url_that_is_no_mock_gets_one_line_and_no_html(website: str) -> None:
    control = ControlClient(f"{website}/control", timeout=10)
    with pytest.raises(TargetError) as raised:
        control.put_state({"tasks": [], "principals": []})
    message = str(raised.value)
    assert "HTTP 404 (404 Not Found)" in message and "is --control-url the control" in message
    assert "<" not in message and "\n" not in message
    assert control.state_pushed is False  # refused: the mock's state did not change
    control.close()


def test_a_run_against_a_control_url_that_is_no_mock_changed_nothing(website: str) -> None:
    with pytest.raises(HarnessError) as raised:
        Harness.open(RunConfig(), base_url=website, control_url=f"{website}/control", seed=1)
    message = str(raised.value)
    assert "\n" not in message and "<" not in message and "--control-url" in message
    assert raised.value.mock_state is not None
    assert raised.value.mock_state["changed"] is False
    assert raised.value.mock_state["restored"] is True
