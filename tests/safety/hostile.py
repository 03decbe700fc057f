"""Hostile and recording servers on loopback, for the safety tests.

``HostileServer(case)`` is a raw asyncio HTTP/1.1 server in a background thread: it answers the
session calls like a well-behaved vCenter (so a run gets as far as the endpoint under test) and
misbehaves on ``GET /api/snapservice/tasks`` in the way its :class:`HostileCase` describes — at the
byte level, which no framework would let us do (wrong Content-Length, resets mid-body, trickles).

``RecordingProxy(upstream)`` is a loopback reverse proxy that records the method and path of every
request it forwards, so a test can prove what a whole run sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import json
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from snapconform.server.runner import bind_socket, uvicorn_in_thread

TASKS_PATH = "/api/snapservice/tasks"
SESSIONS_PATH = "/api/snapservice/sessions"
SESSION_TOKEN = "hostile-session-token-0123456789"


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: dict[str, str]
    #: when it arrived (time.monotonic())
    at: float = field(default_factory=time.monotonic, compare=False)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


Respond = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


def head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def json_response(status: str, document: Any, extra: dict[str, str] | None = None) -> bytes:
    body = json.dumps(document).encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    headers.update(extra or {})
    return head(status, headers) + body


def task(number: int) -> dict[str, Any]:
    """One valid ListItem (enough of Info for the schema)."""
    return {
        "task": f"task-{number}",
        "info": {
            "service": "com.vmware.snapservice.protection_group",
            "operation": "create",
            "status": "SUCCEEDED",
            "cancelable": False,
            "start_time": "2026-01-01T00:00:00.000Z",
            "end_time": "2026-01-01T00:00:01.000Z",
            "user": "administrator@vsphere.local",
            "description": {"id": "snapservice.task", "default_message": "Task", "args": []},
        },
    }


def small_task(number: int) -> dict[str, Any]:
    """A ListItem of a few dozen bytes (100 000 of them stay under the body cap)."""
    return {"task": f"t-{number}", "info": {"status": "SUCCEEDED"}}


# --- the misbehaviours ------------------------------------------------------------------------


def send(data: bytes) -> Respond:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()

    return respond


def body(
    data: bytes, content_type: str = "application/json", extra: dict[str, str] | None = None
) -> Respond:
    # The responder closes the connection after one answer: say so, or a client that reuses
    # the keep-alive connection races the close (a reset instead of the case under test).
    headers = {
        "Content-Type": content_type,
        "Content-Length": str(len(data)),
        "Connection": "close",
    }
    headers.update(extra or {})
    return send(head("200 OK", headers) + data)


def reset_mid_body() -> Respond:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(head("200 OK", {"Content-Type": "application/json", "Content-Length": "5000"}))
        writer.write(b'{"items": [' + json.dumps(task(1)).encode())
        await writer.drain()
        sock = writer.get_extra_info("socket")
        # SO_LINGER 0: close() sends a TCP RST instead of a FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    return respond


def never_answers() -> Respond:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)

    return respond


def trickle(interval: float = 1.0) -> Respond:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> None:
        payload = json.dumps({"items": [task(n) for n in range(50)]}).encode()
        writer.write(
            head(
                "200 OK", {"Content-Type": "application/json", "Content-Length": str(len(payload))}
            )
        )
        for byte in payload:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(interval)

    return respond


def endless(total: int, content_length: bool = True) -> Respond:
    """``total`` bytes of a JSON string, streamed as fast as the client reads."""

    async def respond(request: Request, writer: asyncio.StreamWriter) -> None:
        headers = {"Content-Type": "application/json"}
        if content_length:
            headers["Content-Length"] = str(total)
        writer.write(head("200 OK", headers))
        chunk = b"x" * 65536
        prefix = b'{"items": [], "padding": "'
        writer.write(prefix)
        sent = len(prefix)
        while sent < total - 2:
            piece = chunk[: min(len(chunk), total - 2 - sent)]
            writer.write(piece)
            sent += len(piece)
            await writer.drain()
        writer.write(b'"}')
        await writer.drain()

    return respond


def gzip_bomb(expanded: int) -> Respond:
    # zeros inside a JSON string: valid JSON if someone inflated all of it
    bomb = gzip.compress(b'{"items": [], "padding": "' + b"0" * expanded + b'"}', compresslevel=9)
    return body(bomb, extra={"Content-Encoding": "gzip"})


def content_length_too_long() -> Respond:
    data = json.dumps({"items": [task(1)]}).encode()
    return send(
        head("200 OK", {"Content-Type": "application/json", "Content-Length": str(len(data) + 100)})
        + data
    )


def content_length_too_short() -> Respond:
    data = json.dumps({"items": [task(1), task(2)]}).encode()
    return send(
        head("200 OK", {"Content-Type": "application/json", "Content-Length": str(len(data) // 2)})
        + data
    )


def content_length_missing() -> Respond:
    """No Content-Length, no chunking, and the connection stays open: the body never ends."""

    async def respond(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(head("200 OK", {"Content-Type": "application/json"}))
        writer.write(json.dumps({"items": [task(1)]}).encode())
        await writer.drain()
        await asyncio.sleep(3600)

    return respond


def deeply_nested(depth: int) -> bytes:
    return b'{"items": [' + b"[" * depth + b"]" * depth + b"]}"


ERROR_BODY = {
    "error_type": "ERROR",
    "messages": [{"id": "vapi.internal", "default_message": "internal error", "args": []}],
}


@dataclass(frozen=True)
class HostileCase:
    name: str
    description: str
    respond: Respond


@functools.cache
def hostile_cases() -> dict[str, HostileCase]:
    """Every misbehaviour, by name (connection refused needs no server and is not here).

    Built once per process: the large bodies take seconds to prepare; the responders are
    stateless, so servers may share them.
    """
    cases = [
        HostileCase("reset-mid-body", "TCP RST after part of the body", reset_mid_body()),
        HostileCase("never-answers", "accepts, reads the request, never answers", never_answers()),
        HostileCase("trickle", "valid body, one byte a second", trickle()),
        HostileCase("non-json", "200 text/html page", body(b"<html>Hi</html>", "text/html")),
        HostileCase(
            "truncated-json",
            "Content-Length matches a cut-off JSON body",
            body(json.dumps({"items": [task(1), task(2)]}).encode()[:-40]),
        ),
        HostileCase(
            "invalid-utf8",
            "JSON with bytes that are not UTF-8",
            body(b'{"items": [{"task": "t-\xff\xfe", "info": {}}]}'),
        ),
        HostileCase("array-not-object", "a JSON array where ListResult belongs", body(b"[]")),
        HostileCase("body-50mb", "a 50 MB body (Content-Length given)", endless(50 * 2**20)),
        HostileCase(
            "body-50mb-no-length",
            "a 50 MB body, close-delimited, no Content-Length",
            endless(50 * 2**20, content_length=False),
        ),
        HostileCase("gzip-bomb", "64 KB of gzip expanding to 64 MB", gzip_bomb(64 * 2**20)),
        HostileCase(
            "content-length-too-long",
            "Content-Length 100 more than sent",
            content_length_too_long(),
        ),
        HostileCase(
            "content-length-too-short", "Content-Length half the body", content_length_too_short()
        ),
        HostileCase(
            "content-length-missing",
            "no Content-Length, connection kept open",
            content_length_missing(),
        ),
        HostileCase(
            "error-body-200",
            "HTTP 200 carrying a vAPI error body",
            body(json.dumps(ERROR_BODY).encode()),
        ),
        HostileCase(
            "items-100000",
            "a ListResult of 100 000 items",
            body(json.dumps({"items": [small_task(n) for n in range(100_000)]}).encode()),
        ),
        HostileCase("deeply-nested", "JSON nested 100 000 levels", body(deeply_nested(100_000))),
        HostileCase(
            "duplicate-keys",
            "the same key twice in an object",
            body(b'{"items": [], "items": [{"task": "t-1", "info": {}}]}'),
        ),
    ]
    return {case.name: case for case in cases}


# --- the servers ------------------------------------------------------------------------------


@dataclass
class Recorder:
    """method + path (+ headers) of every request a server saw; thread-safe."""

    requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def calls(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(r.method, r.path) for r in self.requests]


def session_call(request: Request) -> bytes | None:
    """A well-behaved answer to the session calls, ``None`` for anything else."""
    if request.path != SESSIONS_PATH:
        return None
    if request.method == "POST":
        return json_response("201 Created", SESSION_TOKEN)
    if request.method == "DELETE":
        return head("204 No Content", {"Content-Length": "0"})
    if request.method == "GET":
        return json_response(
            "200 OK",
            {
                "user": "administrator@vsphere.local",
                "created_time": "2026-01-01T00:00:00.000Z",
                "last_accessed_time": "2026-01-01T00:00:00.000Z",
            },
        )
    return None


class LoopbackThread:
    """An asyncio loop in a daemon thread running one ``asyncio.start_server``."""

    def __init__(
        self, handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
    ):
        self._handle = handle
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, limit=2**20)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("hostile server did not start")

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for pending in asyncio.all_tasks():
                if pending is not asyncio.current_task():
                    pending.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = raw.decode("latin-1").split("\r\n")
    method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if length:
        await reader.readexactly(length)
    return Request(method, target, headers)


class HostileServer:
    """``with HostileServer(case) as server:`` — ``server.base_url``, ``server.recorder``."""

    def __init__(self, respond: Respond, *, tasks_path: str = TASKS_PATH) -> None:
        self.recorder = Recorder()
        self._respond = respond
        self._tasks_path = tasks_path
        self._loop_thread = LoopbackThread(self._handle)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    return
                self.recorder.add(request)
                canned = session_call(request)
                if canned is not None:
                    writer.write(canned)
                    await writer.drain()
                    continue
                await self._respond(request, writer)
                writer.close()  # one hostile answer per connection
                return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._loop_thread.port}"

    def __enter__(self) -> HostileServer:
        self._loop_thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop_thread.stop()


def refused_url() -> str:
    """A loopback URL nobody listens on (bound then closed, so the port is free)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- the recording proxy ----------------------------------------------------------------------

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "host",
        "content-length",
    }
)


