"""The checks a fuzzed response meets, as schemathesis checks: registered in this one place.

- schemathesis' own checks that only look at the response (:func:`builtin_checks`), with
  ``negative_data_rejection`` knowing the documented open Status enum;
- snapconform's run-wide requirements (:mod:`snapconform.engine.runwide`), the very classes the
  engine's audit uses: :class:`RunWideChecks` adapts the MUST ones to schemathesis check
  functions (a finding per response that violates one), and each is registered with
  schemathesis as a check class, so a bare ``schemathesis run`` given this module as a hook
  file applies them too;
- checks only fuzzing has: 5xx only as documented (:func:`snapconform_server_error`), a request
  without the caller's credentials refused with 401, a valid request served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import schemathesis

from snapconform.engine import oracle, runwide
from snapconform.engine.audit import run_wide_requirements
from snapconform.engine.exchange import Exchange
from snapconform.engine.fuzzing.scenarios import TASKS_PATH, case_filter, documented_refusal
from snapconform.engine.runwide import Judged, RunWideCheck
from snapconform.engine.safety import TargetSafetyError, parse_json

if TYPE_CHECKING:
    from schemathesis.checks import CheckContext, CheckFunction
    from schemathesis.core.transport import Response
    from schemathesis.generation.case import Case

    from snapconform.engine.registry import Requirement


# --- contract knowledge, derived from contracts/ (never restated) --------------------------------


def _operation_key(case: Case) -> tuple[str, str]:
    return (case.method.upper(), case.path)


def _json_body(response: Response) -> Any:
    """The body decoded as the engine's Target and audit decode every answer (strict RFC 8259
    JSON, bounded depth: ``safety.parse_json``); a body they refuse is not JSON here either."""
    try:
        return parse_json(response.content or b"")
    except TargetSafetyError:
        return _NOT_JSON


_NOT_JSON = object()


def status_violation(method: str, path: str, status: int) -> str | None:
    """Why ``status`` is not an answer the operation documents (None: it is)."""
    documented = runwide.documented_responses(method, path)
    if documented is None:
        return f"{method} {path} is not an operation of the contract"
    if status in documented:
        return None
    listed = ", ".join(str(code) for code in sorted(documented))
    return f"status {status} is not documented for {method} {path} (documented: {listed})"


def body_violations(method: str, path: str, status: int, body: Any) -> list[str]:
    """Why ``body`` is not a documented body of ``status`` for the operation (empty: it is).

    Judged by the oracle's functions on the contracts' own schemas (JSON Schema 2020-12 with
    format checking, status-conditional Info rules included); an undocumented status is itself
    a violation.
    """
    problem = status_violation(method, path, status)
    if problem is not None:
        return [problem]
    if status >= 400:
        return oracle.error_body_violations(status, body)
    names = (runwide.documented_responses(method, path) or {})[status]
    failures: list[str] = []
    for name in names:
        violations = (
            oracle.list_body_violations(body)
            if name == "ListResult"
            else oracle.schema_violations(name, body, conditional=True)
        )
        if not violations:
            return []
        failures.append(f"not a valid {name}: {'; '.join(violations[:3])}")
    return failures


# --- the run-wide requirements, as schemathesis checks ------------------------------------------


def check_name(requirement: Requirement) -> str:
    """A run-wide requirement's schemathesis name, from its id (e.g. snapconform_cap_never_more)."""
    return "snapconform_" + requirement.id.lower().replace("-", "_")


def exchange_of(response: Response, case: Case) -> Exchange:
    """A fuzzed response as the run's one Exchange (decoded as the engine decodes every answer)."""
    headers = [(name, value) for name, values in response.headers.items() for value in values]
    return Exchange.parse(case.method, case.path, response.status_code, headers, response.content)


def fuzzed_requirements() -> tuple[Requirement, ...]:
    """The run-wide requirements fuzzing applies: the MUST ones.

    FUZZ-SCHEMATHESIS is a MUST, and a deviation only a SHOULD names (unique ids, unknown
    properties, UTC date-times, the bindings' decode) must not fail it; the audit judges those on
    every response, fuzzed ones included.
    """
    return tuple(r for r in run_wide_requirements() if r.level == "MUST")


class RunWideChecks:
    """One fuzz run's run-wide checks (fresh instances), as schemathesis check functions.

    Each function judges a response with its check's ``after_response`` and fails with the
    problems it found (each check's ``after_run`` is its verdict over the fuzz run). ``decoded``
    is the response being validated, when the caller decoded it already (so a body is decoded,
    and its views derived, once, not once per check).
    """

    def __init__(self, requirements: tuple[Requirement, ...] | None = None) -> None:
        chosen = fuzzed_requirements() if requirements is None else requirements
        self.checks: list[RunWideCheck] = [r.run_wide(r) for r in chosen if r.run_wide]
        self.decoded: Judged | None = None

    def functions(self) -> list[CheckFunction]:
        return [self._function(check) for check in self.checks]

    def _function(self, check: RunWideCheck) -> CheckFunction:
        def run(ctx: CheckContext, response: Response, case: Case) -> bool | None:
            judged = self.decoded or Judged(exchange_of(response, case))
            problems = check.after_response(judged)
            if problems:
                raise AssertionError(f"{check.requirement_id}: " + "; ".join(problems))
            return None

        run.__name__ = check_name(check.requirement)
        run.__doc__ = type(check).__doc__
        return run


