"""Query-string parsing: form decoding, strict percent-encoding/UTF-8, limits, names, status."""

from __future__ import annotations

import pytest

from snapconform.server.behaviour import (
    MAX_QUERY_BYTES,
    MAX_QUERY_PARAMS,
    Behaviour,
    EndpointError,
)
from snapconform.server.store import FilterSpec

parse = Behaviour().parse_query


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", FilterSpec()),
        (b"status=RUNNING&status=FAILED", FilterSpec(status=("RUNNING", "FAILED"))),
        (
            b"users=VSPHERE.LOCAL%5CAdministrator",
            FilterSpec(users=("VSPHERE.LOCAL\\Administrator",)),
        ),
        (b"users=ops%2Brobot%40corp.example", FilterSpec(users=("ops+robot@corp.example",))),
        # application/x-www-form-urlencoded: a literal '+' is a space.
        (b"users=svc+account", FilterSpec(users=("svc account",))),
        (b"users=svc%20account", FilterSpec(users=("svc account",))),
        (b"users=j%C3%BCrgen%40corp.example", FilterSpec(users=("jürgen@corp.example",))),
        (b"users=j\xc3\xbcrgen@corp.example", FilterSpec(users=("jürgen@corp.example",))),
        (b"tasks=a&&tasks=b&", FilterSpec(tasks=("a", "b"))),
        (b"tasks=", FilterSpec(tasks=("",))),
        (b"tasks=a=b", FilterSpec(tasks=("a=b",))),
        (
            b"services=s&operations=o&users=u&tasks=t",
            FilterSpec(("t",), ("o",), ("s",), None, ("u",)),
        ),
    ],
)
def test_valid_queries_decode_to_the_filter(raw: bytes, expected: FilterSpec) -> None:
    assert parse(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message_id", "mentions"),
    [
        (b"users=%zz", "bad_percent_encoding", "%zz"),
        (b"users=abc%", "bad_percent_encoding", "abc%"),
        (b"users=%4", "bad_percent_encoding", "%4"),
        (b"users=%ff", "bad_utf8", "0xff"),
        (b"users=\xff", "bad_utf8", "0xff"),
        (b"status=running", "bad_status", "running"),
        (b"status=Running", "bad_status", "Running"),
        (b"status=", "bad_status", "''"),
        (b"status=RUNNING&status=DONE", "bad_status", "DONE"),
        (b"filter.status=RUNNING", "unknown_parameter", "filter.status"),
        (b"Status=RUNNING", "unknown_parameter", "Status"),
        (b"task=x", "unknown_parameter", "task"),
    ],
)
def test_invalid_queries_are_invalid_argument(raw: bytes, message_id: str, mentions: str) -> None:
    with pytest.raises(EndpointError) as caught:
        parse(raw)
    assert caught.value.error_type == "INVALID_ARGUMENT"
    assert caught.value.message_id.endswith(message_id)
    assert mentions in caught.value.default_message


def test_limits_are_invalid_argument_and_quote_little() -> None:
    with pytest.raises(EndpointError) as too_long:
        parse(b"tasks=" + b"a" * MAX_QUERY_BYTES)
    assert too_long.value.message_id.endswith("query_too_long")
    assert len(too_long.value.default_message) < 200
    with pytest.raises(EndpointError) as too_many:
        parse(b"&".join([b"tasks=a"] * (MAX_QUERY_PARAMS + 1)))
    assert too_many.value.message_id.endswith("too_many_parameters")
    assert parse(b"&".join([b"tasks=a"] * MAX_QUERY_PARAMS)).tasks == ("a",) * MAX_QUERY_PARAMS


def test_quoted_values_are_truncated() -> None:
    with pytest.raises(EndpointError) as caught:
        parse(b"users=" + b"x" * 5000 + b"%zz")
    assert len(caught.value.default_message) < 300
    assert all(len(arg) <= 60 for arg in caught.value.args)
