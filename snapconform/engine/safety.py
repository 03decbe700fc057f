"""Defences of the harness against its target, and of the target against the harness.

A staging vCenter must never be harmed, and a hostile or broken server must never crash, hang or
fool the harness. Everything here is transport-independent policy that ``target.py`` applies:

* :func:`read_body` reads a streamed response with a cap on the raw *and* the decompressed size
  (a gzip body that expands enormously is stopped at the cap, not after it is in memory);
* :func:`parse_json` decodes strict UTF-8 JSON, refuses duplicate keys, refuses nesting deeper
  than a limit (deep JSON would otherwise blow the recursion of every later consumer);
  :class:`DecodedBodies` keeps a client's decodes by their bytes, so an answer seen before is
  not decoded again;
* :class:`RetryPolicy` decides whether a 429/503 (``Retry-After``) or a transient failure is
  retried; every retry is recorded so that a failure that vanished on retry is reported as flaky;
  a GET whose connection closed before any response byte (an idle keep-alive connection the
  server or a proxy dropped) is sent once more on a fresh connection;
* :class:`RateLimiter` spaces the requests evenly (``--rate-limit``), so a shared server is never
  flooded;
* :func:`check_redirect` decides whether a redirect may be followed: never across origins, so
  credentials never reach another host, port or scheme.

The session ledger and the Ctrl-C deferral that leave no session behind are in
:mod:`snapconform.engine.cleanup` (``interrupts_deferred`` is importable from here too).

Every refusal is a :class:`TargetSafetyError` whose message is one line and never contains a
credential or a session id.
"""

from __future__ import annotations

import gc
import json
import ssl
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any
from urllib.parse import urljoin, urlsplit

# re-exported: the run's front ends defer Ctrl-C with it
from snapconform.engine.cleanup import interrupts_deferred as interrupts_deferred
from snapconform.errors import (
    BodyTooLargeError,
    CorruptEncodingError,
    DeadlineExceededError,
    DuplicateKeyError,
    InvalidJsonError,
    RedirectRefusedError,
    TargetSafetyError,
    TooDeepError,
    UnsupportedEncodingError,
)

#: 16 MiB: a full 1000-task page of the real endpoint is a few MiB; anything far above is hostile.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
#: The vSphere types nest about a dozen levels (Info -> Error -> LocalizableMessage -> params ...).
DEFAULT_MAX_JSON_DEPTH = 64
DEFAULT_MAX_REDIRECTS = 3


