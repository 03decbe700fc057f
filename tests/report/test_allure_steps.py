"""What the suite attaches: masked exchanges, copy-paste curl lines, readable id diffs."""

from __future__ import annotations

import base64
import json
import shlex
from pathlib import Path

import httpx
import pytest

from snapconform.engine.exchange import Exchange
from snapconform.redaction import MASK, Redactor, mask_headers, mask_url
from snapconform.report.allure_steps import (
    ExchangeView,
    curl_line,
    exchange_title,
    set_diff_text,
    view_exchange,
)

SECRET = "Distinctive-Pass-42!"
SESSION = "b1946ac92492d2347c6235b4d2611184"


def _everything(view: ExchangeView) -> str:
    return json.dumps(view.__dict__, default=str) + curl_line(view) + exchange_title(view)


def test_engine_exchange_is_viewed_with_base_url_and_milliseconds() -> None:
    body = {"items": [{"task": "t-1"}, {"task": "t-2"}]}
    exchange = Exchange(
        200,
        httpx.Headers({"content-type": "application/json"}),
        json.dumps(body),
        body,
        None,
        "GET",
        "/api/snapservice/tasks",
        "status=RUNNING&users=a%40b",
        "session",
        {"vmware-api-session-id": SESSION},
        0.0125,
    ).recorded(Redactor())
    view = view_exchange(exchange, base_url="http://127.0.0.1:8080/")
    assert view.response_headers == {"content-type": "application/json"}
    assert view.url == "http://127.0.0.1:8080/api/snapservice/tasks?status=RUNNING&users=a%40b"
    assert view.body == {"items": [{"task": "t-1"}, {"task": "t-2"}]}
    assert view.elapsed_ms == 12.5
    assert exchange_title(view) == (
        "GET /api/snapservice/tasks?status=RUNNING&users=a%40b -> 200 (2 items)"
    )
    assert SESSION not in _everything(view)


def test_session_create_body_and_basic_header_are_masked() -> None:
    basic = base64.b64encode(f"admin:{SECRET}".encode()).decode()
    view = view_exchange(
        {
            "method": "POST",
            "url": "http://127.0.0.1:1/api/snapservice/sessions",
            "request_headers": {"Authorization": f"Basic {basic}"},
            "status": 201,
            "body": json.dumps(SESSION),
        }
    )
    assert view.body == MASK
    assert view.request_headers == {"Authorization": f"Basic {MASK}"}
    text = _everything(view)
    assert SESSION not in text and basic not in text and SECRET not in text


def test_known_secrets_are_masked_anywhere() -> None:
    view = view_exchange(
        {
            "url": f"http://127.0.0.1:1/api/snapservice/tasks?users={SECRET}",
            "status": 500,
            "body": {"messages": [f"bad password {SECRET}"]},
            "error": None,
        },
        secrets=[SECRET],
    )
    assert SECRET not in _everything(view)


def test_transport_error_title() -> None:
    view = view_exchange({"url": "http://127.0.0.1:1/api/snapservice/tasks", "error": "timeout"})
    assert exchange_title(view) == "GET /api/snapservice/tasks -> no response (timeout)"


def test_mask_headers_and_url() -> None:
    masked = mask_headers(
        {
            "Authorization": "Basic abc",
            "vmware-api-session-id": SESSION,
            "Cookie": "x=1",
            "Accept": "application/json",
        }
    )
    assert masked == {
        "Authorization": f"Basic {MASK}",
        "vmware-api-session-id": MASK,
        "Cookie": MASK,
        "Accept": "application/json",
    }
    assert mask_url(f"https://u:{SECRET}@127.0.0.1:8443/x?y=1") == (
        f"https://u:{MASK}@127.0.0.1:8443/x?y=1"
    )
    assert mask_url("https://127.0.0.1/x") == "https://127.0.0.1/x"


def test_curl_lines_read_credentials_from_the_environment() -> None:
    session = curl_line(
        ExchangeView(
            "GET",
            "http://127.0.0.1:8080/api/snapservice/tasks?status=RUNNING&status=FAILED",
            {"vmware-api-session-id": MASK, "Accept": "application/json"},
        )
    )
    words = shlex.split(session)
    assert words[:2] == ["curl", "-sS"]
    assert "vmware-api-session-id: $SNAPCONFORM_SESSION_ID" in words
    assert words[-1] == "http://127.0.0.1:8080/api/snapservice/tasks?status=RUNNING&status=FAILED"
    basic = curl_line(
        ExchangeView(
            "POST", "http://127.0.0.1:8080/api/snapservice/sessions", {"Authorization": "Basic x"}
        )
    )
    assert shlex.split(basic)[2:6] == [
        "-X",
        "POST",
        "-u",
        "$SNAPCONFORM_USERNAME:$SNAPCONFORM_PASSWORD",
    ]


def test_set_diff_counts_and_marks() -> None:
    text = set_diff_text(["t-1", "t-2", "t-3"], ["t-2", "t-3", "t-9", "t-8"])
    assert text.splitlines() == [
        "expected 3 task ids, got 4: 1 missing, 2 unexpected",
        "missing (expected, not returned):",
        "  - t-1",
        "unexpected (returned, not expected):",
        "  + t-8",
        "  + t-9",
    ]
    assert set_diff_text(["a"], ["a"]) == "expected 1 task ids, got 1: 0 missing, 0 unexpected"


def test_set_diff_stays_short_for_huge_differences() -> None:
    text = set_diff_text([f"t-{i:04d}" for i in range(1500)], [])
    lines = text.splitlines()
    assert lines[0] == "expected 1500 task ids, got 0: 1500 missing, 0 unexpected"
    assert len(lines) == 53
    assert lines[-1] == "  … and 1450 more (see the attachments)"


def test_an_attachment_file_is_written_whole_and_never_overwritten(tmp_path: Path) -> None:
    from snapconform.report.allure_writer import write_new_file

    body = ("é" * 70_000).encode("utf-8")
    write_new_file(tmp_path / "a-attachment.txt", body)
    assert (tmp_path / "a-attachment.txt").read_bytes() == body
    with pytest.raises(FileExistsError):
        write_new_file(tmp_path / "a-attachment.txt", b"other")
    assert (tmp_path / "a-attachment.txt").read_bytes() == body
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-attachment.txt"]
