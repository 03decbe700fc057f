"""Every run-wide requirement is one class, and the engine's audit and the fuzzer judge with it.

For each class: a response that violates it is caught, one that complies passes; and the engine's
audit (``ResponseAudit``, fed engine responses) and the fuzzing layer (``RunWideChecks``, fed
schemathesis responses) reach the same verdict on the same bytes, because both run the class.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import random
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from schemathesis.core.failures import FailureGroup

from snapconform.engine import oracle
from snapconform.engine.audit import ResponseAudit, run_wide_requirements
from snapconform.engine.fuzzing import RunWideChecks, fuzzed_requirements, load_schema
from snapconform.engine.registry import Requirement
from snapconform.engine.runwide import (
    RUN_WIDE_CHECKS,
    CapNeverMore,
    Contract200Body,
    ContractBindings,
    ContractDatetimeUtc,
    ContractErrorBody,
    ContractErrorMessages,
    ContractErrorMessageText,
    ContractErrorType,
    ContractJson,
    ContractStatusConditional,
    ContractUniqueIds,
    ContractUnknownProperties,
    Judged,
    RunWideCheck,
)
from snapconform.engine.target import TASKS_PATH, Exchange
from snapconform.engine.verdicts import Violation
from snapconform.server.defaults import generate_tasks
from tests.engine.helpers import audit_verdict

SCHEMA = load_schema()
MESSAGE = {"id": "com.example.message", "default_message": "Something happened.", "args": []}


def _template() -> dict[str, Any]:
    """A faithful SUCCEEDED task, as the reference server generates it."""
    tasks = generate_tasks(random.Random(7), 40)
    return next(t for t in tasks if t["info"]["status"] == "SUCCEEDED")


TEMPLATE = _template()


def task(task_id: str = "task-1", **info: Any) -> dict[str, Any]:
    return {"task": task_id, "info": {**TEMPLATE["info"], **info}}


def error(error_type: str | None, **extra: Any) -> dict[str, Any]:
    return {"error_type": error_type, "messages": [MESSAGE], **extra}


@dataclass(frozen=True)
class Answer:
    status: int
    content: bytes
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, body: Any, content_type: str = "application/json") -> Answer:
        return cls(status, json.dumps(body).encode(), content_type)


LIST_OK = Answer.json(200, {"items": [task("task-1"), task("task-2")]})
ERROR_OK = Answer.json(400, error("INVALID_ARGUMENT"))

#: class -> (an answer that violates it, an answer of the kind it judges that complies).
CASES: dict[type[RunWideCheck], tuple[Answer, Answer]] = {
    ContractJson: (Answer.json(200, {"items": []}, "text/plain"), LIST_OK),
    CapNeverMore: (
        Answer.json(200, {"items": [task(f"t-{n}") for n in range(oracle.CAP + 1)]}),
        Answer.json(200, {"items": [task(f"t-{n}") for n in range(oracle.CAP)]}),
    ),
    Contract200Body: (Answer.json(200, {"items": [task(cancelable="no")]}), LIST_OK),
    ContractStatusConditional: (Answer.json(200, {"items": [task(status="PENDING")]}), LIST_OK),
    ContractUniqueIds: (Answer.json(200, {"items": [task("a"), task("a")]}), LIST_OK),
    ContractUnknownProperties: (Answer.json(200, {"items": [], "extra": 1}), LIST_OK),
    ContractDatetimeUtc: (
        Answer.json(200, {"items": [task(start_time="2024-05-01T12:00:00.000+02:00")]}),
        LIST_OK,
    ),
    # RUNNING with an end_time: the bindings' UnionValidator refuses the field for the case.
    ContractBindings: (Answer.json(200, {"items": [task(status="RUNNING")]}), LIST_OK),
    ContractErrorBody: (Answer.json(400, {"error_type": "INVALID_ARGUMENT"}), ERROR_OK),
    ContractErrorType: (Answer.json(403, error("UNAUTHENTICATED")), ERROR_OK),
    ContractErrorMessages: (Answer.json(400, error("INVALID_ARGUMENT", messages=[])), ERROR_OK),
    ContractErrorMessageText: (
        Answer.json(
            400,
            error("INVALID_ARGUMENT", messages=[{**MESSAGE, "default_message": " "}]),
        ),
        ERROR_OK,
    ),
}


def requirement_of(check: type[RunWideCheck]) -> Requirement:
    """The requirement whose judge ``check`` is (declared with ``run_wide=check``)."""
    return next(r for r in run_wide_requirements() if r.run_wide is check)


def engine_response(answer: Answer) -> Exchange:
    text = answer.content.decode()
    body, problem = None, None
    try:
        body = json.loads(text)
    except ValueError as exc:
        problem = str(exc)
    return Exchange(
        answer.status,
        httpx.Headers({"content-type": answer.content_type}),
        text,
        body,
        problem,
        "GET",
        TASKS_PATH,
        "",
    )


def audit_outcome(check: type[RunWideCheck], answer: Answer) -> str:
    audit = ResponseAudit(repro=lambda response: "curl ...", bindings=True)
    audit(engine_response(answer))
    return audit_verdict(audit, requirement_of(check).id).outcome


def fuzz_verdict(check: type[RunWideCheck], answer: Answer) -> str:
    """'failed' when the fuzzer's adapter of ``check`` reports the answer, else 'passed'."""
    function = RunWideChecks((requirement_of(check),)).functions()[0]
    response = httpx.Response(
        answer.status,
        headers={"content-type": answer.content_type},
        content=answer.content,
        request=httpx.Request("GET", f"http://127.0.0.1:9{TASKS_PATH}"),
    )
    response.elapsed = datetime.timedelta(milliseconds=1)
    try:
        SCHEMA[TASKS_PATH]["GET"].Case().validate_response(response, checks=[function])
    except FailureGroup:
        return "failed"
    return "passed"