@dataclass(frozen=True)
class SafetyLimits:
    """The caps applied to every response."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    max_redirects: int = DEFAULT_MAX_REDIRECTS


# --- bodies -----------------------------------------------------------------------------------


class _Decoder:
    """Decompresses one Content-Encoding with a bound on the output of every call."""

    def __init__(self, encoding: str) -> None:
        if encoding in ("gzip", "x-gzip"):
            wbits = 16 + zlib.MAX_WBITS
        elif encoding == "deflate":
            wbits = zlib.MAX_WBITS  # zlib-wrapped as HTTP says; raw deflate is tried on failure
        else:
            raise UnsupportedEncodingError(
                f"response uses Content-Encoding {encoding!r}; only gzip and deflate are accepted"
            )
        self.encoding = encoding
        self._zlib = zlib.decompressobj(wbits)
        self._may_be_raw = encoding == "deflate"
        self.raw_seen = 0

    def decompress(self, chunk: bytes, max_length: int) -> bytes:
        self.raw_seen += len(chunk)
        try:
            out = self._zlib.decompress(chunk, max_length)
        except zlib.error as error:
            if self._may_be_raw:
                self._may_be_raw = False
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self.raw_seen -= len(chunk)
                return self.decompress(chunk, max_length)
            raise CorruptEncodingError(
                f"response body is not valid {self.encoding}: {error}"
            ) from None
        self._may_be_raw = False
        return out

    @property
    def pending(self) -> bytes:
        return self._zlib.unconsumed_tail

    def finish(self) -> bytes:
        try:
            out = self._zlib.flush()
        except zlib.error as error:
            raise CorruptEncodingError(
                f"response body is not valid {self.encoding}: {error}"
            ) from None
        if self.raw_seen and not self._zlib.eof:
            raise CorruptEncodingError(f"response body is truncated {self.encoding} data")
        return out


def decode_capped(
    raw_chunks: Iterable[bytes],
    content_encoding: str | None,
    max_bytes: int,
    deadline: float | None = None,
) -> bytes:
    """Join raw body chunks, decompressing them, never holding more than ``max_bytes`` + a chunk.

    ``content_encoding`` is the response's header. Raises :class:`BodyTooLargeError` as soon as
    the raw or the decoded size passes the cap: a gzip bomb is stopped at the cap, not after
    inflating. ``deadline`` (a ``time.monotonic()`` value) bounds the whole read: a server that
    trickles one byte a second never trips a per-read timeout, so it is stopped here.
    """
    encodings = [e.strip().lower() for e in (content_encoding or "").split(",") if e.strip()]
    encodings = [e for e in encodings if e != "identity"]
    if len(encodings) > 1:
        raise UnsupportedEncodingError(
            f"response stacks Content-Encodings {', '.join(encodings)}; only one is accepted"
        )
    decoder = _Decoder(encodings[0]) if encodings else None
    raw_total = 0
    parts: list[bytes] = []
    size = 0

    def keep(data: bytes) -> None:
        nonlocal size
        size += len(data)
        if size > max_bytes:
            raise BodyTooLargeError(
                f"response body exceeds the cap of {max_bytes} bytes once decoded"
            )
        parts.append(data)

    for chunk in raw_chunks:
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceededError("response body was still arriving at the deadline")
        raw_total += len(chunk)
        if raw_total > max_bytes:
            raise BodyTooLargeError(f"response body exceeds the cap of {max_bytes} bytes")
        if decoder is None:
            keep(chunk)
            continue
        keep(decoder.decompress(chunk, max_bytes - size + 1))
        while decoder.pending:
            keep(decoder.decompress(decoder.pending, max_bytes - size + 1))
    if decoder is not None:
        keep(decoder.finish())
    return b"".join(parts)


def read_body(
    response: Any, limits: SafetyLimits = SafetyLimits(), deadline: float | None = None
) -> bytes:
    """Read a *streamed* httpx response's body within ``limits`` (raw and decoded).

    The declared Content-Length is checked first, so a 50 MB body is refused before a byte of it
    is read. The response is closed in every case.
    """
    try:
        declared = response.headers.get("content-length")
        if (
            declared is not None
            and declared.strip().isdigit()
            and int(declared) > limits.max_body_bytes
        ):
            raise BodyTooLargeError(
                f"response declares {int(declared)} bytes, over the cap of "
                f"{limits.max_body_bytes} bytes"
            )
        return decode_capped(
            response.iter_raw(),
            response.headers.get("content-encoding"),
            limits.max_body_bytes,
            deadline,
        )
    finally:
        response.close()


# --- JSON -------------------------------------------------------------------------------------


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # dict() in C, then one length comparison: a key given twice leaves fewer entries than
    # pairs. A Python loop over every pair cost ~16% of a declared run (issue 27).
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(f"JSON object has the key {_shorten(key)!r} twice")
            seen.add(key)
    return result


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def json_depth(document: Any) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0, ``[]`` is 1), without recursion.

    Level by level over containers only: scalars are never pushed, which keeps a 100 000-item
    body at a fraction of a per-value walk.
    """
    depth = 0
    level = [document] if isinstance(document, (dict, list)) else []
    while level:
        depth += 1
        level = [
            child
            for value in level
            for child in (value.values() if isinstance(value, dict) else value)
            if isinstance(child, (dict, list))
        ]
    return depth


