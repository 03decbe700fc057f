"""What a target's answers become: the Response a check judges, the Exchange a report shows.

``Target.send`` makes one ``Response`` per answer (status, headers, decoded body, raw text) and
records one ``Exchange`` of it (secrets masked, body capped); ``Stats`` counts what the run sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

#: How much of a response body an Exchange keeps for the report.
RECORDED_BODY_LIMIT = 4096
#: How many exchanges a Target keeps (oldest dropped first; counts are never dropped).
RECORDED_EXCHANGES_LIMIT = 2000

AuthScheme = Literal["session", "basic", "none"]


@dataclass(frozen=True)
class Exchange:
    """One recorded request/response, secrets masked, body capped."""

    method: str
    path: str
    query: str
    request_headers: Mapping[str, str]
    status: int
    response_headers: Mapping[str, str]
    body: str
    elapsed: float

    def to_document(self) -> dict[str, Any]:
        return {
            "request": f"{self.method} {self.path}" + (f"?{self.query}" if self.query else ""),
            "request_headers": dict(self.request_headers),
            "status": self.status,
            "response_headers": dict(self.response_headers),
            "body": self.body,
            "elapsed": round(self.elapsed, 4),
        }


@dataclass(frozen=True)
class Response:
    """What a check sees: status, headers, the decoded body (``None`` if not JSON) and raw text."""

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

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


@dataclass
class Stats:
    requests: int = 0
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
