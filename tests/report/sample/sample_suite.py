"""Sample results written by the run's Allure writer for the report tests: real requirements,
real results.

It judges nothing: it hands :class:`snapconform.report.allure_writer.AllureWriter` requirements
of the engine's catalogue (``BY_ID``: an id that leaves the catalogue fails here) with the
engine's own ``CheckResult`` and ``Evidence``, so the report pipeline (finishing, rendering, the
browser) is tested on what a run writes, without a server. The requirement each result plays:

- FILTER-EMPTY passes (exchanges with a session token);
- FILTER-SOUNDNESS fails with a set difference and a counterexample (semantic violation);
- CONTRACT-200-BODY fails on a body (contract violation);
- AUTH-WWW-AUTHENTICATE (SHOULD) passes (a Basic header to mask);
- CAP-OVER-LIMIT is not checked: the network lost a request (transport);
- FILTER-COMPLETENESS is not checked as uncertain (observed mode's churn);
- FAULT-503 fails with a CheckResult carrying evidence, after many exchanges.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

from snapconform.engine.harness import transport_not_checked
from snapconform.engine.requirements import BY_ID
from snapconform.engine.verdicts import CheckResult, Evidence
from snapconform.report.allure_writer import AllureWriter

BASE = "http://127.0.0.1:9/api/snapservice"


def _exchange(
    url: str, status: int, body: object, secret: str, method: str = "GET"
) -> dict[str, object]:
    return {
        "method": method,
        "url": url,
        "request_headers": {"vmware-api-session-id": secret, "Accept": "application/json"},
        "status": status,
        "response_headers": {"Content-Type": "application/json"},
        "body": body,
    }


#: The engine's own result type, as a check returns it.
FAULT_RESULT = CheckResult.failed(
    "fault 503: 2 unexpected tasks in an error reply",
    Evidence.of(expected={"t-1"}, actual={"t-1", "t-7", "t-8"}, counterexample={"tasks": ["t-1"]}),
)


def write_sample_results(results_dir: Path, secret: str) -> int:
    """Write the seven results into ``results_dir``; return how many."""
    writer = AllureWriter(results_dir, secrets=[secret])
    now = int(time.time() * 1000)
    listed = {"items": [{"task": t} for t in ("t-1", "t-2", "t-9")]}
    soundness_exchange = _exchange(f"{BASE}/tasks?status=RUNNING", 200, listed, secret)
    basic = base64.b64encode(f"admin:{secret}".encode()).decode()
    challenge = _exchange(f"{BASE}/tasks", 401, {"error_type": "UNAUTHENTICATED"}, secret)
    challenge["request_headers"] = {"Authorization": f"Basic {basic}"}
    many = [
        _exchange(f"{BASE}/tasks?tasks=t-{index}", 200, {"items": []}, secret)
        for index in range(25)
    ]
    results = [
        (
            "FILTER-EMPTY",
            CheckResult.passed("every visible task listed"),
            [
                _exchange(f"{BASE}/sessions", 201, secret, secret, method="POST"),
                _exchange(f"{BASE}/tasks", 200, {"items": [{"task": "t-1"}]}, secret),
            ],
        ),
        (
            "FILTER-SOUNDNESS",
            CheckResult.failed(
                "status filter returned the wrong tasks: t-9 is SUCCEEDED",
                Evidence.of(
                    expected=["t-1", "t-2", "t-3"],
                    actual=["t-1", "t-2", "t-9"],
                    counterexample={"status": ["RUNNING"]},
                    exchange=soundness_exchange,
                ),
            ),
            [soundness_exchange],
        ),
        (
            "CONTRACT-200-BODY",
            CheckResult.failed("items/0/info/status: 'DONE' is not one of ['PENDING', 'RUNNING']"),
            [],
        ),
        ("AUTH-WWW-AUTHENTICATE", CheckResult.passed("challenge consistent"), [challenge]),
        ("CAP-OVER-LIMIT", transport_not_checked("target closed the connection"), []),
        (
            "FILTER-COMPLETENESS",
            CheckResult.not_checked("uncertain", "uncertain: the data changed during the check"),
            [],
        ),
        ("FAULT-503", FAULT_RESULT, many),
    ]
    for requirement_id, result, exchanges in results:
        writer.write_requirement(
            BY_ID[requirement_id],
            result,
            exchanges,
            base_url=None,
            seed=1234 if requirement_id == "FILTER-SOUNDNESS" else 99,
            start_ms=now,
            stop_ms=now + 5,
        )
    return len(results)
