"""FILTER-SOUNDNESS sees every filtered 200 of the run, not only its own draws.

The audit reads the filter back from the query the engine wrote (``parse_canonical_query``) and
flags a listed task whose own identity (id, operation, service, user) contradicts it. A server
that ignores a field on a few requests only (mutant intermittent-ignores-users) shows on
whichever check met it; status is left to the check itself (a task may move on meanwhile).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import given, strategies as st

from snapconform.engine.audit import ResponseAudit
from snapconform.engine.oracle import FilterSpec, encode_query, parse_canonical_query
from snapconform.engine.target import TASKS_PATH, Exchange


def _item(task: str, user: str, status: str = "RUNNING") -> dict[str, Any]:
    return {
        "task": task,
        "info": {"user": user, "status": status, "operation": "pause", "service": "svc"},
    }


def _list(spec: FilterSpec, items: list[dict[str, Any]], query: str | None = None) -> Exchange:
    body = {"items": items}
    return Exchange(
        200,
        httpx.Headers({"content-type": "application/json"}),
        json.dumps(body),
        body,
        None,
        "GET",
        TASKS_PATH,
        encode_query(spec.query_pairs()) if query is None else query,
    )


def _audit() -> ResponseAudit:
    return ResponseAudit(repro=lambda response: "curl ...", bindings=False)


values = st.lists(st.text(min_size=0, max_size=6), min_size=1, max_size=3).map(tuple)


@given(
    st.builds(
        FilterSpec,
        tasks=st.none() | values,
        operations=st.none() | values,
        services=st.none() | values,
        status=st.none() | values,
        users=st.none() | values,
    )
)
def test_a_query_the_engine_writes_reads_back_as_its_filter(spec: FilterSpec) -> None:
    expected = FilterSpec(**spec.constraints())
    assert parse_canonical_query(encode_query(spec.query_pairs())) == expected


def test_a_hand_written_query_is_not_read() -> None:
    for query in ("users=a+b", "users=%c3%bc", "filter.users=a", "users", "users=%ff"):
        assert parse_canonical_query(query) is None, query


def test_a_task_of_another_user_under_a_users_filter_fails_the_audit() -> None:
    audit = _audit()
    spec = FilterSpec(users=("alice",), operations=("pause",))
    audit(_list(spec, [_item("t1", "alice"), _item("t2", "bob")]))
    assert audit.unsound.count == 1
    assert "t2" in audit.unsound.examples[0] and "t1" not in audit.unsound.examples[0]


def test_matching_answers_another_case_and_status_moves_pass_the_audit() -> None:
    audit = _audit()
    # Users may compare case-insensitively (documented alternative users-case).
    audit(_list(FilterSpec(users=("Alice",)), [_item("t1", "alice")]))
    # Status may have moved on between filtering and answering: the check judges status.
    audit(_list(FilterSpec(status=("RUNNING",)), [_item("t2", "bob", "SUCCEEDED")]))
    audit(_list(FilterSpec(), [_item("t3", "carol")]))  # the empty filter constrains nothing
    # A hand-written query says nothing certain: not judged.
    audit(_list(FilterSpec(), [_item("t4", "dave")], query="users=a+b"))
    assert audit.unsound.count == 0
    assert audit.unsound.judged == 2
