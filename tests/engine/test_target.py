"""Target: the allow-list, budget and redaction."""

from __future__ import annotations

import json

import httpx
import pytest

from snapconform.engine import target as target_module
from snapconform.engine.exchange import RECORDED_BODY_LIMIT
from snapconform.engine.oracle import FilterSpec
from snapconform.engine.target import (
    ALLOWED_REQUESTS,
    BudgetExhausted,
    ForbiddenRequest,
    Target,
    TargetSettings,
)
from snapconform.redaction import MASK


def _target(max_requests: int = 10) -> tuple[Target, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"content-type": "application/json"}
        if request.url.path == "/api/snapservice/sessions":
            return httpx.Response(
                201, headers=headers, stream=httpx.ByteStream(b'"session-token-123456"')
            )
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(b'{"items":[]}'))

    settings = TargetSettings(base_url="http://127.0.0.1:1", max_requests=max_requests)
    return Target(settings, transport=httpx.MockTransport(handler)), seen


def test_only_allowed_requests_leave() -> None:
    target, seen = _target()
    for method, path in [
        ("PUT", "/api/snapservice/tasks"),
        ("GET", "/control/state"),
        ("POST", "/api/snapservice/tasks"),
    ]:
        with pytest.raises(ForbiddenRequest):
            target.send(method, path)
    assert seen == []
    assert {
        ("GET", "/api/snapservice/tasks"),
        ("POST", "/api/snapservice/sessions"),
        ("GET", "/api/snapservice/sessions"),
        ("DELETE", "/api/snapservice/sessions"),
    } == ALLOWED_REQUESTS


def test_budget_is_enforced() -> None:
    target, seen = _target(max_requests=2)
    target.list_tasks()
    target.list_tasks()
    with pytest.raises(BudgetExhausted):
        target.list_tasks()
    assert len(seen) == 2


def test_secrets_never_recorded() -> None:
    target, _ = _target()
    target.login("admin", "pa55word-secret")
    target.list_tasks(FilterSpec(users=("ops+robot@corp.example",)))
    recorded = repr([e.to_document() for e in target.exchanges])
    assert "pa55word-secret" not in recorded and "session-token-123456" not in recorded
    assert "***" in recorded
    assert "users=ops%2Brobot%40corp.example" in recorded


def test_send_returns_the_exchange_and_records_its_masked_capped_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One Exchange: the check judges the whole answer; the report's copy keeps bounded memory
    (text capped, no decoded body) and the request's credentials masked."""
    items = [{"task": f"task-{n:05d}"} for n in range(400)]
    content = json.dumps({"items": items}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json"}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(content))

    target = Target(
        TargetSettings(base_url="http://127.0.0.1:1", auth="basic", max_requests=5000),
        transport=httpx.MockTransport(handler),
    )
    target.login("admin", "pa55word-secret", api_version="8.0.3")
    exchange = target.list_tasks()
    assert exchange.auth == "basic" and exchange.body == {"items": items}
    assert exchange.request_headers["authorization"] == MASK  # masked when it is made
    recorded = target.exchanges[-1]
    assert type(recorded) is type(exchange) and recorded.status == exchange.status == 200
    assert recorded.body is None and recorded.json_error is None
    assert len(recorded.text) < RECORDED_BODY_LIMIT + 40 < len(exchange.text)
    assert recorded.text.endswith(f"... ({len(content)} characters)")
    monkeypatch.setattr(target_module, "RECORDED_EXCHANGES_LIMIT", 3)  # the oldest dropped
    for _ in range(3):
        target.list_tasks()
    assert len(target.exchanges) == 3 and all(e is not recorded for e in target.exchanges)


def test_session_auth_falls_back_to_basic_on_8_0_3_when_sessions_404() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json"}
        if request.url.path == "/api/snapservice/sessions":
            return httpx.Response(404, headers=headers, stream=httpx.ByteStream(b"{}"))
        assert request.headers["authorization"].startswith("Basic ")
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(b'{"items":[]}'))

    target = Target(
        TargetSettings(base_url="http://127.0.0.1:1"), transport=httpx.MockTransport(handler)
    )
    target.login("admin", "pw-123", api_version="8.0.3")
    assert target.auth_scheme == "basic"
    assert any("HTTP Basic" in note for note in target.notes)
    assert target.list_tasks().status == 200


def test_ctrl_c_during_a_login_waits_until_the_session_is_recorded() -> None:
    """Interrupted between the POST and its answer, a session would exist that the harness
    never learnt of (the SIGINT test saw 3 sessions created, 2 deleted)."""
    import os
    import signal

    from snapconform.engine.safety import interrupts_deferred

    finished = []
    # An xdist worker does not run with Python's default SIGINT handler: install it here.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            finished.append("the block ran to its end")
        assert finished == ["the block ran to its end"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize(
    ("content", "documented"),
    [
        (b'{"error_type": "RESOURCE_INACCESSIBLE", "messages": []}', True),
        # two error_type keys: the strict parse every answer gets refuses it (json.loads kept
        # the last one and took it for the documented error, which no check then read as JSON)
        (b'{"error_type": "ERROR", "error_type": "RESOURCE_INACCESSIBLE", "messages": []}', False),
        (b'{"error_type": "RESOURCE_INACCESSIBLE", "messages": [], "data": NaN}', False),
    ],
)
def test_the_documented_500_is_read_with_the_strict_parse(content: bytes, documented: bool) -> None:
    from snapconform.engine.target import is_documented_500

    assert is_documented_500(500, content) is documented


def test_a_cookie_an_answer_sets_is_sent_back_as_httpx_would() -> None:
    # AnswerCookies skips the jar only for answers without Set-Cookie: the jar's behaviour stays
    # httpx's (a GET that sets a cookie gets it sent with the next request, and only then).
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"content-type": "application/json"}
        if len(seen) == 2:
            headers["set-cookie"] = "sticky=node-2; Path=/"
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(b'{"items":[]}'))

    settings = TargetSettings(base_url="http://127.0.0.1:1", max_requests=5)
    target = Target(settings, transport=httpx.MockTransport(handler))
    for _ in range(3):
        target.list_tasks()
    assert [request.headers.get("cookie") for request in seen] == [None, None, "sticky=node-2"]