class _SchemathesisRunWide:
    """A run-wide check as a schemathesis check class (``after_response`` fails per response)."""

    requirement: ClassVar[Requirement]

    def __init__(self) -> None:
        run_wide = self.requirement.run_wide
        assert run_wide is not None
        self.check: RunWideCheck = run_wide(self.requirement)

    def after_response(self, ctx: CheckContext, response: Response, case: Case) -> None:
        problems = self.check.after_response(Judged(exchange_of(response, case)))
        if problems:
            raise AssertionError(f"{self.check.requirement_id}: " + "; ".join(problems))


def _schemathesis_check(requirement: Requirement) -> type:
    """The requirement's run-wide check registered with schemathesis under its check_name."""
    adapter = type(
        check_name(requirement),
        (_SchemathesisRunWide,),
        {"requirement": requirement, "__doc__": requirement.title},
    )
    return schemathesis.check(adapter)


#: The same checks for a bare ``schemathesis run`` loaded with this module as a hook file.
SCHEMATHESIS_CHECK_CLASSES: tuple[type, ...] = tuple(
    _schemathesis_check(requirement) for requirement in fuzzed_requirements()
)


# --- checks only fuzzing has ---------------------------------------------------------------------


def _fail(title: str, message: str) -> NoReturn:
    raise AssertionError(f"{title}: {message}")


@schemathesis.check
def snapconform_server_error(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """5xx only as documented: a documented status with a conforming, agreeing error body.

    Replaces ``not_a_server_error``, which would flag the documented ``500
    RESOURCE_INACCESSIBLE`` (over 1000 matching tasks) and ``500 ERROR``.
    """
    status = response.status_code
    if status < 500:
        return None
    method, path = _operation_key(case)
    body = _json_body(response)
    if body is _NOT_JSON:
        _fail("Server error", f"{status} with a body that is not JSON")
    problems = body_violations(method, path, status, body)
    disagreement = oracle.error_type_violation(status, body)
    if disagreement:
        problems.append(disagreement)
    if problems:
        _fail("Server error", f"{status} is not a documented error answer: " + "; ".join(problems))
    return None


def unauthenticated_refused(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A request without the caller's credentials is refused with 401 (never served)."""
    if response.status_code != 401:
        _fail(
            "Authentication",
            f"request without valid credentials answered {response.status_code}, expected 401",
        )
    return None


unauthenticated_refused.__name__ = "snapconform_unauthenticated_refused"


def valid_request_served(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A valid request with valid credentials is served: 200, or a documented answer.

    The documented ``500 RESOURCE_INACCESSIBLE`` (over 1000 matching tasks, or a task whose
    state cannot be accessed) is a business answer, and so is a ``400`` that a documented
    alternative allows (``documented_refusal``); a ``500 ERROR``, a ``503`` or a ``400`` no source
    allows to a request the contract calls valid is a deviation (an unknown task id that crashes
    the lookup).
    """
    status = response.status_code
    if status == 200:
        return None
    body = _json_body(response)
    error_type = body.get("error_type") if isinstance(body, dict) else None
    if case.path == TASKS_PATH and oracle.is_cap_error(status, body):
        return None
    if status == 400 and case.path == TASKS_PATH and documented_refusal(case) is not None:
        return None
    shown = f"{status} {error_type}" if error_type else str(status)
    _fail(
        "Valid request refused",
        f"a valid request with valid credentials answered {shown}; expected 200"
        + (" (or 500 RESOURCE_INACCESSIBLE over the cap)" if case.path == TASKS_PATH else ""),
    )


valid_request_served.__name__ = "snapconform_valid_request_served"


def negative_data_rejection(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """schemathesis' negative-data rejection (400), except for a documented open enum.

    Status is an open enum (bindings: "Newer versions of the enumerated type may contain new
    values"): a status value outside the enum may be accepted and match no task. A 200 to such
    a case passes when every task it lists has one of the case's enum status values; tasks of
    any other status are still a deviation.
    """
    from schemathesis.specs.openapi import checks as openapi_checks

    if response.status_code == 200 and case.path == TASKS_PATH:
        spec = case_filter(case)
        # The body only matters for an unknown status value: decoding it is most of this
        # check's cost, and most cases (every positive one) have none.
        if oracle.unknown_status_values(spec):
            body = _json_body(response)
            items = body.get("items") if isinstance(body, dict) else None
            if isinstance(items, list) and not oracle.outside_known_statuses(items, spec):
                return None
    return openapi_checks.negative_data_rejection(ctx, response, case)


# The same name as schemathesis' check: findings and the scenario filters use it.
negative_data_rejection.__name__ = "negative_data_rejection"


def builtin_checks() -> tuple[CheckFunction, ...]:
    """schemathesis' own checks that only look at the response (none of them re-sends)."""
    from schemathesis.specs.openapi import checks as openapi_checks

    return (
        openapi_checks.status_code_conformance,
        openapi_checks.content_type_conformance,
        openapi_checks.response_schema_conformance,
        negative_data_rejection,
    )
