"""An httpx transport on the standard library's HTTP/1.1 client, for a run's own clients.

httpx's default transport (httpcore over h11) costs about 1 ms of CPU per request on the 2-core
machine, more than twice ``http.client`` for the same exchange; a default verdict sends about a
thousand (issue 27). :class:`StdlibTransport` puts ``http.client`` under the same ``httpx.Client``:
the requests, the responses, the timeouts and the exception types the rest of the engine sees
stay httpx's, so a connection lost before any answer is still a ``RemoteProtocolError``,
``ReadError`` or ``WriteError`` (:data:`snapconform.engine.target.CONNECTION_LOST`).

Connections are kept alive like httpcore keeps them: an idle connection is handed out again
only while its socket has nothing to read, so one the server closed while it sat in the pool is
dropped before a request goes out on it, never after.
"""

from __future__ import annotations

import email.parser
import http.client
import re
import select
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

#: A response's body is handed on in pieces of at most this many bytes.
_CHUNK = 65536

_Origin = tuple[str, str, int]


class StdlibTransport(httpx.BaseTransport):
    """HTTP/1.1 over ``http.client`` with a keep-alive pool (thread-safe).

    ``ssl_context``: for https origins (the client's verification, or a function returning
    it); ``max_idle``: connections kept per origin for reuse, 0 to close each after its response
    (a fresh connection per request).
    """

    def __init__(
        self,
        ssl_context: ssl.SSLContext | Callable[[], ssl.SSLContext],
        *,
        max_idle: int = 20,
    ) -> None:
        #: a context, or the function that makes it on the first https connection (loading a
        #: CA bundle costs tens of milliseconds a plain-http run never needs)
        self._ssl_context = ssl_context
        self._max_idle = max_idle
        self._idle: dict[_Origin, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"request URL has an unsupported scheme {url.scheme!r}")
        origin: _Origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        connection = self._idle_connection(origin) or self._connect(origin, timeouts)
        try:
            response = _exchange(connection, request, timeouts)
        except BaseException:
            connection.close()
            raise
        version = b"HTTP/1.0" if response.version == 10 else b"HTTP/1.1"
        return httpx.Response(
            response.status,
            headers=[
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in response.msg.items()
            ],
            stream=_Body(response, connection, self, origin),
            extensions={"http_version": version, "reason_phrase": response.reason.encode()},
        )

    def tls_context(self) -> ssl.SSLContext:
        """The context of this transport's https connections (made now if not made yet)."""
        if not isinstance(self._ssl_context, ssl.SSLContext):
            self._ssl_context = self._ssl_context()
        return self._ssl_context

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle = [connection for pool in self._idle.values() for connection in pool]
            self._idle.clear()
        for connection in idle:
            connection.close()

    # -- the pool ------------------------------------------------------------------------------

    def _idle_connection(self, origin: _Origin) -> http.client.HTTPConnection | None:
        """An idle connection to ``origin`` the server has not closed (most recent first)."""
        while True:
            with self._lock:
                pool = self._idle.get(origin)
                if not pool:
                    return None
                connection = pool.pop()
            if _still_open(connection):
                return connection
            connection.close()

    def _release(self, origin: _Origin, connection: http.client.HTTPConnection) -> None:
        """A connection whose response was read to its end: kept for the next request."""
        with self._lock:
            pool = self._idle.setdefault(origin, [])
            if not self._closed and len(pool) < self._max_idle:
                pool.append(connection)
                return
        connection.close()

    def _connect(
        self, origin: _Origin, timeouts: dict[str, float | None]
    ) -> http.client.HTTPConnection:
        scheme, host, port = origin
        connection: http.client.HTTPConnection
        if scheme == "https":
            context = self.tls_context()
            connection = http.client.HTTPSConnection(
                host, port, timeout=timeouts.get("connect"), context=context
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=timeouts.get("connect"))
        try:
            connection.connect()
        except TimeoutError as exc:
            connection.close()
            raise httpx.ConnectTimeout(str(exc) or "timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            connection.close()
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        return connection


def _still_open(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle keep-alive connection can carry a request: nothing to read on it (a
    readable idle socket is one the server closed, or one with bytes nobody asked for)."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _exchange(
    connection: http.client.HTTPConnection,
    request: httpx.Request,
    timeouts: dict[str, float | None],
) -> http.client.HTTPResponse:
    """Send ``request`` on ``connection`` and read the status line and headers of the answer."""
    sock = connection.sock
    assert sock is not None
    target = request.url.raw_path.decode("ascii")
    body = request.read()
    try:
        sock.settimeout(timeouts.get("write"))
        connection.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in request.headers.raw:
            connection.putheader(name, value)
        connection.endheaders(body or None)
    except TimeoutError as exc:
        raise httpx.WriteTimeout(str(exc) or "timed out") from exc
    except (http.client.HTTPException, ValueError) as exc:
        raise httpx.LocalProtocolError(str(exc)) from exc
    except OSError as exc:
        raise httpx.WriteError(str(exc) or type(exc).__name__) from exc
    connection.response_class = _Response
    with _reading():
        sock.settimeout(timeouts.get("read"))
        return connection.getresponse()


#: A header line ``parse_headers`` reads as "name: value" and nothing else: a name of visible
#: ASCII without ":" (the email parser's ``headerRE``; no blank, so never its "From " line),
#: one line ending and no other carriage return or line feed.
_PLAIN_HEADER = re.compile(r"([\x21-\x39\x3b-\x7e]+):([^\r\n]*)\r?\n\Z")


class _Response(http.client.HTTPResponse):
    """``http.client``'s response, its header lines read without the email parser when plain.

    ``http.client.parse_headers`` hands the header block to ``email.parser``: about 85 µs per
    response, a twentieth of a test run's CPU (issue 27). When every line is a plain
    "name: value" line the message is built as that parser builds it (compat32: the value
    without its leading blanks and its line ending); a folded line, a line without a name, a
    stray carriage return or the end of the stream before the blank line takes the parser
    (``tests/engine/test_http11.py`` holds both to the same messages).
    """

    def begin(self) -> None:
        # http.client's own begin (3.11 to 3.13), but for where the header block is parsed
        if self.headers is not None:
            return
        while True:
            version, status, reason = self._read_status()  # type: ignore[attr-defined]
            if status != http.client.CONTINUE:
                break
            http.client._read_headers(self.fp)  # type: ignore[attr-defined]
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        lines: list[bytes] = http.client._read_headers(self.fp)  # type: ignore[attr-defined]
        message = parse_header_block(lines)
        if message is None:
            parser = email.parser.Parser(_class=http.client.HTTPMessage)
            message = parser.parsestr(b"".join(lines).decode("iso-8859-1"))
        self.headers = self.msg = message
        transfer_encoding = self.headers.get("transfer-encoding")
        self.chunked = bool(transfer_encoding and transfer_encoding.lower() == "chunked")
        if self.chunked:
            self.chunk_left = None
        self.will_close = self._check_close()  # type: ignore[attr-defined]
        self.length = None
        length = self.headers.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            else:
                if self.length < 0:
                    self.length = None
        if (
            status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED)
            or 100 <= status < 200
            or self._method == "HEAD"  # type: ignore[attr-defined]
        ):
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True


