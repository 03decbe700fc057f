"""The fuzzer's transport layer: a generated case as the exact request that goes on the wire, with
the right credentials on it, sent by the caller's ``send`` (the engine's Target by default), and
what is secret in it masked wherever it is shown.
"""

from __future__ import annotations

import base64
import datetime
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import h11
import httpx
import requests
from schemathesis.transport.requests import REQUESTS_TRANSPORT

from snapconform.engine import target as target_module
from snapconform.engine.batch import Answers, Read
from snapconform.engine.exchange import Exchange
from snapconform.engine.fuzzing.scenarios import CredentialSource
from snapconform.errors import BudgetExhausted, ConnectionLostError
from snapconform.redaction import MASK, SECRET_HEADERS

if TYPE_CHECKING:
    from schemathesis.generation.case import Case

    from snapconform.engine.target import Target


@dataclass(frozen=True)
class FuzzRequest:
    """One request exactly as it goes on the wire: the URL is already percent-encoded."""

    method: str
    path: str
    url: str
    headers: Mapping[str, str] = field(repr=False)

    def summary(self) -> str:
        """Method and URL path with query, plus the header names (secret values masked)."""
        parsed = urllib.parse.urlsplit(self.url)
        target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        shown = ", ".join(
            f"{name}: {MASK if name.lower() in SECRET_HEADERS else value}"
            for name, value in self.headers.items()
            if name.lower() not in _NOISE_HEADERS
        )
        return f"{self.method} {target}" + (f" ({shown})" if shown else "")


_NOISE_HEADERS = frozenset(
    {"user-agent", "accept-encoding", "accept", "connection", "x-schemathesis-testcaseid"}
)


class Send(Protocol):
    """Sends one request and returns the response; may raise ``BudgetExhausted``."""

    def __call__(self, request: FuzzRequest) -> httpx.Response: ...


def httpx_sender(base_url: str, timeout: float) -> tuple[Send, Callable[[], None]]:
    client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)

    def send(request: FuzzRequest) -> httpx.Response:
        return client.request(request.method, request.url, headers=dict(request.headers))

    return send, client.close


def prepare(
    case: Case, base_url: str, auth_headers: Mapping[str, str], credentials: CredentialSource
) -> FuzzRequest:
    """Serialize a case as schemathesis would, then put the right credentials on it.

    schemathesis' requests transport, which ``case.as_transport_kwargs`` picks for a schema
    with no app, named directly: picking it imports the ASGI and WSGI transports (anyio) to
    test the app's kind, ~20 ms of CPU per run for a choice that is always this one.
    """
    kwargs = REQUESTS_TRANSPORT.serialize_case(case, base_url=base_url)
    headers: dict[str, str] = {str(k): str(v) for k, v in kwargs["headers"].items()}
    if kwargs.get("auth") is not None:
        user, password = kwargs["auth"]
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    if credentials is CredentialSource.CALLER:
        for name in list(headers):
            if name.lower() in SECRET_HEADERS:
                del headers[name]
        headers.update(auth_headers)
    prepared = requests.Request(
        method=kwargs["method"], url=kwargs["url"], params=kwargs.get("params")
    ).prepare()
    return FuzzRequest(
        method=str(kwargs["method"]).upper(),
        path=case.path,
        url=str(prepared.url),
        headers=headers,
    )


def is_sendable(request: FuzzRequest) -> bool:
    """Whether the request can be put on the wire at all (generated header names may not).

    The HTTP/1.1 client's own rules decide (h11, which httpx sends with): a generated
    ``content-length: Us=_`` is refused by the client before anything is sent, and such a
    client-side refusal is no deviation of the server (a CI run's quick start once reported
    one as a FUZZ-SCHEMATHESIS failure).
    """
    try:
        built = httpx.Request(request.method, request.url, headers=dict(request.headers))
        h11.Request(
            method=request.method,
            target=built.url.raw_path,
            headers=built.headers.raw,
        )
    except (httpx.InvalidURL, h11.LocalProtocolError, ValueError, TypeError, UnicodeError):
        return False
    return all(
        name.isascii() and name.isprintable() and value.isascii() and "\n" not in value
        for name, value in request.headers.items()
    )


@contextmanager
def _target_errors_as_transport_errors() -> Iterator[None]:
    """A Target's failure as the transport error schemathesis' caller expects, except the
    budget's refusal and a request the network lost: the caller's own signals (no answer to
    judge, not a transport error of the server), TargetErrors too, so let through first."""
    try:
        yield
    except (BudgetExhausted, ConnectionLostError):
        raise
    except target_module.TargetError as exc:
        raise httpx.TransportError(str(exc)) from None


def target_sender(target: Target) -> Send:
    """A ``send`` that goes through the engine's Target: its allow-list, budget, rate limit,
    redaction and exchange record apply to every fuzzed request."""

    def send(request: FuzzRequest) -> httpx.Response:
        query = urllib.parse.urlsplit(request.url).query
        with _target_errors_as_transport_errors():
            # Target.send is the single exit point: the allow-list and the budget apply.
            answer = target.send(request.method, request.path, query, headers=request.headers)
        return as_response(request, answer)

    return send


class SendMany(Protocol):
    """Sends fuzzed reads of GET /api/snapservice/tasks, up to the run's concurrency ahead of
    the one taken; ``next`` on the result raises what ``Send`` would for that request."""

    def __call__(self, requests: Sequence[FuzzRequest]) -> FuzzAnswers: ...


class FuzzAnswers:
    """The responses to a batch of fuzzed reads, in order (``Target.read_many`` underneath)."""

    def __init__(self, answers: Answers[FuzzRequest]) -> None:
        self._answers = answers

    def __enter__(self) -> FuzzAnswers:
        return self

    def __exit__(self, *exc: object) -> None:
        self._answers.close()

    def __next__(self) -> httpx.Response:
        with _target_errors_as_transport_errors():
            request, answer = next(self._answers)
        return as_response(request, answer)


def target_batch_sender(target: Target) -> SendMany:
    """A ``SendMany`` through the engine's Target (``Target.read_many``)."""

    def send_many(requests: Sequence[FuzzRequest]) -> FuzzAnswers:
        reads = [
            (request, Read(urllib.parse.urlsplit(request.url).query, request.headers))
            for request in requests
        ]
        return FuzzAnswers(target.read_many(reads))

    return send_many


def as_response(request: FuzzRequest, answer: Exchange) -> httpx.Response:
    """The Target's answer as the httpx response schemathesis validates."""
    headers = [
        (name, value)
        for name, value in answer.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    started = time.perf_counter()
    response = httpx.Response(
        answer.status,
        headers=headers,
        content=answer.text.encode("utf-8"),
        request=httpx.Request(request.method, request.url),
    )
    response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
    return response
