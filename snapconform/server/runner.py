"""serve_in_thread: the reference server on a free loopback port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import h11
import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from snapconform.errors import ServerStartError
from snapconform.server.app import CONTROL_PREFIX, ServerConfig, create_app
from snapconform.server.runtime import Runtime
from snapconform.server.store import serialise

#: uvicorn's h11 refuses a request head larger than this with a bare 400; the app itself
#: answers anything between behaviour.MAX_QUERY_BYTES and this with an InvalidArgument body.
MAX_REQUEST_HEAD_BYTES = 4 * 1024 * 1024

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


#: What a request uvicorn cannot parse gets (a raw non-ASCII target, a head over the limit):
#: an InvalidArgument body like every other refusal, instead of uvicorn's text/plain 400.
UNPARSABLE_REQUEST_BODY = serialise(
    {
        "error_type": "INVALID_ARGUMENT",
        "messages": [
            {
                "id": "snapconform.server.unparsable_request",
                "default_message": "The HTTP request could not be parsed (malformed request line"
                " or headers, or a request head over"
                f" {MAX_REQUEST_HEAD_BYTES // (1024 * 1024)} MiB).",
                "args": [],
            }
        ],
    }
)


class JsonErrorH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, answering unparsable requests with a JSON InvalidArgument."""

    def send_400_response(self, msg: str) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(UNPARSABLE_REQUEST_BODY)).encode("ascii")),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=UNPARSABLE_REQUEST_BODY),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()


def uvicorn_config(app: Starlette, *, log_level: str = "warning") -> uvicorn.Config:
    """The uvicorn settings of the reference server (h11, large request heads, quick exit)."""
    return uvicorn.Config(
        app,
        http=JsonErrorH11Protocol,
        lifespan="on",
        log_level=log_level,
        access_log=False,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
        timeout_graceful_shutdown=2,
        timeout_keep_alive=5,
    )


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then,
    # and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class ServerHandle:
    """A running reference server; a context manager that stops it on exit."""

    def __init__(
        self, app: Starlette, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket
    ) -> None:
        self.app = app
        self._server = server
        self._thread = thread
        self._socket = sock
        host, port = sock.getsockname()[:2]
        self.host: str = host
        self.port: int = port
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{port}"
        self.control_url = f"{self.base_url}{CONTROL_PREFIX}"

    @property
    def runtime(self) -> Runtime:
        """The live Runtime of the served app."""
        return self.app.state.runtime

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, close connections and join the thread (idempotent)."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def uvicorn_in_thread(
    config: uvicorn.Config,
    sock: socket.socket,
    *,
    name: str = "snapconform-server",
    startup_timeout: float = 10.0,
) -> tuple[uvicorn.Server, threading.Thread]:
    """Run uvicorn with ``config`` on a bound socket in a daemon thread; return once it accepts.

    The one uvicorn-in-a-thread helper (the reference server here, the hostile test servers in
    tests/safety). ServerStartError (the socket closed) when it does not start in time.
    """
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(2)
            host, port = sock.getsockname()[:2]
            sock.close()
            raise ServerStartError(f"{name} did not start on {host}:{port}")
        time.sleep(0.01)
    return server, thread


def serve_in_thread(
    config: ServerConfig, host: str = "127.0.0.1", port: int = 0, *, startup_timeout: float = 10.0
) -> ServerHandle:
    """Start the reference server for ``config`` on ``host:port`` (0: a free port).

    Returns once the server accepts connections. Only loopback hosts are allowed.
    """
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"the reference server only binds loopback addresses, not {host!r}")
    app = create_app(config)
    sock = bind_socket(host, port)
    server, thread = uvicorn_in_thread(
        uvicorn_config(app), sock, name="the reference server", startup_timeout=startup_timeout
    )
    return ServerHandle(app, server, thread, sock)