def parse_header_block(lines: list[bytes]) -> http.client.HTTPMessage | None:
    """The message of plain header ``lines`` (the blank line last), or None for the parser."""
    if not lines or lines[-1] not in (b"\r\n", b"\n"):
        return None
    message = http.client.HTTPMessage()
    for line in lines[:-1]:
        matched = _PLAIN_HEADER.match(line.decode("iso-8859-1"))
        if matched is None:
            return None
        name, value = matched.groups()
        message._headers.append((name, value.lstrip(" \t")))
    return message


@contextmanager
def _reading() -> Iterator[None]:
    """``http.client``'s errors while reading an answer (its head or its body) as httpx's."""
    try:
        yield
    except TimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "timed out") from exc
    except http.client.RemoteDisconnected as exc:
        # the connection closed before a status line: what httpcore reports the same way
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.") from exc
    except http.client.IncompleteRead as exc:
        expected = f", expected {exc.expected}" if exc.expected is not None else ""
        raise _cut_short(f"received {len(exc.partial)} bytes{expected}") from exc
    except http.client.HTTPException as exc:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise httpx.RemoteProtocolError(f"malformed response ({detail})") from exc
    except OSError as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__) from exc


def _cut_short(detail: str) -> httpx.RemoteProtocolError:
    """A body that ended before its end (the words httpcore uses, so messages stay alike)."""
    return httpx.RemoteProtocolError(
        f"peer closed connection without sending complete message body ({detail})"
    )


