"""The run's HTTP/1.1 transport (``snapconform.engine.http11``): keep-alive as httpcore keeps it.

A loopback server that counts its connections shows when a connection is reused and when a new
one is opened; the errors are httpx's, so the engine's handling of a lost connection holds.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import given, settings, strategies as st

from snapconform.engine.http11 import StdlibTransport, _Response, parse_header_block
from snapconform.engine.safety import default_tls_context

BODY = b'{"items": []}'


@dataclass
class Behaviour:
    """How the server answers: close after each answer, declare more bytes than it sends,
    say ``Connection: close``."""

    close_after_answer: bool = False
    short_body: bool = False
    connection_close_header: bool = False
    connections: int = 0
    requests: int = 0
    closed: threading.Event = field(default_factory=threading.Event)


def _serve_connection(conn: socket.socket, behaviour: Behaviour) -> None:
    buffer = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buffer:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            _, _, buffer = buffer.partition(b"\r\n\r\n")
            behaviour.requests += 1
            length = len(BODY) + (10 if behaviour.short_body else 0)
            extra = b"Connection: close\r\n" if behaviour.connection_close_header else b""
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {length}\r\n".encode()
                + extra
                + b"\r\n"
                + BODY
            )
            if behaviour.close_after_answer or behaviour.short_body:
                conn.shutdown(socket.SHUT_RDWR)
                behaviour.closed.set()
                return


@contextmanager
def loopback(behaviour: Behaviour) -> Iterator[str]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            behaviour.connections += 1
            threading.Thread(target=_serve_connection, args=(conn, behaviour), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join()
        listener.close()


def client(base_url: str, *, max_idle: int = 20) -> httpx.Client:
    transport = StdlibTransport(default_tls_context, max_idle=max_idle)
    return httpx.Client(base_url=base_url, transport=transport, timeout=5)


def get(http: httpx.Client) -> httpx.Response:
    response = http.send(http.build_request("GET", "/api/snapservice/tasks"), stream=True)
    response.read()
    response.close()
    return response


def test_requests_share_one_kept_alive_connection() -> None:
    behaviour = Behaviour()
    with loopback(behaviour) as base_url, client(base_url) as http:
        answers = [get(http) for _ in range(5)]
    assert [answer.content for answer in answers] == [BODY] * 5
    assert (behaviour.connections, behaviour.requests) == (1, 5)


def test_an_idle_connection_the_server_closed_is_never_used_again() -> None:
    # Without the readability check the second request goes out on the closed connection
    # and fails as a lost connection (RemoteProtocolError), which a run would retry and count.
    behaviour = Behaviour(close_after_answer=True)
    with loopback(behaviour) as base_url, client(base_url) as http:
        get(http)
        assert behaviour.closed.wait(5)
        time.sleep(0.05)  # the FIN reaches the client's socket
        second = get(http)
    assert second.status_code == 200
    assert (behaviour.connections, behaviour.requests) == (2, 2)


def test_an_answer_that_says_connection_close_is_not_kept() -> None:
    behaviour = Behaviour(connection_close_header=True)
    with loopback(behaviour) as base_url, client(base_url) as http:
        get(http)
        get(http)
    assert behaviour.connections == 2


def test_a_body_left_unread_closes_its_connection() -> None:
    behaviour = Behaviour()
    with loopback(behaviour) as base_url, client(base_url) as http:
        response = http.send(http.build_request("GET", "/api/snapservice/tasks"), stream=True)
        response.close()  # nothing read: the connection is mid-answer and must not be reused
        assert get(http).content == BODY
    assert behaviour.connections == 2


def test_no_idle_connections_means_one_connection_per_request() -> None:
    behaviour = Behaviour()
    with loopback(behaviour) as base_url, client(base_url, max_idle=0) as http:
        get(http)
        get(http)
    assert behaviour.connections == 2


def test_a_body_cut_short_of_its_length_is_a_protocol_error() -> None:
    with (
        loopback(Behaviour(short_body=True)) as base_url,
        client(base_url) as http,
        pytest.raises(httpx.RemoteProtocolError, match="complete message body"),
    ):
        get(http)


def test_nothing_listening_is_a_connect_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as reserved:
        port = reserved.getsockname()[1]
    with client(f"http://127.0.0.1:{port}") as http, pytest.raises(httpx.ConnectError):
        get(http)


def test_a_plain_http_run_never_makes_a_tls_context() -> None:
    made: list[str] = []

    def context() -> object:
        made.append("context")
        return default_tls_context()

    behaviour = Behaviour()
    with loopback(behaviour) as base_url:
        transport = StdlibTransport(context)  # type: ignore[arg-type]
        with httpx.Client(base_url=base_url, transport=transport) as http:
            get(http)
    assert made == []


# -- the header block: read without the email parser when plain, as that parser reads it --------

_HEADER_LINE = st.one_of(
    # plain lines, as servers write them
    st.builds(
        lambda name, blanks, value, ending: f"{name}:{blanks}{value}{ending}",
        st.sampled_from(
            ("Content-Type", "content-length", "X-Odd_Name!", "WWW-Authenticate", "From")
        ),
        st.sampled_from(("", " ", "  ", "\t", " \t")),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=20),
        st.sampled_from(("\r\n", "\n")),
    ),
    # and what hostile ones write: folded lines, no name, no colon, stray CR, "From ", empty name
    st.sampled_from(
        (
            " folded continuation\r\n",
            "\tfolded\r\n",
            "no colon here\r\n",
            ": empty name\r\n",
            "X-Bad\rName: v\r\n",
            "X-Stray: a\rb\r\n",
            "From someone\r\n",
            "Name With Space: v\r\n",
            "X-Trailing: value  \r\n",
        )
    ),
)


def _body_of(response: http.client.HTTPResponse) -> Any:
    try:
        return response.read()
    except http.client.HTTPException as error:
        return (type(error), str(error))


def _stdlib_and_ours(raw: bytes) -> tuple[Any, Any]:
    """(http.client's own reading of ``raw``, ``_Response``'s): status, headers, framing."""

    class _Sock:
        def makefile(self, mode: str) -> io.BufferedReader:
            return io.BufferedReader(io.BytesIO(raw))  # type: ignore[arg-type]

    seen = []
    for response_class in (http.client.HTTPResponse, _Response):
        response = response_class(_Sock(), method="GET")  # type: ignore[arg-type]
        try:
            response.begin()
        except Exception as error:  # the same refusal counts as the same reading
            seen.append((type(error), str(error)))
            continue
        seen.append(
            (
                response.status,
                response.reason,
                response.version,
                response.msg.items(),
                [(type(defect).__name__, str(defect)) for defect in response.msg.defects],
                response.chunked,
                response.length,
                response.will_close,
                _body_of(response),
            )
        )
    return seen[0], seen[1]


@settings(max_examples=400, deadline=None)
@given(
    status_line=st.sampled_from(
        ("HTTP/1.1 200 OK", "HTTP/1.0 401 Unauthorized", "HTTP/1.1 204 ", "HTTP/1.1 100 Continue")
    ),
    lines=st.lists(_HEADER_LINE, max_size=8),
    end=st.sampled_from(("\r\n", "\n", "")),
    framing=st.sampled_from(
        ("", "Content-Length: 4\r\n", "Transfer-Encoding: chunked\r\n", "Connection: close\r\n")
    ),
)
def test_header_blocks_read_as_http_client_reads_them(
    status_line: str, lines: list[str], end: str, framing: str
) -> None:
    head = f"{status_line}\r\n{framing}{''.join(lines)}{end}"
    body = "4\r\nbody\r\n0\r\n\r\n" if "chunked" in framing else "body"
    if status_line.endswith("Continue"):
        head = f"{head}HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n" if end else head
    stdlib, ours = _stdlib_and_ours((head + body).encode("latin-1"))
    assert ours == stdlib


def test_plain_header_lines_skip_the_email_parser() -> None:
    plain = [b"Content-Type: application/json\r\n", b"X-A:\tb \r\n", b"\r\n"]
    message = parse_header_block(plain)
    assert message is not None
    assert message.items() == [("Content-Type", "application/json"), ("X-A", "b ")]
    for odd in (b" folded\r\n", b"no colon\r\n", b"X: a\rb\r\n", b"From x\r\n"):
        assert parse_header_block([plain[0], odd, b"\r\n"]) is None
    assert parse_header_block(plain[:2]) is None  # the stream ended before the blank line
