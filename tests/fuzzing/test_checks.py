"""snapconform's schemathesis checks judge single responses: each one fails on a response that
violates it and passes on the faithful answer, and the documented 500 is not a server error.

The contract checks are the engine's run-wide requirement classes (``snapconform.engine.runwide``)
adapted to schemathesis: the same implementation judges a fuzzed response and the audit's."""

from __future__ import annotations

import datetime
import json
from typing import Any

import httpx
import pytest
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from snapconform.engine.audit import run_wide_requirements
from snapconform.engine.fuzzing import (
    SESSIONS_PATH,
    TASKS_PATH,
    RunWideChecks,
    load_schema,
    snapconform_server_error,
)
from snapconform.engine.registry import Requirement
from snapconform.engine.runwide import (
    Contract200Body,
    ContractErrorBody,
    ContractErrorMessages,
    ContractErrorType,
    ContractJson,
    RunWideCheck,
)

SCHEMA = load_schema()


def requirement_of(check: type[RunWideCheck]) -> Requirement:
    """The requirement whose judge ``check`` is (declared with ``run_wide=check``)."""
    return next(r for r in run_wide_requirements() if r.run_wide is check)


def run_wide(check: type[RunWideCheck]) -> CheckFunction:
    """The run-wide requirement ``check`` as the fuzzer applies it (one per-run instance)."""
    return RunWideChecks((requirement_of(check),)).functions()[0]


snapconform_list_body = run_wide(Contract200Body)
snapconform_error_body = run_wide(ContractErrorBody)
snapconform_error_type = run_wide(ContractErrorType)
snapconform_json_content_type = run_wide(ContractJson)
snapconform_error_messages = run_wide(ContractErrorMessages)


def message(text: str = "Something happened.") -> dict[str, Any]:
    return {"id": "com.example.message", "default_message": text, "args": []}


def error(error_type: str | None, **extra: Any) -> dict[str, Any]:
    return {"error_type": error_type, "messages": [message()], **extra}


def response(
    status: int, body: Any, *, content_type: str = "application/json", path: str = TASKS_PATH
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = httpx.Response(
        status,
        headers={"content-type": content_type},
        content=content,
        request=httpx.Request("GET", f"http://127.0.0.1:9{path}"),
    )
    answer.elapsed = datetime.timedelta(milliseconds=1)
    return answer


def verdict(
    check: CheckFunction, answer: httpx.Response, method: str = "GET", path: str = TASKS_PATH
) -> str | None:
    """None when ``check`` accepts the answer, else its failure text."""
    case = SCHEMA[path][method].Case()
    try:
        case.validate_response(answer, checks=[check])
    except FailureGroup as group:
        return "; ".join(str(failure.message) for failure in group.exceptions)
    return None


CAP_BODY = error(
    "RESOURCE_INACCESSIBLE",
    messages=[message("1500 tasks match the filter; at most 1000 can be returned.")],
)


def test_documented_cap_500_is_not_a_server_error() -> None:
    answer = response(500, CAP_BODY)
    assert verdict(snapconform_server_error, answer) is None
    # ...while schemathesis' own check reports it: the reason it is replaced.
    assert verdict(not_a_server_error, answer) is not None


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, error("ERROR")),
        (500, error(None)),
        (503, error("SERVICE_UNAVAILABLE")),
    ],
)
def test_documented_5xx_answers_are_accepted(status: int, body: Any) -> None:
    assert verdict(snapconform_server_error, response(status, body)) is None


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, {"message": "Internal Server Error"}, "'messages' is a required property"),
        (500, b"Internal Server Error", "not JSON"),
        (502, error("ERROR"), "status 502 is not documented"),
        (500, error("INVALID_ARGUMENT"), "error_type 'INVALID_ARGUMENT'"),
        (503, error("ERROR"), "error_type 'ERROR'"),
        (500, {"error_type": "RESOURCE_INACCESSIBLE", "messages": []}, "should be non-empty"),
    ],
)
def test_undocumented_5xx_answers_are_findings(status: int, body: Any, expected: str) -> None:
    found = verdict(snapconform_server_error, response(status, body))
    assert found is not None
    assert expected in found


