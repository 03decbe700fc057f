"""Schema-driven fuzzing (schemathesis) through the run's Target."""

from __future__ import annotations

from typing import TYPE_CHECKING

from snapconform.engine.quotes import INVALID_PARAMETERS_400, SNAPSERVICE
from snapconform.engine.registry import Cost, Requirement, bindings, requirement
from snapconform.engine.verdicts import CheckResult, Violation

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


@requirement(
    id="FUZZ-SCHEMATHESIS",
    title="Schema-driven fuzzing finds no contract violation",
    level="MUST",
    feature="fuzzing",
    sources=(
        INVALID_PARAMETERS_400,
        bindings(
            f"{SNAPSERVICE}.Tasks.list",
            ":param filter: Specification of matching tasks. … :rtype: Tasks.ListResult"
            " … :raise: com.vmware.vapi.std.errors_client.InvalidArgument if any of the"
            " specified parameters are invalid.",
            "the operation's parameter, result and errors; contracts/openapi.yaml restates them",
        ),
    ),
    alternatives=(
        "filter-without-tasks-or-services",
        "repeated-values",
        "unknown-status",
        "unknown-identifiers",
    ),
    cost=Cost(25, 1.0),
)
def check_fuzzing(h: Harness, req: Requirement) -> CheckResult:
    """Hook: ``snapconform.engine.fuzzing.fuzz_target`` (schemathesis) through the run's Target."""
    try:
        from snapconform.engine import fuzzing
    except ImportError:
        return CheckResult.not_checked("error", "fuzzing module not available")
    fuzz_target = getattr(fuzzing, "fuzz_target", None)
    if fuzz_target is None:
        return CheckResult.not_checked("error", "fuzzing module not available (no fuzz_target)")
    report = fuzz_target(
        h.target, max_examples=max(5, h.max_examples), seed=h.seed, api_version=h.config.api_version
    )
    sent = f"{report.requests_sent} fuzzed requests"
    if report.findings:
        shown = " | ".join(
            f"{f.check} on {f.request} -> HTTP {f.status}: {h.redactor(f.message)[:200]}"
            for f in report.findings[:3]
        )
        raise Violation(f"{len(report.findings)} deviation(s) in {sent}: {shown} [seed {h.seed}]")
    if report.transport_errors:
        raise Violation(f"{report.transport_errors} transport error(s) in {sent}")
    if getattr(report, "connection_lost", None):
        # a request lost to the network (after the retry) ended the fuzzing: no pass
        return CheckResult.not_checked(
            "transport",
            f"a request was lost to the network after {sent}: {h.redactor(report.connection_lost)}",
        )
    minimum = h.minimum_requests(req.id)
    if report.budget_exhausted and report.requests_sent < minimum:
        # Fewer fuzzed requests than a verdict needs, without a deviation, are no pass.
        expired = h.plan is not None and h.plan.expired()
        why = "time" if expired or h.marks.refused_why == "time" else "budget"
        ended = "the time box (--max-duration) ended" if why == "time" else "budget exhausted"
        return CheckResult.not_checked(
            why,
            f"{ended} after {report.requests_sent} fuzzed request(s), fewer than the {minimum}"
            " a verdict needs",
        )
    return CheckResult.passed(
        f"{sent}, no deviation" + (" (budget exhausted)" if report.budget_exhausted else "")
    )
