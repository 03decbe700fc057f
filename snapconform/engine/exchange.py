"""One HTTP exchange with a target: the ``Exchange`` a check judges and the report shows.

``Target.send`` makes one ``Exchange`` per answer (the request as sent, its credentials masked;
the status, headers, raw text and strictly decoded body of the answer) and keeps a recorded copy
of it for the report (:meth:`Exchange.recorded`: secrets masked, body capped, the decoded body
dropped); ``Stats`` counts what the run sent. The fuzzing layer makes the same ``Exchange`` of
what a fuzzed request got back (:meth:`Exchange.parse`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx

from snapconform.engine.safety import (
    DEFAULT_MAX_JSON_DEPTH,
    DecodedBodies,
    TargetSafetyError,
    parse_json,
)
from snapconform.redaction import Redactor

#: How much of a response body a recorded Exchange keeps for the report.
RECORDED_BODY_LIMIT = 4096
#: How many exchanges a Target keeps (oldest dropped first; counts are never dropped).
RECORDED_EXCHANGES_LIMIT = 2000

AuthScheme = Literal["session", "basic", "none"]


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as every check judges it and the report shows it.

    The request: ``method``, ``path``, ``query`` (as sent, percent-encoded), how it
    authenticated (``auth``) and its headers (``request_headers``, credentials masked). The
    answer: ``status``, ``headers``, the raw ``text``, the ``body`` decoded as strict JSON
    (None when there is none or it is not JSON: ``json_error`` says why) and ``elapsed``
    seconds. A recorded copy (:meth:`recorded`) is the same type, masked and capped.
    """

    status: int
    headers: httpx.Headers
    text: str
    body: Any
    json_error: str | None
    method: str
    path: str
    query: str
    #: How the request authenticated: "session", "basic" or "none" (for the curl line).
    auth: AuthScheme = "none"
    request_headers: Mapping[str, str] = field(default_factory=dict)
    elapsed: float = 0.0

    @classmethod
    def parse(
        cls,
        method: str,
        path: str,
        status: int,
        headers: httpx.Headers | Mapping[str, str] | Iterable[tuple[str, str]],
        content: bytes,
        *,
        query: str = "",
        auth: AuthScheme = "none",
        request_headers: Mapping[str, str] | None = None,
        elapsed: float = 0.0,
        max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
        bodies: DecodedBodies | None = None,
    ) -> Exchange:
        """An answer's bytes decoded as every answer is: strict JSON (``safety.parse_json``: no
        duplicate keys, bounded depth), text with undecodable bytes replaced. With ``bodies``
        (whose depth limit then applies), an answer decoded before shares its document."""
        body: Any = None
        json_error: str | None = None
        if content:
            try:
                body = (
                    bodies.decode(content)
                    if bodies is not None
                    else parse_json(content, max_json_depth)
                )
            except TargetSafetyError as exc:
                json_error = str(exc)
        return cls(
            status,
            headers if isinstance(headers, httpx.Headers) else httpx.Headers(headers),
            content.decode("utf-8", errors="replace"),
            body,
            json_error,
            method.upper(),
            path,
            query,
            auth,
            request_headers or {},
            elapsed,
        )

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def recorded(self, redact: Redactor) -> Exchange:
        """The copy a report keeps: every secret ``redact`` knows masked (credential headers
        whole), the text capped at RECORDED_BODY_LIMIT characters and the decoded body dropped,
        so a hostile target's large answers cost bounded memory however many are kept."""
        text = self.text
        if len(text) > RECORDED_BODY_LIMIT:
            text = text[:RECORDED_BODY_LIMIT] + f"... ({len(self.text)} characters)"
        return replace(
            self,
            headers=httpx.Headers(redact.headers(self.headers.multi_items())),
            text=redact(text),
            body=None,
            query=redact(self.query),
            request_headers=redact.headers(self.request_headers.items()),
        )

    def to_document(self) -> dict[str, Any]:
        return {
            "request": f"{self.method} {self.path}" + (f"?{self.query}" if self.query else ""),
            "request_headers": dict(self.request_headers),
            "status": self.status,
            "response_headers": dict(self.headers),
            "body": self.text,
            "elapsed": round(self.elapsed, 4),
        }


@dataclass
class Stats:
    requests: int = 0
    #: Held while a send is counted against the budget (``Target._admit``): with requests in
    #: flight on several threads (``--concurrency``) the budget stays one exact cap.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    distinct_queries: set[str] = field(default_factory=set)
    #: Which universe the server holds (controlled mode bumps it on every state push).
    universe: int = 0
    #: (universe, query) pairs: a filter case is a filter evaluated against one universe.
    filter_cases: set[tuple[int, str]] = field(default_factory=set)
    #: Requests whose connection closed before any response byte and that were sent again
    #: (each retry is also counted in ``requests``: it spends the budget like any request).
    connection_retried: int = 0
    #: Requests lost to the network for good (after the retry, or a POST that is never retried).
    connection_lost: int = 0

    def transport_document(self) -> dict[str, int]:
        """The summary's ``transport`` object (contracts/summary.schema.json)."""
        return {"retried": self.connection_retried, "lost": self.connection_lost}