class CollectorPause:
    """Holds the cyclic garbage collector off while JSON is decoded, in every thread at once.

    Decoding allocates one container per JSON object and array, and each allocation may start
    a collection that walks everything alive: a 100 000-item body took 229 ms to decode with
    the collector on and 128 ms with it off. Decoded JSON holds no cycles, so nothing is left
    uncollected; the collector runs again once the last decoder in the process has finished.
    The collector is process-wide, hence one pause per process with a count of its holders.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._was_enabled = False

    def __enter__(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._holders += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0 and self._was_enabled:
                gc.enable()


#: The process's one pause (the collector it pauses is the process's one collector).
COLLECTOR_PAUSE = CollectorPause()


def parse_json(data: bytes, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> Any:
    """Decode a response body as RFC 8259 JSON, strictly.

    Refuses: bytes that are not UTF-8, anything ``json`` refuses (with the position), duplicate
    keys (which value a server meant is ambiguous, and two parsers may disagree), ``NaN``/
    ``Infinity`` (not JSON), and nesting deeper than ``max_depth``.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidJsonError(f"response body is not UTF-8 (byte {error.start})") from None
    if text.startswith("\ufeff"):
        raise InvalidJsonError("response body starts with a byte-order mark")

    def reject_constant(name: str) -> Any:
        raise InvalidJsonError(f"response body contains {name}, which is not JSON")

    try:
        with COLLECTOR_PAUSE:
            document = json.loads(
                text, object_pairs_hook=_reject_duplicates, parse_constant=reject_constant
            )
    except RecursionError:
        raise TooDeepError(f"JSON nests deeper than {max_depth} levels") from None
    except json.JSONDecodeError as error:
        if not text.strip():
            raise InvalidJsonError("response body is empty, not JSON") from None
        raise InvalidJsonError(
            f"response body is not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    if json_depth(document) > max_depth:
        raise TooDeepError(f"JSON nests deeper than {max_depth} levels")
    return document


class DecodedBodies:
    """The strict decodes of one client's answers, kept by their bytes: an answer whose bytes
    were decoded before gets the same document (or the same refusal) without decoding again.

    A server answers the same query with the same bytes: repeated reads, the same filter in
    several checks, the unfiltered list. In a declared or observed run about two thirds of the
    bytes decoded had been decoded before, and a strict decode (the duplicate-key hook, the
    depth walk) is most of what a large answer costs the harness (issue 27). Consumers share the
    document, so none may change it (tests/engine/test_decoded_bodies.py holds whole runs to
    that). Bounded: answers under ``min_bytes`` are decoded afresh (cheap, and they would crowd
    the large ones out); at most ``max_entries`` answers and ``max_bytes`` of them are kept, the
    least recently used dropped first. Safe to share between threads.
    """

    def __init__(
        self,
        max_depth: int = DEFAULT_MAX_JSON_DEPTH,
        *,
        min_bytes: int = 1024,
        max_bytes: int = 8 * 1024 * 1024,
        max_entries: int = 64,
    ) -> None:
        self.max_depth = max_depth
        self._min_bytes = min_bytes
        self._max_bytes = max_bytes
        self._max_entries = max_entries
        self._lock = threading.Lock()
        # bytes -> (document, refusal): a refusal is kept as its type and message, and raised
        # anew each time (raising one exception object again would grow its traceback)
        self._entries: OrderedDict[bytes, tuple[Any, tuple[type[TargetSafetyError], str] | None]]
        self._entries = OrderedDict()
        self._bytes = 0
        self.hits = 0

    def decode(self, content: bytes) -> Any:
        """``parse_json(content, self.max_depth)``, from the kept decode when there is one."""
        if len(content) < self._min_bytes:
            return parse_json(content, self.max_depth)
        with self._lock:
            kept = self._entries.get(content)
            if kept is not None:
                self._entries.move_to_end(content)
                self.hits += 1
        if kept is None:
            try:
                kept = (parse_json(content, self.max_depth), None)
            except TargetSafetyError as exc:
                kept = (None, (type(exc), str(exc)))
            self._keep(content, kept)
        document, refusal = kept
        if refusal is not None:
            raise refusal[0](refusal[1])
        return document

    def _keep(self, content: bytes, decoded: tuple[Any, Any]) -> None:
        if len(content) > self._max_bytes:
            return
        with self._lock:
            if content in self._entries:  # another thread decoded the same bytes meanwhile
                return
            self._entries[content] = decoded
            self._bytes += len(content)
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                dropped, _ = self._entries.popitem(last=False)
                self._bytes -= len(dropped)

    def kept(self) -> list[tuple[bytes, Any]]:
        """The answers kept and their shared documents (the refusals left out)."""
        with self._lock:
            return [(content, kept[0]) for content, kept in self._entries.items() if not kept[1]]


# --- retries ----------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP-date); ``None`` if absent
    or unparseable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    wait: float = 0.0
    #: why the request is (not) retried, one line, for the report
    reason: str = ""


@dataclass(frozen=True)
class RetryPolicy:
    """When a request is sent again.

    429 and 503 are throttling: honoured (waiting ``Retry-After``, or ``default_wait`` without
    one) up to ``max_attempts`` sends, and given up when the server asks for more than
    ``max_wait`` seconds. Other 5xx and transport failures are retried at most
    ``transient_retries`` times, only so that the report can tell a flaky failure from a steady
    one: the first failure is always reported, never hidden by a later success.
    """

    max_attempts: int = 4
    max_wait: float = 30.0
    default_wait: float = 1.0
    transient_retries: int = 1
    throttle_statuses: frozenset[int] = frozenset({429, 503})
    transient_statuses: frozenset[int] = frozenset({500, 502, 504})
    #: Sends of a GET whose connection closed before any response byte that are retried.
    #: Independent of ``transient_retries`` (a 5xx is an answer; a lost connection is none).
    connection_retries: int = 1
    #: The methods retried after a lost connection: idempotent, and without a side effect the
    #: harness would have to undo (RFC 9112 9.3.1.1). POST /sessions is never sent twice: the
    #: first one may have created a session whose id the harness never learnt.
    retried_methods: frozenset[str] = frozenset({"GET"})

    def retry_lost_connection(self, method: str, lost: int, budget_left: int) -> RetryDecision:
        """Whether to send again a request whose connection closed before any response byte
        (``lost``: how many of its sends were lost so far). No wait: the retry goes out on a
        fresh connection at once (the rate limit still applies), within the budget."""
        if method not in self.retried_methods:
            return RetryDecision(False, reason=f"a {method} is never sent twice; not retried")
        if lost > self.connection_retries:
            return RetryDecision(False, reason=f"lost {lost} times; not retried again")
        if budget_left <= 0:
            return RetryDecision(False, reason="request budget exhausted; not retried")
        return RetryDecision(True, reason="retried once on a fresh connection")

    def decide(
        self,
        attempt: int,
        status: int | None,
        retry_after: str | None = None,
        budget_left: int = 1,
    ) -> RetryDecision:
        """``attempt`` is the number of sends so far (1 after the first); ``status`` is ``None``
        for a transport failure."""
        if status is not None and status not in self.throttle_statuses | self.transient_statuses:
            return RetryDecision(False)
        if budget_left <= 0:
            return RetryDecision(False, reason="request budget exhausted; not retried")
        if attempt >= self.max_attempts:
            return RetryDecision(False, reason=f"gave up after {attempt} attempts")
        if status in self.throttle_statuses:
            wait = parse_retry_after(retry_after)
            if wait is None:
                wait = self.default_wait * (2 ** (attempt - 1))
            if wait > self.max_wait:
                return RetryDecision(
                    False,
                    reason=f"{status} asks to wait {wait:.0f} s, over the {self.max_wait:.0f} s "
                    "limit; not retried",
                )
            return RetryDecision(True, wait, f"{status}: waiting {wait:.1f} s as asked")
        if attempt > self.transient_retries:
            return RetryDecision(False, reason=f"gave up after {attempt} attempts")
        what = f"HTTP {status}" if status is not None else "transport failure"
        return RetryDecision(
            True, self.default_wait, f"{what}: retried once to tell flaky from steady"
        )


@dataclass
class AttemptLog:
    """What happened to each send of one logical request (a retry never hides a failure)."""

    outcomes: list[str] = field(default_factory=list)  # "200", "503", "ConnectError", ...
    waits: list[float] = field(default_factory=list)

    @property
    def retried(self) -> bool:
        return len(self.outcomes) > 1

    @property
    def flaky(self) -> bool:
        """A failure (5xx other than throttling, or a transport error) that a retry did not
        reproduce."""
        if len(self.outcomes) < 2:
            return False
        first, last = self.outcomes[0], self.outcomes[-1]
        return _is_failure(first) and not _is_failure(last) and not _is_throttle(last)

    def summary(self) -> str:
        return " -> ".join(self.outcomes)


def _is_throttle(outcome: str) -> bool:
    return outcome in ("429", "503")


def _is_failure(outcome: str) -> bool:
    return not outcome.isdigit() or (outcome.startswith("5") and outcome != "503")


# --- redirects --------------------------------------------------------------------------------


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def check_redirect(request_url: str, location: str | None, hops: int, limits: SafetyLimits) -> str:
    """The absolute URL a redirect may be followed to, or :class:`RedirectRefusedError`.

    Only same-origin redirects (scheme, host and port all equal) are followed, so credentials and
    session ids never reach another origin; a downgrade from https to http is another origin.
    """
    if not location:
        raise RedirectRefusedError("target answered a redirect without a Location header")
    target = urljoin(request_url, location.strip())
    if origin(target) != origin(request_url):
        scheme, host, port = origin(target)
        raise RedirectRefusedError(
            f"target redirects to another origin ({scheme}://{host}:{port}); not followed, "
            "credentials are never sent there"
        )
    if hops >= limits.max_redirects:
        raise RedirectRefusedError(f"target redirects more than {limits.max_redirects} times")
    return target


# --- TLS --------------------------------------------------------------------------------------


def tls_verification(verify: bool | str) -> bool | ssl.SSLContext:
    """httpx's ``verify`` for ``--insecure`` (False), the default (True) or a CA bundle path.

    True stays True: a run's own transport makes the shared default context on its first https
    connection (``tls_context_source``), and httpx builds one only for a proxy it mounts. A CA
    bundle becomes an explicit context trusting only that bundle (httpx deprecates paths).
    """
    if isinstance(verify, str):
        try:
            return ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError) as error:
            reason = error.strerror or error.reason or type(error).__name__
            raise TargetSafetyError(f"cannot use CA bundle {verify}: {reason}") from None
    return verify