def test_a_5xx_is_undocumented_for_the_session_calls_except_503() -> None:
    answer = response(500, error("ERROR"), path=SESSIONS_PATH)
    found = verdict(snapconform_server_error, answer, "DELETE", SESSIONS_PATH)
    assert found is not None and "status 500 is not documented" in found
    answer = response(503, error("SERVICE_UNAVAILABLE"), path=SESSIONS_PATH)
    assert verdict(snapconform_server_error, answer, "DELETE", SESSIONS_PATH) is None


def test_client_errors_are_not_the_server_error_checks_business() -> None:
    assert verdict(snapconform_server_error, response(404, {"oops": 1})) is None


VALID_ITEM = {
    "task": "task-1",
    "info": {
        "service": "com.vmware.snapservice.protection_group",
        "operation": "create",
        "status": "PENDING",
        "cancelable": False,
        "description": message("Create a protection group."),
    },
}


def test_body_contract_accepts_a_conforming_list_and_rejects_a_wrong_type() -> None:
    assert verdict(snapconform_list_body, response(200, {"items": []})) is None
    broken = {"items": [{**VALID_ITEM, "info": {**VALID_ITEM["info"], "cancelable": "false"}}]}
    found = verdict(snapconform_list_body, response(200, broken))
    assert found is not None and "cancelable" in found
    # schemathesis' response_schema_conformance sees the same thing in the bundled OpenAPI.
    assert verdict(response_schema_conformance, response(200, broken)) is not None


def test_body_contract_uses_the_error_schema_of_the_status() -> None:
    assert verdict(snapconform_error_body, response(400, error("INVALID_ARGUMENT"))) is None
    found = verdict(snapconform_error_body, response(400, error("UNAUTHENTICATED")))
    assert found is not None and "InvalidArgument" in found


def test_error_type_must_agree_with_the_status() -> None:
    assert verdict(snapconform_error_type, response(401, error("UNAUTHENTICATED"))) is None
    found = verdict(snapconform_error_type, response(401, error("UNAUTHORIZED")))
    assert found is not None and "UNAUTHORIZED" in found


@pytest.mark.parametrize("content_type", ["text/plain", "application/problem+json", ""])
def test_every_body_is_declared_json(content_type: str) -> None:
    found = verdict(
        snapconform_json_content_type, response(200, {"items": []}, content_type=content_type)
    )
    assert found is not None
    ok = response(200, {"items": []}, content_type="application/json; charset=utf-8")
    assert verdict(snapconform_json_content_type, ok) is None


def test_error_messages_must_hold_one_or_more() -> None:
    assert verdict(snapconform_error_messages, response(400, error("INVALID_ARGUMENT"))) is None
    empty = {"error_type": "INVALID_ARGUMENT", "messages": []}
    found = verdict(snapconform_error_messages, response(400, empty))
    assert found is not None and "messages is missing or empty" in found
    # a blank default_message is CONTRACT-ERROR-MESSAGE-TEXT's, a SHOULD: never a fuzzing failure
    blank = {"error_type": "INVALID_ARGUMENT", "messages": [message("  ")]}
    assert verdict(snapconform_error_messages, response(400, blank)) is None


# --- the disagreements the run-wide classes resolved (one implementation, audit and fuzzing) ---


@pytest.mark.parametrize("status", [200, 400, 500])
def test_an_empty_body_of_a_documented_answer_is_not_json(status: int) -> None:
    """CONTRACT-JSON: the page documents a body for every answer of the list endpoint (a
    ListResult, an error with messages), so an empty one fails, as the audit always said."""
    found = verdict(snapconform_json_content_type, response(status, b""))
    assert found is not None and "empty body" in found


def test_a_bodiless_documented_answer_may_be_empty() -> None:
    answer = response(204, b"", path=SESSIONS_PATH)
    assert verdict(snapconform_json_content_type, answer, "DELETE", SESSIONS_PATH) is None


def test_error_messages_are_judged_on_documented_error_statuses_only() -> None:
    """An undocumented status is CONTRACT-ERROR-BODY's (and status_code_conformance's) finding;
    CONTRACT-ERROR-MESSAGES judges the messages of an answer the operation documents."""
    blank = {"error_type": "NOT_FOUND", "messages": []}
    assert verdict(snapconform_error_messages, response(404, blank)) is None
    found = verdict(snapconform_error_body, response(404, blank))
    assert found is not None and "HTTP 404 is not a documented status" in found


