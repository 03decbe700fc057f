"""What the conformance suite attaches to its Allure results, secrets masked.

The suite calls these inside a test; outside an Allure-enabled pytest run they are harmless
no-ops of ``allure`` itself. Each helper also returns the text it attached, so a check can put
the same readable evidence into its assertion message.

- :func:`label_requirement`: epic / feature / story / severity / requirement id / spec link.
- :func:`attach_exchange`: one request and its response as a step (pretty JSON, curl line).
- :func:`attach_set_diff`: expected versus actual task ids, as a diff a reviewer can read.
- :func:`attach_counterexample`: the minimal failing input, the Hypothesis seed, a curl line.
"""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import allure

from snapconform.redaction import MASK, mask_headers, mask_text, mask_url
from snapconform.wire import ENDPOINT, SESSION_HEADER

ENDPOINT_EPIC = ENDPOINT
SEVERITY_BY_LEVEL = {"MUST": allure.severity_level.CRITICAL, "SHOULD": allure.severity_level.MINOR}
REQUIREMENT_LABEL = "requirement"
LEVEL_LABEL = "level"

#: Attachment names the report post-processor (:mod:`snapconform.report.results`) looks for.
EXPECTED_IDS_ATTACHMENT = "expected task ids"
ACTUAL_IDS_ATTACHMENT = "actual task ids"
DIFF_ATTACHMENT = "task id diff (expected vs actual)"
COUNTEREXAMPLE_ATTACHMENT = "minimal counterexample"
CURL_ATTACHMENT = "curl"

#: Environment variables a curl line reads its credentials from (never inlined).
CURL_SESSION_VAR = "SNAPCONFORM_SESSION_ID"
CURL_USERNAME_VAR = "SNAPCONFORM_USERNAME"
CURL_PASSWORD_VAR = "SNAPCONFORM_PASSWORD"

_LIST_LIMIT = 50  # ids shown per side of a diff; the attachments carry all of them


def label_requirement(
    requirement_id: str,
    title: str,
    level: str,
    feature: str,
    spec_url: str | None = None,
    *,
    epic: str = ENDPOINT_EPIC,
) -> None:
    """Label the running test as the check of one requirement."""
    allure.dynamic.epic(epic)
    allure.dynamic.feature(feature)
    allure.dynamic.story(f"{requirement_id}: {title}")
    allure.dynamic.title(f"{requirement_id} {title}")
    allure.dynamic.severity(SEVERITY_BY_LEVEL.get(level, allure.severity_level.NORMAL))
    allure.dynamic.label(REQUIREMENT_LABEL, requirement_id)
    allure.dynamic.label(LEVEL_LABEL, level)
    if spec_url:
        allure.dynamic.link(spec_url, link_type="link", name=f"spec: {requirement_id}")


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

    Accepts the engine's ``Exchange`` (``path`` + ``query``, ``elapsed`` in seconds; pass
    ``base_url`` for a complete curl line), mappings, and httpx names (``status_code``,
    ``headers``); a POST to ``/sessions`` answers with the session id itself, so its body is
    always masked.
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
        _first(exchange, "response_headers") or _first(response, "headers", "response_headers")
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
    """A copy-paste curl command; credentials come from environment variables, never inline."""
    words = ["curl", "-sS"]
    if view.method != "GET":
        words += ["-X", view.method]
    auth_flags: list[str] = []
    for name, value in view.request_headers.items():
        lowered = name.lower()
        if lowered == "authorization" and value.lower().startswith("basic"):
            auth_flags = ["-u", f'"${CURL_USERNAME_VAR}:${CURL_PASSWORD_VAR}"']
        elif lowered == SESSION_HEADER:
            auth_flags = ["-H", f'"{SESSION_HEADER}: ${CURL_SESSION_VAR}"']
        elif lowered in {"accept", "content-type"}:
            words += ["-H", shlex.quote(f"{name}: {value}")]
    return " ".join([*words, *auth_flags, shlex.quote(view.url)])


def _pretty(document: Any) -> str:
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


def attach_exchange(
    exchange: Any, *, secrets: Iterable[str] = (), base_url: str | None = None
) -> ExchangeView:
    """One exchange as an Allure step: request, response (pretty JSON) and a curl line."""
    view = view_exchange(exchange, secrets, base_url=base_url)
    with allure.step(exchange_title(view)):
        allure.attach(_pretty(request_document(view)), "request", allure.attachment_type.JSON)
        allure.attach(_pretty(response_document(view)), "response", allure.attachment_type.JSON)
        allure.attach(curl_line(view), CURL_ATTACHMENT, allure.attachment_type.TEXT)
    return view


def attach_exchanges(
    exchanges: Iterable[Any], *, secrets: Iterable[str] = (), base_url: str | None = None
) -> None:
    secrets = tuple(secrets)
    for exchange in exchanges:
        attach_exchange(exchange, secrets=secrets, base_url=base_url)


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


