"""Injected faults (controlled mode): 503 and 500 bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from snapconform.engine import oracle
from snapconform.engine.checks.responses import error_type_of, is_too_many
from snapconform.engine.oracle import FilterSpec
from snapconform.engine.quotes import (
    INACCESSIBLE_AS_400,
    INTERNAL_SERVER_ERROR_ANY_METHOD,
    OVER_1000_INACCESSIBLE,
    SYSTEM_ERROR_500,
    UNAVAILABLE_503,
)
from snapconform.engine.registry import Cost, Requirement, requirement
from snapconform.engine.verdicts import CheckResult, Violation

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


#: The error_type an injected fault may come back as. Both 500 kinds are valid on HTTP 500, so
#: the status alone cannot tell an injected ResourceInaccessible answered as Error: the type
#: must be the one injected (a generic failure may be InternalServerError, bindings), or absent
#: or null (page line 224: "Can be missing or null for compatibility with preceding
#: implementations").
INJECTED_TYPES: dict[str, frozenset[str | None]] = {
    "SERVICE_UNAVAILABLE": frozenset({"SERVICE_UNAVAILABLE", None}),
    "ERROR": frozenset({"ERROR", "INTERNAL_SERVER_ERROR", None}),
    "RESOURCE_INACCESSIBLE": frozenset({"RESOURCE_INACCESSIBLE", None}),
}


def _fault(h: Harness, error_type: str, status: int) -> CheckResult | str:
    """Inject one ``error_type`` fault and judge the answer (``status``: the page's).

    ResourceInaccessible may also come back as HTTP 400 (the vAPI REST runtime's error map,
    alternative ``inaccessible-status``), then saying RESOURCE_INACCESSIBLE (a 400 is
    otherwise InvalidArgument); CONTRACT-ERROR-TYPE holds every later one to that status.
    """
    if h.control is None:
        return CheckResult.not_applicable(
            "mode", "fault injection needs controlled mode ({control}/faults)"
        )
    universe = h.memo("fault-universe", lambda: h.draw(h.universes(max_tasks=5)))
    h.install(universe)
    if not h.control.inject_fault(error_type, 1):
        return CheckResult.not_applicable(
            "mode", f"the control endpoint has no fault injection ({h.control.control_url}/faults)"
        )
    response = h.target.list_tasks(FilterSpec())
    if error_type == "RESOURCE_INACCESSIBLE" and is_too_many(response):
        status = response.status  # 500, or 400 saying RESOURCE_INACCESSIBLE (oracle.is_cap_error)
    if response.status != status:
        raise Violation(
            f"an injected {error_type} fault gave HTTP {response.status}, expected {status}"
            + (
                " (or 400 saying RESOURCE_INACCESSIBLE)"
                if error_type == "RESOURCE_INACCESSIBLE"
                else ""
            )
        )
    problems = oracle.error_body_violations(status, response.body, h.contracts)
    type_problem = oracle.error_type_violation(status, response.body)
    problems += [type_problem] if type_problem else []
    problems += oracle.message_violations(response.body)
    if problems:
        raise Violation(
            f"{error_type} body: {'; '.join(problems[:3])} — reproduce: {h.repro(response)}"
        )
    chosen = error_type_of(response)
    allowed = INJECTED_TYPES[error_type]
    if chosen not in allowed:
        named = " or ".join(sorted(t for t in allowed if t))
        raise Violation(
            f"an injected {error_type} fault came back as HTTP {status} with error_type"
            f" {chosen!r}, expected {named} (or none) — reproduce: {h.repro(response)}"
        )
    if error_type == "ERROR" and chosen in ("ERROR", "INTERNAL_SERVER_ERROR"):
        h.choices.record("error-500-type", chosen, "an injected system failure")
    shown = f" ({chosen})" if chosen not in (None, error_type) else ""
    return f"{error_type} -> HTTP {status}{shown} with a valid body"


@requirement(
    id="FAULT-503",
    modes=("controlled",),
    title="503 ServiceUnavailable bodies are valid",
    level="MUST",
    feature="faults",
    sources=(UNAVAILABLE_503,),
    cost=Cost(3),
)
def check_fault_503(h: Harness, req: Requirement) -> CheckResult:
    outcome = _fault(h, "SERVICE_UNAVAILABLE", 503)
    return outcome if isinstance(outcome, CheckResult) else CheckResult.passed(outcome)


@requirement(
    id="FAULT-500",
    modes=("controlled",),
    title="500 Error (or InternalServerError) and ResourceInaccessible bodies are valid",
    level="MUST",
    feature="faults",
    sources=(
        SYSTEM_ERROR_500,
        OVER_1000_INACCESSIBLE,
        INTERNAL_SERVER_ERROR_ANY_METHOD,
        INACCESSIBLE_AS_400,
    ),
    alternatives=("error-500-type", "inaccessible-status"),
    cost=Cost(6),
)
def check_fault_500(h: Harness, req: Requirement) -> CheckResult:
    done = []
    for error_type in ("ERROR", "RESOURCE_INACCESSIBLE"):
        outcome = _fault(h, error_type, 500)
        if isinstance(outcome, CheckResult):
            return outcome
        done.append(outcome)
    return CheckResult.passed("; ".join(done))