class ThreadedUvicorn:
    """A uvicorn server (h11, no access log) on its own loopback socket, in a daemon thread."""

    def __init__(self, app: Any, what: str, **options: Any) -> None:
        # the reference server's socket (TCP_NODELAY on every connection): a plain
        # socket.socket() made every answer written in two parts wait ~40 ms for a delayed ACK
        self.socket = bind_socket("127.0.0.1", 0)
        config = uvicorn.Config(app, http="h11", access_log=False, **options)
        self._server, self._thread = uvicorn_in_thread(config, self.socket, name=what)

    @property
    def port(self) -> int:
        return self.socket.getsockname()[1]

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        self.socket.close()


class RecordingProxy:
    """A loopback reverse proxy that records ``(method, path)`` of every request, then forwards it.

    ``with RecordingProxy(upstream) as proxy:`` — point the harness at ``proxy.base_url``; after
    the run ``proxy.recorder.calls()`` is everything it sent, in order. ``strip_prefix`` lets one
    proxy front a URL with a path (the control URL ``http://host:port/_snapconform``).
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.recorder = Recorder()
        self._uvicorn: ThreadedUvicorn | None = None
        # One client for the proxy's life, opened and closed on its event loop (the lifespan):
        # a client per request built a TLS context per request (~40 ms of CPU each), which was
        # half the CPU of a run behind the proxy.
        self._client: httpx.AsyncClient | None = None

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self._client = httpx.AsyncClient(timeout=60)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self._client is not None:
                        await self._client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope["query_string"].decode("latin-1")
        self.recorder.add(
            Request(scope["method"], scope["path"] + (f"?{query}" if query else ""), headers)
        )
        payload = b""
        while True:
            message = await receive()
            payload += message.get("body", b"")
            if not message.get("more_body"):
                break
        forwarded = {k: v for k, v in headers.items() if k not in HOP_BY_HOP}
        raw_path = scope.get("raw_path") or scope["path"].encode()
        url = self.upstream + raw_path.decode("latin-1") + (f"?{query}" if query else "")
        assert self._client is not None, "the proxy's lifespan opens its client"
        upstream = await self._client.request(
            scope["method"], url, headers=forwarded, content=payload
        )
        out_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in upstream.headers.multi_items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-encoding"
        ]
        await send(
            {"type": "http.response.start", "status": upstream.status_code, "headers": out_headers}
        )
        await send({"type": "http.response.body", "body": upstream.content})

    @property
    def base_url(self) -> str:
        assert self._uvicorn is not None
        return f"http://127.0.0.1:{self._uvicorn.port}"

    def __enter__(self) -> RecordingProxy:
        self._uvicorn = ThreadedUvicorn(
            self._app,
            "recording proxy",
            log_level="warning",
            lifespan="on",
            interface="asgi3",
            h11_max_incomplete_event_size=4 * 2**20,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._uvicorn is not None
        self._uvicorn.stop()


@contextlib.contextmanager
def serving(case: HostileCase) -> Iterator[HostileServer]:
    with HostileServer(case.respond) as server:
        yield server


# --- TLS --------------------------------------------------------------------------------------


class TlsServer:
    """An ASGI app served over TLS on loopback with a certificate from a throwaway CA.

    ``ca_pem`` is the CA bundle a client must be given (``--ca-bundle``); without it the
    certificate is self-signed as far as any system trust store knows.
    """

    def __init__(self, app: Any, directory: Any) -> None:
        import trustme  # test dependency; imported here so the rest works without it

        authority = trustme.CA()
        certificate = authority.issue_cert("127.0.0.1", "localhost")
        self.ca_pem = directory / "ca.pem"
        authority.cert_pem.write_to_path(str(self.ca_pem))
        self._cert = directory / "server.pem"
        self._key = directory / "server.key"
        certificate.cert_chain_pems[0].write_to_path(str(self._cert))
        certificate.private_key_pem.write_to_path(str(self._key))
        self._app = app
        self._uvicorn: ThreadedUvicorn | None = None

    @property
    def base_url(self) -> str:
        assert self._uvicorn is not None
        return f"https://127.0.0.1:{self._uvicorn.port}"

    def __enter__(self) -> TlsServer:
        self._uvicorn = ThreadedUvicorn(
            self._app,
            "TLS server",
            log_level="error",
            ssl_certfile=str(self._cert),
            ssl_keyfile=str(self._key),
        )
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._uvicorn is not None
        self._uvicorn.stop()