def attach_set_diff(
    expected_ids: Iterable[str], actual_ids: Iterable[str], *, noun: str = "task ids"
) -> str:
    """Attach expected and actual ids (one per line, sorted) and their diff; return the diff.

    The two id lists become the failed test's expected/actual in the rendered report, where
    Allure shows them side by side.
    """
    expected, actual = sorted(set(expected_ids)), sorted(set(actual_ids))
    text = set_diff_text(expected, actual, noun=noun)
    allure.attach(text, DIFF_ATTACHMENT, allure.attachment_type.TEXT)
    allure.attach("\n".join(expected), EXPECTED_IDS_ATTACHMENT, allure.attachment_type.TEXT)
    allure.attach("\n".join(actual), ACTUAL_IDS_ATTACHMENT, allure.attachment_type.TEXT)
    return text


def attach_counterexample(
    query: Mapping[str, Any] | str,
    *,
    seed: int | None,
    exchange: Any = None,
    reason: str | None = None,
    secrets: Iterable[str] = (),
    base_url: str | None = None,
    curl: str | None = None,
) -> str:
    """The minimal failing input: its query, the Hypothesis seed, why it fails, a curl line.

    The curl line is rendered from ``exchange`` (credentials from environment variables); without
    one, the engine's own ``curl`` line (credentials already masked) is used.
    """
    secrets = tuple(secrets)
    document: dict[str, Any] = {"query": query, "hypothesis_seed": seed}
    if reason:
        document["reason"] = mask_text(reason, secrets)
    if seed is not None:
        document["replay"] = f"snapconform run --seed {seed}"
    if exchange is not None:
        view = view_exchange(exchange, secrets, base_url=base_url)
        document["curl"] = curl_line(view)
    elif curl:
        document["curl"] = curl
    text = mask_text(_pretty(document), secrets)
    allure.attach(text, COUNTEREXAMPLE_ATTACHMENT, allure.attachment_type.JSON)
    if seed is not None:
        allure.dynamic.label("hypothesis_seed", str(seed))
    return text


@contextmanager
def recorded_exchanges(target: Any) -> Iterator[list[Any]]:
    """Collect the exchanges ``target`` records inside the block (its ``exchanges`` list).

    The target keeps a bounded list and drops its oldest entries, so the block's exchanges are
    found after the last one seen on entry (by identity), not by index.
    """
    recorded: list[Any] = []
    before = list(getattr(target, "exchanges", ()))
    last = before[-1] if before else None
    try:
        yield recorded
    finally:
        after = list(getattr(target, "exchanges", ()))
        start = 0
        if last is not None:
            for index in range(len(after) - 1, -1, -1):
                if after[index] is last:
                    start = index + 1
                    break
        recorded.extend(after[start:])


#: Exchanges attached per check: the last ones (after shrinking, the failing replay is last).
MAX_ATTACHED_EXCHANGES = 20


def attach_check_result(
    result: Any,
    exchanges: Iterable[Any] = (),
    *,
    base_url: str | None = None,
    seed: int | None = None,
    secrets: Iterable[str] = (),
) -> None:
    """Everything the report shows about one check: its exchanges and its evidence.

    ``result`` is the engine's CheckResult. Optional evidence attributes are used when present:
    ``expected_ids`` / ``actual_ids`` (a set diff), ``counterexample`` (the minimal query),
    ``exchange`` (the failing one, also attached as its own step) and ``curl``. Only the last
    :data:`MAX_ATTACHED_EXCHANGES` exchanges become steps; a step says how many earlier ones
    were left out.
    """
    secrets = tuple(secrets)
    recorded = list(exchanges)
    shown = recorded[-MAX_ATTACHED_EXCHANGES:]
    if len(recorded) > len(shown):
        with allure.step(f"{len(recorded) - len(shown)} earlier exchanges not shown"):
            pass
    attach_exchanges(shown, secrets=secrets, base_url=base_url)
    detail = mask_text(str(getattr(result, "detail", "")), secrets)
    outcome = str(getattr(result, "outcome", ""))
    allure.attach(detail, f"{outcome}: detail", allure.attachment_type.TEXT)
    expected = getattr(result, "expected_ids", None)
    actual = getattr(result, "actual_ids", None)
    if expected is not None and actual is not None:
        attach_set_diff(expected, actual)
    failing = getattr(result, "exchange", None)
    if failing is not None:
        with allure.step("failing exchange (minimal example)"):
            attach_exchange(failing, secrets=secrets, base_url=base_url)
    counterexample = getattr(result, "counterexample", None)
    if counterexample is not None:
        attach_counterexample(
            counterexample,
            seed=seed,
            exchange=failing or (shown[-1] if shown else None),
            reason=detail if outcome == "failed" else None,
            secrets=secrets,
            base_url=base_url,
            curl=getattr(result, "curl", None),
        )
