"""A generated request the HTTP client itself refuses is not sent, and so never a deviation."""

from __future__ import annotations

import pytest

from snapconform.engine.fuzzing.wire import FuzzRequest, is_sendable

URL = "http://127.0.0.1:8080/api/snapservice/tasks?status=RUNNING"


def _request(headers: dict[str, str]) -> FuzzRequest:
    return FuzzRequest(method="GET", path="/api/snapservice/tasks", url=URL, headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        {"content-length": "Us=_=*%$"},  # what a CI run's quick start generated
        {"x-generated": "a\rb"},
    ],
)
def test_headers_the_client_refuses_make_the_request_unsendable(headers: dict[str, str]) -> None:
    assert not is_sendable(_request(headers))


def test_ordinary_generated_headers_are_sent() -> None:
    assert is_sendable(_request({"neH3hq": "j:F*", "Authorization": "Basic YTpi"}))
