"""How the report shows an exchange and a difference, secrets masked (pure functions).

- :func:`view_exchange`: an engine exchange as an :class:`ExchangeView`, masked again;
- :func:`exchange_title`, :func:`request_document`, :func:`response_document`: its step;
- :func:`curl_line`: the copy-paste curl command, credentials from environment variables;
- :func:`set_diff_text`: expected versus actual task ids, as a diff a reviewer can read.

:mod:`snapconform.report.allure_writer` writes them into Allure results.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from snapconform.redaction import MASK, mask_headers, mask_text, mask_url
from snapconform.wire import SESSION_HEADER, curl_line as wire_curl_line

#: Attachment names the report post-processor (:mod:`snapconform.report.results`) looks for.
EXPECTED_IDS_ATTACHMENT = "expected task ids"
ACTUAL_IDS_ATTACHMENT = "actual task ids"
DIFF_ATTACHMENT = "task id diff (expected vs actual)"
COUNTEREXAMPLE_ATTACHMENT = "minimal counterexample"
CURL_ATTACHMENT = "curl"

_LIST_LIMIT = 50  # ids shown per side of a diff; the attachments carry all of them


@dataclass(frozen=True)
class ExchangeView:
    """An exchange as the report shows it: already masked, whatever shape the engine records."""

    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    error: str | None = None
    elapsed_ms: float | None = None


def _first(obj: Any, *names: str) -> Any:
    for name in names:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _headers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    items = value.items() if hasattr(value, "items") else value
    return {str(k): str(v) for k, v in items}


def _is_session_create(method: str, url: str) -> bool:
    return method.upper() == "POST" and urlsplit(url).path.rstrip("/").endswith("/sessions")


def view_exchange(
    exchange: Any, secrets: Iterable[str] = (), *, base_url: str | None = None
) -> ExchangeView:
    """Adapt an engine exchange (object or mapping) to an :class:`ExchangeView`, masked.

    Accepts the engine's ``Exchange`` (``path`` + ``query``, the response's ``headers``, a
    recorded copy's capped ``text``, ``elapsed`` in seconds; pass ``base_url`` for a complete
    curl line), mappings, and httpx names (``status_code``, ``headers``); a POST to
    ``/sessions`` answers with the session id itself, so its body is always masked.
    """
    secrets = tuple(secrets)
    request = _first(exchange, "request")
    response = _first(exchange, "response")
    method = str(_first(exchange, "method") or _first(request, "method") or "GET").upper()
    url = str(_first(exchange, "url") or _first(request, "url") or "")
    if not url:
        path, query = _first(exchange, "path") or "", _first(exchange, "query") or ""
        url = str(path) + (f"?{query}" if query else "")
    if base_url and not urlsplit(url).scheme:
        url = base_url.rstrip("/") + url
    request_headers = _headers(
        _first(exchange, "request_headers") or _first(request, "headers", "request_headers")
    )
    status = _first(exchange, "status", "status_code")
    if status is None and response is not None:
        status = _first(response, "status", "status_code")
    response_headers = _headers(
        _first(exchange, "response_headers", "headers")
        or _first(response, "headers", "response_headers")
    )
    body = _first(exchange, "json", "body", "response_body", "text")
    if body is None and response is not None:
        body = _first(response, "json", "body", "text")
    if callable(body):
        body = body()
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        with contextlib.suppress(ValueError):
            body = json.loads(body)
    if _is_session_create(method, url) and body is not None:
        body = MASK
    error = _first(exchange, "error")
    elapsed = _first(exchange, "elapsed_ms")
    if elapsed is None and isinstance(_first(exchange, "elapsed"), int | float):
        elapsed = float(_first(exchange, "elapsed")) * 1000.0
    masked_body = json.loads(mask_text(json.dumps(body), secrets)) if secrets else body
    return ExchangeView(
        method=method,
        url=mask_text(mask_url(url), secrets),
        request_headers=mask_headers(request_headers),
        status=int(status) if status is not None else None,
        response_headers=mask_headers(response_headers),
        body=masked_body,
        error=mask_text(str(error), secrets) if error is not None else None,
        elapsed_ms=float(elapsed) if elapsed is not None else None,
    )


def exchange_title(view: ExchangeView) -> str:
    """``GET /api/snapservice/tasks?status=RUNNING -> 200 (12 items)``."""
    parts = urlsplit(view.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if view.error is not None:
        outcome = f"no response ({view.error})"
    else:
        outcome = str(view.status)
        items = view.body.get("items") if isinstance(view.body, Mapping) else None
        if isinstance(items, list):
            outcome += f" ({len(items)} items)"
    return f"{view.method} {target} -> {outcome}"


def curl_line(view: ExchangeView) -> str:
    """The exchange as the one copy-paste curl command (:func:`snapconform.wire.curl_line`)."""
    auth, kept = "none", []
    for name, value in view.request_headers.items():
        lowered = name.lower()
        if lowered == "authorization" and value.lower().startswith("basic"):
            auth = "basic"
        elif lowered == SESSION_HEADER:
            auth = "session"
        elif lowered in {"accept", "content-type"}:
            kept.append((name, value))
    return wire_curl_line(view.url, auth=auth, method=view.method, headers=tuple(kept))


def pretty_json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False, default=str)


def request_document(view: ExchangeView) -> dict[str, Any]:
    return {"method": view.method, "url": view.url, "headers": view.request_headers}


def response_document(view: ExchangeView) -> dict[str, Any]:
    if view.error is not None:
        return {"error": view.error}
    document: dict[str, Any] = {"status": view.status, "headers": view.response_headers}
    if view.elapsed_ms is not None:
        document["elapsed_ms"] = round(view.elapsed_ms, 1)
    document["body"] = view.body
    return document


def _id_lines(ids: Iterable[str], marker: str) -> list[str]:
    ordered = sorted(ids)
    lines = [f"  {marker} {task_id}" for task_id in ordered[:_LIST_LIMIT]]
    if len(ordered) > _LIST_LIMIT:
        lines.append(f"  … and {len(ordered) - _LIST_LIMIT} more (see the attachments)")
    return lines


def set_diff_text(
    expected_ids: Iterable[str], actual_ids: Iterable[str], *, noun: str = "task ids"
) -> str:
    """Expected versus actual as a short readable diff: counts first, then the differences."""
    expected, actual = set(expected_ids), set(actual_ids)
    missing, unexpected = expected - actual, actual - expected
    lines = [
        f"expected {len(expected)} {noun}, got {len(actual)}: "
        f"{len(missing)} missing, {len(unexpected)} unexpected"
    ]
    if missing:
        lines.append("missing (expected, not returned):")
        lines += _id_lines(missing, "-")
    if unexpected:
        lines.append("unexpected (returned, not expected):")
        lines += _id_lines(unexpected, "+")
    return "\n".join(lines)