def test_a_non_json_error_body_carries_no_message() -> None:
    found = verdict(snapconform_error_messages, response(400, b"Bad Request"))
    assert found is not None and "not a JSON object" in found


def _tasks(count: int) -> list[dict[str, Any]]:
    return [{**VALID_ITEM, "task": f"task-{index}"} for index in range(count)]


def test_a_list_one_over_the_cap_fails_cap_never_more() -> None:
    """CAP-NEVER-MORE: "at most 1000" (page line 2). Fuzzing flagged only lists over CAP + 1."""
    from snapconform.engine.runwide import CapNeverMore

    cap = run_wide(CapNeverMore)
    assert verdict(cap, response(200, {"items": _tasks(1000)})) is None
    found = verdict(cap, response(200, {"items": _tasks(1001)}))
    assert found is not None and "200 with 1001 tasks (cap 1000)" in found


def test_the_run_wide_checks_are_registered_with_schemathesis() -> None:
    """A bare ``schemathesis run`` with the checks module as hook file applies them too."""
    from schemathesis.checks import CHECKS

    from snapconform.engine.fuzzing import check_name, fuzzed_requirements

    names = set(CHECKS.get_all_names())
    assert {check_name(r) for r in fuzzed_requirements()} <= names
    registered = CHECKS.get_one(check_name(requirement_of(ContractJson)))
    case = SCHEMA[TASKS_PATH]["GET"].Case()
    with pytest.raises(FailureGroup, match="CONTRACT-JSON"):
        case.validate_response(
            response(200, {"items": []}, content_type="text/plain"),
            checks=[registered().after_response],
        )


def test_fuzzing_applies_the_must_run_wide_requirements_only() -> None:
    """FUZZ-SCHEMATHESIS is a MUST: a SHOULD-only deviation (a duplicate id) does not fail it."""
    from snapconform.engine.fuzzing import fuzzed_requirements
    from snapconform.engine.runwide import ContractUniqueIds

    fuzzed = {r.run_wide for r in fuzzed_requirements()}
    assert ContractUniqueIds not in fuzzed
    assert {Contract200Body, ContractErrorBody, ContractJson} <= fuzzed
    assert all(r.level == "MUST" for r in fuzzed_requirements())


# --- one oracle: fuzzing judges a body as the engine's Target and audit do (issue 23) --------


@pytest.mark.parametrize(
    "content",
    [
        # two error_type keys: which one the server meant is ambiguous (json.loads keeps the last)
        b'{"error_type": "INTERNAL_SERVER_ERROR", "error_type": "ERROR",'
        b' "messages": [{"id": "m", "default_message": "d", "args": []}]}',
        # NaN is not JSON (json.loads accepts it)
        b'{"error_type": "ERROR", "messages": [{"id": "m", "default_message": "d",'
        b' "args": []}], "data": NaN}',
    ],
    ids=["duplicate-key", "nan"],
)
def test_a_5xx_body_the_targets_strict_parse_refuses_is_not_json_to_fuzzing(
    content: bytes,
) -> None:
    from snapconform.engine.exchange import Exchange

    # the Target's and the audit's decode refuses it ...
    headers = {"content-type": "application/json"}
    assert Exchange.parse("GET", TASKS_PATH, 500, headers, content).json_error
    # ... and so does fuzzing's server-error check (before: a lenient json.loads accepted both)
    found = verdict(snapconform_server_error, response(500, content))
    assert found is not None and "not JSON" in found


def test_fuzzing_and_the_audit_name_a_broken_union_case_alike() -> None:
    from snapconform.engine import oracle
    from snapconform.engine.fuzzing.checks import body_violations

    failed = {**VALID_ITEM["info"], "status": "FAILED", "start_time": "2024-01-01T00:00:00.000Z"}
    body = {"items": [VALID_ITEM, {**VALID_ITEM, "task": "task-2", "info": failed}]}
    _general, conditional = oracle.list_contract_violations(body)
    assert conditional and all(line.startswith("$.items[1].info: ") for line in conditional)
    fuzzed = body_violations("GET", TASKS_PATH, 200, body)
    assert fuzzed and all(line in fuzzed[0] for line in conditional[:3]), (fuzzed, conditional)
