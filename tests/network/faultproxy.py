"""A fault-injecting HTTP/1.1 proxy on loopback, for the transport tests (issue 24).

It stands in front of a server (the reference server) and does to the harness what a load
balancer or vCenter's reverse proxy does on a real network, with a seeded random draw per
request, so that a run is reproducible:

* **drops a kept-alive connection as the next request arrives** (``drop_reused``): the request is
  read and the connection closed without a byte of answer, the race of an idle keep-alive
  connection closed by the server just as the client reuses it (httpx: ``RemoteProtocolError:
  Server disconnected without sending a response``);
* **closes idle connections** (``idle_close`` seconds), as a load balancer's idle timeout does;
* **resets a connection after reading the request** (``reset``; RST, ``ReadError: Connection
  reset by peer``). The request is not forwarded: the server never saw it. Only the methods in
  ``reset_methods`` are reset (GET by default): the harness never sends a POST or DELETE
  /sessions twice (the first may have made or ended a session), so a run that loses one of those
  is incomplete by design, tested on its own; an idle drop cannot hit them (they go on a
  connection of their own);
* **delays a response by seconds** (``delay`` share, ``delay_seconds``);
* **loses every request that matches** (``reset_matching``), however often it is sent.

Every other request goes to the server on a connection of its own (``Connection: close``
upstream; the header is taken out of the answer, so the client keeps its connection alive and
the next request can meet a fault). The proxy only binds 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType

#: a request head larger than this is passed on as it is (the server answers it)
MAX_HEAD_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Faults:
    """Which faults the proxy injects, how often (shares of requests) and with which seed."""

    seed: int = 0
    drop_reused: float = 0.0
    reset: float = 0.0
    reset_methods: frozenset[str] = frozenset({"GET"})
    #: reset only requests on a kept-alive connection (a recycled backend connection), never the
    #: first request of a connection: a request sent again on a fresh connection is then never
    #: lost, and a run's verdict does not depend on two faults meeting
    reset_reused_only: bool = False
    delay: float = 0.0
    delay_seconds: float = 2.0
    idle_close: float | None = None
    #: every request whose request line contains these bytes is reset, also when sent again
    #: (evidence the network keeps losing: its checks must end not checked, never failed)
    reset_matching: bytes | None = None


@dataclass
class ProxyCounts:
    """What the proxy did (read by the tests to show the faults really happened)."""

    counts: Counter[str] = field(default_factory=Counter)
    methods: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1


class FaultProxy:
    """``with FaultProxy(host, port, Faults(...)) as proxy:`` then send to ``proxy.base_url``."""

    def __init__(self, upstream_host: str, upstream_port: int, faults: Faults) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.faults = faults
        self.stats = ProxyCounts()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._index = 0
        self._index_lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    @property
    def counts(self) -> Counter[str]:
        return self.stats.counts

    # -- lifecycle -----------------------------------------------------------------------------

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        for conn in list(self._open):
            _close(conn)
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._open.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    # -- one client connection -----------------------------------------------------------------

    def _draw(self) -> random.Random:
        """The random draw of the next request: the seed and the request's index decide it."""
        with self._index_lock:
            self._index += 1
            return random.Random(f"{self.faults.seed}:{self._index}")

    def _serve(self, conn: socket.socket) -> None:
        faults = self.faults
        buffer = b""
        served = 0
        try:
            while True:
                conn.settimeout(faults.idle_close)
                try:
                    head, buffer = _read_head(conn, buffer)
                except TimeoutError:
                    self.stats.add("idle_closed")
                    return
                if head is None:
                    return
                body, buffer = _read_body(conn, buffer, _content_length(head))
                method = head.split(b" ", 1)[0].decode("ascii", "replace")
                self.stats.add("requests")
                with self.stats.lock:
                    self.stats.methods[method] += 1
                draw = self._draw()
                drop, reset, delay = draw.random(), draw.random(), draw.random()
                if served and drop < faults.drop_reused:
                    self.stats.add("dropped")
                    return  # closed (FIN) without a byte of answer
                request_line = head.split(b"\r\n", 1)[0]
                matching = faults.reset_matching is not None and faults.reset_matching in (
                    request_line
                )
                resettable = method in faults.reset_methods and (
                    served or not faults.reset_reused_only
                )
                if matching or (resettable and reset < faults.reset):
                    self.stats.add("reset")
                    # SO_LINGER 0: close() sends RST instead of FIN
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if delay < faults.delay:
                    self.stats.add("delayed")
                    time.sleep(faults.delay_seconds)
                answer = self._forward(head, body)
                if answer is None:
                    return
                conn.settimeout(None)
                conn.sendall(answer)
                served += 1
                self.stats.add("forwarded")
                if _header(head, b"connection") == b"close":
                    return
        except OSError:
            return
        finally:
            self._open.discard(conn)
            _close(conn)

    def _forward(self, head: bytes, body: bytes) -> bytes | None:
        """The server's answer to the request, on a connection of its own, without its
        Connection header (the client's connection stays alive)."""
        lines = [
            line
            for line in head.split(b"\r\n")
            if line and not line.lower().startswith(b"connection:")
        ]
        upstream_head = b"\r\n".join([*lines, b"Connection: close", b"", b""])
        with socket.create_connection(self.upstream, timeout=60) as upstream:
            upstream.sendall(upstream_head + body)
            chunks = []
            while chunk := upstream.recv(65536):
                chunks.append(chunk)
        answer = b"".join(chunks)
        end = answer.find(b"\r\n\r\n")
        if end < 0:
            return None
        kept = [
            line
            for line in answer[:end].split(b"\r\n")
            if not line.lower().startswith(b"connection:")
        ]
        return b"\r\n".join(kept) + answer[end:]


def _read_head(conn: socket.socket, buffer: bytes) -> tuple[bytes | None, bytes]:
    """The next request head (without the blank line) and what follows it; None at EOF."""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > MAX_HEAD_BYTES:
            break
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return buffer, b""
    return buffer[:end], buffer[end + 4 :]


def _read_body(conn: socket.socket, buffer: bytes, length: int) -> tuple[bytes, bytes]:
    while len(buffer) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        buffer += chunk
    return buffer[:length], buffer[length:]


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().lower()
    return None


def _content_length(head: bytes) -> int:
    value = _header(head, b"content-length")
    return int(value) if value and value.isdigit() else 0


def _close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.close()