def test_every_run_wide_class_judges_exactly_one_requirement_and_has_a_case() -> None:
    declared = [r.run_wide for r in run_wide_requirements()]
    assert len(declared) == len(set(declared)) == len(RUN_WIDE_CHECKS)
    assert set(declared) == set(RUN_WIDE_CHECKS) == set(CASES)
    assert all(r.audit for r in run_wide_requirements())


@pytest.mark.parametrize("check", list(CASES), ids=lambda check: check.__name__)
def test_the_audit_catches_a_violation_and_passes_a_compliant_answer(
    check: type[RunWideCheck],
) -> None:
    violating, compliant = CASES[check]
    assert audit_outcome(check, violating) == "failed"
    assert audit_outcome(check, compliant) == "passed"


@pytest.mark.parametrize(
    "check", [r.run_wide for r in fuzzed_requirements()], ids=lambda check: check.__name__
)
def test_fuzzing_judges_with_the_same_class(check: type[RunWideCheck]) -> None:
    violating, compliant = CASES[check]
    assert fuzz_verdict(check, violating) == audit_outcome(check, violating) == "failed"
    assert fuzz_verdict(check, compliant) == audit_outcome(check, compliant) == "passed"


def test_an_empty_body_fails_contract_json_in_the_audit_and_in_fuzzing() -> None:
    """The disagreement issue 14 names: the audit flagged it, the fuzzing check skipped it."""
    empty = Answer(200, b"")
    assert audit_outcome(ContractJson, empty) == fuzz_verdict(ContractJson, empty) == "failed"


def test_a_class_that_judged_nothing_is_not_checked() -> None:
    check = ContractErrorType(requirement_of(ContractErrorType))
    check.after_response(Judged(engine_response(LIST_OK)))
    result = check.after_run()
    assert (result.outcome, result.reason) == ("not_checked", "no_evidence")


def test_findings_stay_bounded_and_the_count_exact() -> None:
    check = ContractErrorType(requirement_of(ContractErrorType))
    for status in range(20):
        answer = Answer.json(403, error("UNAUTHENTICATED", extra=status))
        check.after_response(Judged(engine_response(answer)))
    assert check.findings.count == 20
    assert len(check.findings.examples) == 5
    with pytest.raises(Violation, match=r"^20 of 20 error responses violate it"):
        check.after_run()


def test_a_fuzz_run_gives_each_requirement_its_after_run_verdict() -> None:
    """The fuzzer's instances are run-wide too: after_run over every response they judged."""
    checks = RunWideChecks((requirement_of(ContractErrorType), requirement_of(ContractJson)))
    functions = checks.functions()
    case = SCHEMA[TASKS_PATH]["GET"].Case()
    for answer in (ERROR_OK, Answer.json(403, error("UNAUTHENTICATED"))):
        response = httpx.Response(
            answer.status,
            headers={"content-type": answer.content_type},
            content=answer.content,
            request=httpx.Request("GET", f"http://127.0.0.1:9{TASKS_PATH}"),
        )
        response.elapsed = datetime.timedelta(milliseconds=1)
        with contextlib.suppress(FailureGroup):
            case.validate_response(response, checks=functions)
    results = {check.requirement_id: check for check in checks.checks}
    with pytest.raises(Violation) as failed:
        results[requirement_of(ContractErrorType).id].after_run()
    assert str(failed.value).startswith("1 of 2 error responses violate it; f")
    assert results[requirement_of(ContractJson).id].after_run().outcome == "passed"