class _Body(httpx.SyncByteStream):
    """A response's body as it arrives; its connection back to the pool once read to the end."""

    def __init__(
        self,
        response: http.client.HTTPResponse,
        connection: http.client.HTTPConnection,
        transport: StdlibTransport,
        origin: _Origin,
    ) -> None:
        self._response = response
        self._connection: http.client.HTTPConnection | None = connection
        self._transport = transport
        self._origin = origin
        self._complete = False

    def __iter__(self) -> Iterator[bytes]:
        while True:
            with _reading():
                chunk = self._response.read1(_CHUNK)
            if not chunk:
                # read1 ends quietly where read() would raise: a body cut short of its
                # Content-Length is the peer's fault, never a complete answer
                missing = self._response.length
                if missing:
                    raise _cut_short(f"{missing} of the declared bytes missing")
                self._complete = True
                return
            yield chunk

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        reusable = self._complete and not self._response.will_close and connection.sock is not None
        self._response.close()
        if reusable:
            self._transport._release(self._origin, connection)
        else:
            connection.close()


class RunClient(httpx.Client):
    """``httpx.Client`` with a shorter way for the requests a run sends most (issue 27).

    ``build_request`` and ``send`` cost about 300 µs of CPU per request on the 2-core machine,
    as much again as ``http.client`` itself: ``build_request`` parses a relative URL, then the
    base URL merged with it; ``send`` goes through the auth flow, redirect handling, a wrapped
    stream and a log record. For a request with a path relative to the base URL and nothing
    but headers (every request of a Target), ``build_request`` makes the same
    :class:`httpx.Request` from one parse of the whole URL; ``send(stream=True)`` without
    redirects followed and without auth hands it to the transport and finishes the response as
    httpx does (its request, its history, the redirect it names as ``next_request``, cookies
    kept). Anything else takes httpx's own path. ``tests/engine/test_run_client.py`` holds
    both paths to the same requests and responses.
    """

    def __init__(self, *, transport: httpx.BaseTransport, **options: Any) -> None:
        super().__init__(transport=transport, **options)
        self._run_transport = transport
        base = self.base_url
        #: the base URL as text without its closing "/": a relative path appends to it as
        #: httpx's merge does (``_merge_url``)
        self._base_text = str(base).rstrip("/")
        self._plain = not (base.username or base.password or base.fragment or base.query)

    def build_request(  # type: ignore[override]
        self,
        method: str,
        url: httpx.URL | str,
        *,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> httpx.Request:
        if (
            options
            or not self._plain
            or not isinstance(url, str)
            or not url.startswith("/")
            or url.startswith("//")
            or "#" in url
            or self.params
            or self.cookies
        ):
            return super().build_request(method, url, headers=headers, **options)
        try:
            whole = httpx.URL(self._base_text + url)
        except httpx.InvalidURL:  # refused in httpx's words, positions in the relative URL
            return super().build_request(method, url, headers=headers)
        merged = httpx.Headers(self.headers)
        merged.update(headers)
        return httpx.Request(
            method,
            whole,
            headers=merged,
            extensions={"timeout": self.timeout.as_dict()},
        )

    def send(  # type: ignore[override]
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        **options: Any,
    ) -> httpx.Response:
        if (
            options
            or not stream
            or self.follow_redirects
            or self.auth is not None
            or any(self.event_hooks.values())
            or request.url.username
            or request.url.password
            or "timeout" not in request.extensions
        ):
            return super().send(request, stream=stream, **options)
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        try:
            response = self._run_transport.handle_request(request)
        except httpx.RequestError as exc:
            exc.request = request  # as httpx's request_context does
            raise
        response.request = request
        response.history = []
        try:
            self.cookies.extract_cookies(response)
            if response.has_redirect_location:
                response.next_request = self._build_redirect_request(request, response)
        except BaseException:
            response.close()
            raise
        return response
