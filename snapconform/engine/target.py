"""Target: the only way the harness talks to a server under test.

One httpx client with authentication (session or basic: ``engine.authentication``), TLS
(verification on unless ``insecure``), timeouts, a request budget and a rate limit. It sends
nothing but the requests in ``ALLOWED_REQUESTS`` (enforced in ``send``, the single place a
request leaves), never follows redirects (so credentials never travel to another origin), and
records every exchange (``engine.exchange``) with its secrets (passwords, session ids,
Authorization values) replaced by ``***``.

``ControlClient`` (``engine.control``) is the separate, small client for the reference server's
control protocol, used only in controlled mode. The names its users import with the client
(``ControlClient``, ``basic_authorization``, ``LoginRefused``, the records) stay importable here.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from snapconform.engine.authentication import (
    Authentication,
    basic_authorization as basic_authorization,
)
from snapconform.engine.batch import Answers, K, Read
from snapconform.engine.cleanup import SessionLedger
from snapconform.engine.control import ControlClient as ControlClient
from snapconform.engine.exchange import (
    RECORDED_EXCHANGES_LIMIT,
    AuthScheme,
    Exchange,
    Stats,
)
from snapconform.engine.http11 import RunClient, StdlibTransport
from snapconform.engine.retrying import (
    NO_RETRY_AFTER_503 as NO_RETRY_AFTER_503,
    SendRetries,
    is_documented_500 as is_documented_500,
)
from snapconform.engine.safety import (
    DeadlineExceededError,
    DecodedBodies,
    RateLimiter,
    RedirectRefusedError,
    RetryPolicy,
    SafetyLimits,
    TargetSafetyError,
    check_redirect,
    read_body,
    tls_context_source,
    tls_verification,
)
from snapconform.errors import (
    BudgetExhausted,
    ConnectionLostError,
    ForbiddenRequest,
    LoginRefused as LoginRefused,
    TargetError,
)
from snapconform.filterspec import FilterSpec, encode_query
from snapconform.redaction import SECRET_HEADERS, Redactor
from snapconform.wire import SESSION_HEADER, SESSIONS_PATH, TASKS_PATH

#: Every request the harness may send to a target. Nothing else ever leaves ``send``.
ALLOWED_REQUESTS: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", TASKS_PATH),
        ("POST", SESSIONS_PATH),
        ("GET", SESSIONS_PATH),
        ("DELETE", SESSIONS_PATH),
    }
)


@dataclass(frozen=True)
class TargetSettings:
    base_url: str
    auth: Literal["session", "basic"] = "session"
    verify: bool | str = True  # False: --insecure; str: CA bundle path
    timeout: float = 30.0
    max_requests: int = 5000
    rate_limit: float | None = None  # requests per second; None: unlimited
    #: body size and JSON depth caps (see safety.py)
    limits: SafetyLimits = field(default_factory=SafetyLimits)
    #: 429/503 Retry-After honoured; a GET's 5xx retried once, the failure still reported
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: Reads of one batch (``list_many``) in flight at once, on one connection pool; 1: one at a
    #: time. The budget and the rate limit stay global caps whatever the number.
    concurrency: int = 1


#: httpx's errors for a connection closed or reset before any byte of an answer.
CONNECTION_LOST: tuple[type[httpx.HTTPError], ...] = (
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)


class AnswerCookies(httpx.Cookies):
    """httpx's cookie jar, which skips an answer that sets no cookie.

    httpx hands every answer to ``http.cookiejar`` (two adapter objects, a URL rebuilt, the
    headers copied): about a twentieth of a run's CPU, though the endpoint sets no cookie.
    An answer without ``Set-Cookie`` leaves the jar as it was either way.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class Target(SendRetries, Authentication):
    """The server under test, as one principal sees it.

    ``login()`` establishes the credentials (a session, or Basic on every request);
    ``list_tasks(spec)`` is the operation under test. Exchanges are recorded and redacted.
    A Target may share its budget/stats with other Targets (other principals) of the same run.
    """

    def __init__(
        self,
        settings: TargetSettings,
        *,
        stats: Stats | None = None,
        redactor: Redactor | None = None,
        observers: list[Callable[[Exchange], None]] | None = None,
        transport: httpx.BaseTransport | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        parsed = urlsplit(settings.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise TargetError(f"base URL must be http(s)://host[:port], got {settings.base_url!r}")
        if settings.verify is False and parsed.scheme == "https":
            warnings.warn("TLS certificate verification is disabled (--insecure)", stacklevel=2)
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self.stats = stats if stats is not None else Stats()
        self.redact = redactor if redactor is not None else Redactor()
        self.observers = observers if observers is not None else []
        self.exchanges: list[Exchange] = []
        #: this client's decoded answers, by their bytes (shared documents: read-only)
        self.bodies = DecodedBodies(settings.limits.max_json_depth)
        if settings.concurrency < 1:
            raise TargetError(f"concurrency must be at least 1, got {settings.concurrency}")
        #: shared by the run's clients (``limiter=``): one rate for the run, however many
        self.limiter = limiter if limiter is not None else RateLimiter(settings.rate_limit)
        try:
            verify = tls_verification(settings.verify)
        except TargetSafetyError as exc:
            raise TargetError(str(exc)) from None
        keep_alive = max(20, settings.concurrency)
        self._client = RunClient(
            base_url=self.base_url,
            verify=verify,
            timeout=settings.timeout,
            follow_redirects=False,
            transport=transport or StdlibTransport(tls_context_source(verify), max_idle=keep_alive),
            limits=httpx.Limits(
                max_connections=max(100, settings.concurrency),
                max_keepalive_connections=keep_alive,
            ),
        )
        self._client._cookies = AnswerCookies()  # the setter would copy into a plain jar
        # A client whose every request opens a connection of its own and closes it after: for
        # POST /sessions (never retried, so never sent on a pooled connection the server may
        # have dropped while it was idle) and for the retry of a lost GET. Made on first use.
        self._fresh_client: httpx.Client | None = None
        self._fresh_options: dict[str, Any] = {
            "base_url": self.base_url,
            "verify": verify,
            "timeout": settings.timeout,
            "follow_redirects": False,
            "transport": transport or StdlibTransport(tls_context_source(verify), max_idle=0),
            "limits": httpx.Limits(max_keepalive_connections=0),
        }
        self._credentials: tuple[str, str] | None = None
        self._session_id: str | None = None
        #: sessions this client created; close() deletes those still open
        self.sessions = SessionLedger()
        self.auth_scheme: AuthScheme = "none"
        self.notes: list[str] = []
        self._notes_lock = threading.Lock()
        self._fresh_lock = threading.Lock()
        #: the threads that send a batch's reads ahead (``list_many``); made on first use
        self._senders: ThreadPoolExecutor | None = None

    # -- plumbing ------------------------------------------------------------------------------

    def close(self) -> None:
        """Delete every session this client created and still holds, then close the client.

        Runs on every way out (``with``, the harness teardown on failure or Ctrl-C), so a run
        leaves no session behind on a shared vCenter.
        """
        try:
            if self._senders is not None:
                self._senders.shutdown(wait=True, cancel_futures=True)
            self.sessions.close_all(self._delete_for_cleanup)
        finally:
            self._client.close()
            if self._fresh_client is not None:
                self._fresh_client.close()

    def _delete_for_cleanup(self, session_id: str) -> None:
        # Outside the budget on purpose: a logout is harmless and leaving sessions is not.
        # A DELETE is idempotent: one whose connection closed before any answer is sent once
        # more on a fresh connection (whatever it answers then, the session is gone).
        for client in (self._client, self._fresh()):
            self.stats.requests += 1
            try:
                client.delete(
                    SESSIONS_PATH,
                    headers={SESSION_HEADER: session_id},
                    timeout=min(self.settings.timeout, 10.0),
                )
                break
            except Exception as exc:
                # Sent once more on a fresh connection: a pooled one that closed before any
                # answer (CONNECTION_LOST), or one a Ctrl-C left corrupt by landing inside h11
                # while it changed state (httpcore hands it out again; its next request fails
                # with a bare AssertionError). Any other HTTP error ends the attempt.
                pooled_fault = isinstance(exc, CONNECTION_LOST) or not isinstance(
                    exc, httpx.HTTPError
                )
                if client is not self._client or not pooled_fault:
                    raise TargetError(
                        f"DELETE {SESSIONS_PATH} failed: {type(exc).__name__}"
                    ) from None
                self.stats.connection_retried += 1
        if session_id == self._session_id:
            self._session_id = None

    def _fresh(self) -> httpx.Client:
        with self._fresh_lock:
            if self._fresh_client is None:
                self._fresh_client = RunClient(**self._fresh_options)
            return self._fresh_client

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def remaining_budget(self) -> int:
        return max(0, self.settings.max_requests - self.stats.requests)

    def requests_admitted(self) -> int:
        """How many more requests this client would send now: the run's budget left (a
        ``RunTarget`` also counts its check's share). A generator asks it so as not to draw
        cases that could never go out."""
        return self.remaining_budget

    def send(
        self,
        method: str,
        path: str,
        query: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> Exchange:
        """Send one request and return its answer, recorded and shown to the observers."""
        return self._answer(
            method, path, query, lambda: self._transmit(method, path, query, headers)
        )

    def _answer(
        self, method: str, path: str, query: str, transmitted: Callable[[], Exchange]
    ) -> Exchange:
        """The answer ``transmitted()`` gives (sent now, or by a sender thread), counted,
        recorded and shown to the observers in the caller's order; a lost connection marked."""
        if method == "GET" and path == TASKS_PATH:
            self.stats.distinct_queries.add(query)
            self.stats.filter_cases.add((self.stats.universe, query))
        try:
            exchange = transmitted()
        except ConnectionLostError:
            self._connection_lost()
            raise
        return self._deliver(exchange)

    def _connection_lost(self) -> None:
        """A request of this client was lost to the network (RunTarget: marks when)."""

    def _transmit(
        self, method: str, path: str, query: str, headers: Mapping[str, str] | None
    ) -> Exchange:
        """The request sent (within the budget, the rate limit and the retry policy) and its
        answer parsed. Safe on a sender thread: it records nothing and calls no observer."""
        if (method, path) not in ALLOWED_REQUESTS:
            raise ForbiddenRequest(f"{method} {path} is not an allowed request to a target")
        url = path + (f"?{query}" if query else "")
        headers = dict(headers or {})
        headers.setdefault("Accept", "application/json")
        # only encodings safety.read_body can bound (never br/zstd, even if installed)
        headers.setdefault("Accept-Encoding", "gzip, deflate")
        raw, content, elapsed = self._send_with_retries(method, path, url, headers)
        if raw.is_redirect:
            self._note_redirect(method, path, raw)
        lowered = {name.lower() for name in headers}
        auth: AuthScheme = (
            "session"
            if SESSION_HEADER in lowered
            else "basic"
            if "authorization" in lowered
            else "none"
        )
        exchange = Exchange.parse(
            method,
            path,
            raw.status_code,
            raw.headers,
            content,
            query=query,
            bodies=self.bodies,
            auth=auth,
            request_headers=self.redact.headers(raw.request.headers.multi_items()),
            elapsed=elapsed,
        )
        if method == "POST" and path == SESSIONS_PATH and isinstance(exchange.body, str):
            self.redact.add(exchange.body)  # a session token: a secret before anything records it
        return exchange

    def _deliver(self, exchange: Exchange) -> Exchange:
        """Record an answer and show it to the observers (the audit), in the order the caller
        takes the answers: the same order whatever the concurrency."""
        self._record(exchange)
        for observer in self.observers:
            observer(exchange)
        return exchange

    def _send_once(
        self,
        method: str,
        path: str,
        url: str,
        headers: Mapping[str, str],
        *,
        fresh: bool = False,
        resend: bool = False,
    ) -> tuple[httpx.Response, bytes, float]:
        """One send within the budget and rate limit; the body read within the safety limits
        and the whole exchange within ``timeout`` (a trickling server cannot stretch it).

        ``fresh``: on a connection of its own, never a pooled one; ``resend``: the send again of
        a request the network lost (RunTarget: outside the check's share). Raises
        ``ConnectionLostError`` when the connection closed before any byte of a response (the
        caller decides whether to send again)."""
        with self.stats.lock:
            self._admit(resend=resend)
        started = time.monotonic()
        where = f"{method} {self.base_url}{path}"
        client = self._fresh() if fresh else self._client
        try:
            try:
                raw = client.send(client.build_request(method, url, headers=headers), stream=True)
            except CONNECTION_LOST as exc:
                # No status line yet: the server (or a proxy) closed or reset the connection
                # before answering, typically an idle keep-alive connection dropped just as
                # the request went out. Not an answer of the server: nothing to judge.
                raise ConnectionLostError(
                    f"{where}: the connection closed before any response"
                    f" ({type(exc).__name__}: {self.redact(str(exc)) or 'no detail'})",
                    type(exc).__name__,
                ) from None
            content = read_body(raw, self.settings.limits, started + self.settings.timeout)
        except (httpx.TimeoutException, DeadlineExceededError):
            raise TargetError(f"{where} timed out after {self.settings.timeout:g}s") from None
        except httpx.ConnectError as exc:
            raise TargetError(connect_error_message(self.base_url, self.redact(str(exc)))) from None
        except TargetSafetyError as exc:
            raise TargetError(f"{where}: {self.redact(str(exc))}") from None
        except httpx.HTTPError as exc:
            raise TargetError(
                f"{where} failed: {type(exc).__name__}: {self.redact(str(exc))}"
            ) from None
        return raw, content, time.monotonic() - started

    def _admit(self, *, resend: bool) -> None:
        """Count one send against the budget, after the rate limit's wait (under the run's
        ``stats.lock``: requests in flight on several threads never overspend the budget)."""
        if self.stats.requests >= self.settings.max_requests:
            raise BudgetExhausted(f"request budget of {self.settings.max_requests} spent")
        self.limiter.wait()
        self.stats.requests += 1

    def _note(self, note: str) -> None:
        note = self.redact(note)
        with self._notes_lock:
            if note not in self.notes:
                self.notes.append(note)

    def _note_redirect(self, method: str, path: str, raw: httpx.Response) -> None:
        """Redirects are never followed (only the documented paths are ever requested, and
        credentials never travel to another origin); say where the target wanted to send us."""
        try:
            check_redirect(
                str(raw.request.url), raw.headers.get("location"), 0, self.settings.limits
            )
        except RedirectRefusedError as exc:
            self._note(f"{method} {path} answered {raw.status_code}: {exc}")
        else:
            self._note(
                f"{method} {path} answered {raw.status_code} (same-origin redirect, not followed)"
            )

    def _record(self, exchange: Exchange) -> None:
        """Keep the report's copy (masked, body capped), the last RECORDED_EXCHANGES_LIMIT."""
        self.exchanges.append(exchange.recorded(self.redact))
        if len(self.exchanges) > RECORDED_EXCHANGES_LIMIT:
            del self.exchanges[: len(self.exchanges) - RECORDED_EXCHANGES_LIMIT]

    # -- the operation under test --------------------------------------------------------------

    def list_tasks(self, spec: FilterSpec | None = None) -> Exchange:
        """GET /api/snapservice/tasks with ``spec`` as exploded, percent-encoded query pairs."""
        return self.get_tasks(encode_query((spec or FilterSpec()).query_pairs()))

    def get_tasks(
        self,
        query: str = "",
        *,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
    ) -> Exchange:
        """GET /api/snapservice/tasks with a raw (already encoded) query string."""
        return self.send(
            "GET", TASKS_PATH, query, headers=self._read_headers(headers, authenticated)
        )

    def _read_headers(
        self, headers: Mapping[str, str] | None, authenticated: bool
    ) -> dict[str, str]:
        merged = self.auth_headers() if authenticated else {}
        merged.update(headers or {})
        for name, value in merged.items():
            if name.lower() in SECRET_HEADERS:
                self.redact.add(value.removeprefix("Basic "))
                self.redact.add(value)
        return merged

    def list_many(self, specs: Sequence[FilterSpec]) -> Answers[FilterSpec]:
        """The answers to GET /api/snapservice/tasks for each of ``specs``, in order.

        Use it as ``with target.list_many(specs) as answers: for spec, response in answers:``.
        With ``concurrency`` 1 each request is sent when its answer is taken, exactly as
        ``list_tasks`` one after another. With more, up to that many are in flight ahead of the
        answer being judged; a caller that stops early (a violation) leaves the rest unsent,
        and the ones already in flight are still recorded and audited when the ``with`` ends.
        """
        return self.read_many([(spec, Read(encode_query(spec.query_pairs()))) for spec in specs])

    def read_many(self, reads: Sequence[tuple[K, Read]]) -> Answers[K]:
        """``list_many`` for reads of any query and headers (engine.batch)."""
        return Answers(self, reads)

    def read(self, read: Read) -> Exchange:
        """One read sent now (``Answers`` at concurrency 1)."""
        return self.send("GET", TASKS_PATH, read.query, headers=self._headers_of(read))

    def submit_read(self, read: Read) -> Future[Exchange]:
        """One read handed to a sender thread (``Answers`` at concurrency > 1)."""
        headers = self._headers_of(read)
        if self._senders is None:
            self._senders = ThreadPoolExecutor(
                max_workers=self.settings.concurrency, thread_name_prefix="snapconform-send"
            )
        return self._senders.submit(self._transmit, "GET", TASKS_PATH, read.query, headers)

    def receive_read(self, read: Read, sent: Future[Exchange]) -> Exchange:
        """The answer of a submitted read, recorded and audited now (in the caller's order)."""
        return self._answer("GET", TASKS_PATH, read.query, sent.result)

    def _headers_of(self, read: Read) -> Mapping[str, str]:
        """A read's own headers, or the client's credentials as ``get_tasks`` attaches them."""
        return self._read_headers(None, True) if read.headers is None else read.headers


def connect_error_message(base_url: str, cause: str) -> str:
    """One line for a connection that could not be made, with the likely fix when the cause
    is a known one (TLS against plain HTTP, nothing listening, an unverifiable certificate)."""
    cause = " ".join(cause.split()) or "no detail"
    if "WRONG_VERSION_NUMBER" in cause or "wrong version number" in cause:
        return (
            f"cannot connect to {base_url}: the server does not speak TLS there (SSL"
            " WRONG_VERSION_NUMBER: a plain HTTP server?); try http:// in --base-url"
        )
    if "Connection refused" in cause or "Errno 111" in cause:
        return (
            f"cannot connect to {base_url}: connection refused, nothing listens there; check"
            " the host and port of --base-url and that the server is running"
        )
    if "CERTIFICATE_VERIFY_FAILED" in cause or "certificate verify failed" in cause:
        return (
            f"cannot connect to {base_url}: {cause}; pass the CA's certificate (PEM) with"
            " --ca-bundle (or SNAPCONFORM_CA_BUNDLE), and use the host name the certificate"
            " was issued for"
        )
    return f"cannot connect to {base_url}: {cause}"
