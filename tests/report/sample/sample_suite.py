"""A small suite run in a pytest subprocess by the report tests: real requirements, real results.

It labels its tests with requirements of the engine's catalogue (``BY_ID``: an id that leaves
the catalogue fails here) and hands the report helpers the engine's own ``CheckResult`` and
``Evidence``, so the report pipeline (finishing, rendering, the browser) is tested on what the
engine produces, without a server. Not collected by the main run (the file name does not start
with ``test_``). The requirement each test plays:

- FILTER-EMPTY passes (exchanges with a session token);
- FILTER-SOUNDNESS fails with a set difference and a counterexample (semantic violation);
- CONTRACT-200-BODY fails on a body (contract violation);
- AUTH-WWW-AUTHENTICATE (SHOULD) passes (a Basic header to mask);
- CAP-OVER-LIMIT breaks on a closed connection (target error);
- FILTER-COMPLETENESS is skipped as uncertain (observed mode's churn);
- FAULT-503 fails with a CheckResult carrying evidence, after many exchanges.
"""

from __future__ import annotations

import base64
import os

import pytest

from snapconform.engine.requirements import BY_ID, SPEC_URL, Requirement
from snapconform.engine.verdicts import CheckResult, Evidence
from snapconform.report.allure_steps import (
    attach_check_result,
    attach_counterexample,
    attach_exchange,
    attach_set_diff,
    label_requirement,
    recorded_exchanges,
)

SECRET = os.environ.get("SAMPLE_SECRET", "sample-secret-value")
BASE = "http://127.0.0.1:9/api/snapservice"


def _label(requirement: Requirement) -> None:
    label_requirement(
        requirement.id, requirement.title, requirement.level, requirement.feature, SPEC_URL
    )


def _exchange(url: str, status: int, body: object, method: str = "GET") -> dict[str, object]:
    return {
        "method": method,
        "url": url,
        "request_headers": {"vmware-api-session-id": SECRET, "Accept": "application/json"},
        "status": status,
        "response_headers": {"Content-Type": "application/json"},
        "body": body,
    }


def test_empty_filter_matches_every_task() -> None:
    _label(BY_ID["FILTER-EMPTY"])
    attach_exchange(_exchange(f"{BASE}/sessions", 201, SECRET, method="POST"))
    attach_exchange(_exchange(f"{BASE}/tasks", 200, {"items": [{"task": "t-1"}]}))


def test_status_filter_returns_only_matching_tasks() -> None:
    _label(BY_ID["FILTER-SOUNDNESS"])
    expected, actual = ["t-1", "t-2", "t-3"], ["t-1", "t-2", "t-9"]
    exchange = _exchange(
        f"{BASE}/tasks?status=RUNNING", 200, {"items": [{"task": t} for t in actual]}
    )
    attach_exchange(exchange)
    attach_counterexample(
        {"status": ["RUNNING"]}, seed=1234, exchange=exchange, reason="t-9 is SUCCEEDED"
    )
    diff = attach_set_diff(expected, actual)
    raise AssertionError("status filter returned the wrong tasks\n" + diff)


def test_list_result_matches_schema() -> None:
    _label(BY_ID["CONTRACT-200-BODY"])
    raise AssertionError("items/0/info/status: 'DONE' is not one of ['PENDING', 'RUNNING']")


def test_challenge_header() -> None:
    _label(BY_ID["AUTH-WWW-AUTHENTICATE"])
    basic = base64.b64encode(f"admin:{SECRET}".encode()).decode()
    exchange = _exchange(f"{BASE}/tasks", 401, {"error_type": "UNAUTHENTICATED"})
    exchange["request_headers"] = {"Authorization": f"Basic {basic}"}
    attach_exchange(exchange, secrets=[SECRET])


def test_target_error() -> None:
    _label(BY_ID["CAP-OVER-LIMIT"])
    raise ConnectionError("target closed the connection")


def test_uncertain() -> None:
    _label(BY_ID["FILTER-COMPLETENESS"])
    pytest.skip("uncertain: the data changed during the check")


#: The engine's own result type, as a check returns it.
FAULT_RESULT = CheckResult.failed(
    "fault 503: 2 unexpected tasks in an error reply",
    Evidence.of(expected={"t-1"}, actual={"t-1", "t-7", "t-8"}, counterexample={"tasks": ["t-1"]}),
)


class _Target:
    def __init__(self) -> None:
        self.exchanges: list[dict[str, object]] = []


def test_check_result_with_many_exchanges() -> None:
    _label(BY_ID["FAULT-503"])
    target = _Target()
    bound = 30  # the target keeps its last 30 exchanges
    for index in range(20):  # exchanges of earlier checks
        target.exchanges.append(_exchange(f"{BASE}/tasks?users=u-{index}", 200, {"items": []}))
    with recorded_exchanges(target) as exchanges:
        for index in range(25):
            target.exchanges.append(_exchange(f"{BASE}/tasks?tasks=t-{index}", 200, {"items": []}))
            del target.exchanges[:-bound]
    if len(exchanges) != 25:  # no `assert`: its introspection would print the raw headers
        raise AssertionError(f"recorded {len(exchanges)} exchanges, expected 25")
    attach_check_result(FAULT_RESULT, exchanges, seed=99, secrets=[SECRET])
    raise AssertionError(FAULT_RESULT.detail)