def tls_context_source(
    verify: bool | ssl.SSLContext,
) -> ssl.SSLContext | Callable[[], ssl.SSLContext]:
    """The TLS context of a run's own transport for ``tls_verification``'s answer: a CA
    bundle's context as it is; the default and ``--insecure`` as functions, called on the first
    https connection (a plain-http run never loads the CA bundle)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    return default_tls_context if verify else unverified_tls_context


def unverified_tls_context() -> ssl.SSLContext:
    """``--insecure``: TLS without certificate or host name verification (httpx's own)."""
    import httpx

    return httpx.create_ssl_context(verify=False)


@cache
def default_tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi, or SSL_CERT_FILE/SSL_CERT_DIR), made once.

    httpx builds one per client for ``verify=True``, loading the CA bundle each time: about
    30 ms of CPU, and a run opens a client per principal, per fresh connection and per mock.
    A context is safe to share between clients.
    """
    import httpx

    return httpx.create_ssl_context()


# --- rate limit -------------------------------------------------------------------------------


class RateLimiter:
    """At most ``per_second`` requests per second (even spacing; ``None``: no limit).

    Thread-safe and shared by every client of a run, so the rate stays one global cap however
    many requests are in flight (``--concurrency``). ``hold`` makes every sender wait: a
    server's Retry-After pauses the whole run, not only the request that received it.
    """

    def __init__(self, per_second: float | None, clock: Callable[[], float] = time.monotonic):
        if per_second is not None and per_second <= 0:
            raise ValueError("rate limit must be positive")
        self._interval = 0.0 if per_second is None else 1.0 / per_second
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            if now < self._next:
                time.sleep(self._next - now)
                now = self._next
            self._next = now + self._interval

    def hold(self, seconds: float) -> None:
        """No request leaves before ``seconds`` from now (a Retry-After)."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)
