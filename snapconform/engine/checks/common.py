"""How a check runs and ends: the deterministic first case, a violation with its evidence, the
tally of cases judged, the outcome (``finish``) and the run's early error probe.

A check fails one way: it raises :class:`~snapconform.engine.verdicts.Violation` with its
evidence (``filter_violation`` builds one for a filter's answer); ``Requirement.check`` makes
the failed result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from snapconform.engine import oracle
from snapconform.engine.oracle import FilterSpec
from snapconform.engine.registry import Requirement
from snapconform.engine.target import BudgetExhausted, Exchange, TargetError
from snapconform.engine.universe import Universe
from snapconform.engine.verdicts import CheckResult, Uncertain, Violation

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness

T = TypeVar("T")


@dataclass
class Tally:
    """What a check's examples asked (``asked``: the cases sent), judged (``judged``: answers
    held against the oracle; its pass detail counts them), and the cases that could show nothing
    (``uninformative``). ``finish`` bounds the verdict by them: too few judged, or too many
    uncertain, and the requirement is not checked."""

    asked: int = 0
    judged: int = 0
    uninformative: int = 0


def filter_violation(
    h: Harness,
    spec: FilterSpec,
    response: Exchange,
    what: str,
    *,
    universe: Universe | None = None,
    expected: frozenset[str] | None = None,
    actual: frozenset[str] | None = None,
    **facts: Any,
) -> Violation:
    """A violation by ``response`` to ``spec``: a one-line detail plus the report's evidence."""
    evidence = h.evidence(
        response, spec=spec, universe=universe, expected=expected, actual=actual, **facts
    )
    return Violation(f"filter {spec.describe()}: {what} — reproduce: {h.repro(response)}", evidence)


def scenario_note(h: Harness, universe: Universe) -> str:
    """The size of a pushed universe, for a failure's detail (a fixed one is the target's)."""
    if h.source.pushes:
        return f" (universe of {len(universe.items)} tasks)"
    return ""


def first_case(h: Harness, case: T, prop: Callable[[T], None]) -> None:
    """Run ``prop`` once on a deterministic ``case`` before Hypothesis' random examples.

    Hypothesis starts simplest-first (an empty universe, the empty filter), which shows
    little; the first case (a rich universe, ``informative_filters``) is chosen so that the
    common deviations show within a few requests. Called directly, not through ``explore``:
    there is nothing to shrink, and Hypothesis' replay of the failing example would send
    every request twice. A violation fails the check at once (raised again, naming the seed
    and the case); other outcomes are left to ``explore``. The first such case of a run is
    followed by the error probe (``probe_errors``).
    """
    try:
        prop(case)
        h.marks.examples += 1  # the plan counts it towards the check's minimum
    except Violation as violation:
        raise Violation(
            f"{violation} [seed {h.seed}; deterministic first case]", violation.evidence
        ) from None
    except (BudgetExhausted, TargetError, Uncertain):
        pass  # the random phase meets the same condition and reports it as usual
    probe_errors(h)


#: A requirement that left more than this part of its cases uncertain is not checked.
MAX_UNCERTAIN_SHARE = 0.1


def finish(
    h: Harness,
    req: Requirement,
    result: CheckResult | None,
    passed: str,
    tally: Tally | None = None,
) -> CheckResult:
    """The check's outcome: ``result`` when it decided otherwise, else passed, but only on
    evidence: with a ``tally``, a check that judged fewer cases than its planned minimum, or
    left more than a tenth of its cases uncertain (data changed, an error that did not repeat),
    is not checked (uncertain), never passed."""
    if result is not None:
        return result
    uncertain = h.uncertain.get(req.id, [])
    if tally is not None:
        minimum = h.minimum_cases(req.id)
        cases = max(tally.asked, tally.judged)
        if tally.judged < minimum:
            return CheckResult.not_checked(
                "uncertain",
                f"only {tally.judged} of {cases} case(s) could be judged (at least {minimum}"
                " planned)" + (f"; uncertain, e.g. {uncertain[0]}" if uncertain else ""),
            )
        if len(uncertain) > MAX_UNCERTAIN_SHARE * cases:
            return CheckResult.not_checked(
                "uncertain",
                f"{len(uncertain)} of {cases} case(s) uncertain (more than"
                f" {MAX_UNCERTAIN_SHARE:.0%}), e.g. {uncertain[0]}",
            )
    if uncertain:
        passed += (
            f"; {len(uncertain)} case(s) uncertain (data changed during the run),"
            f" e.g. {uncertain[0]}"
        )
    return CheckResult.passed(passed)


def probe_errors(h: Harness) -> None:
    """Once per run, early: one request of each documented error a run provokes cheaply.

    An invalid status value (400 InvalidArgument) and no credentials (401 Unauthenticated), so
    the error-body audits (CONTRACT-ERROR-BODY/-TYPE/-MESSAGES) judge an error body within the
    first requests of a run; otherwise the first error response may only come from the contract
    probe, which runs after every other check (hundreds of requests in). Both are plain GETs,
    harmless to a real target. The responses are only audited here: FILTER-INVALID-STATUS and
    AUTH-NO-CREDENTIALS judge their own requests. A mock with fault injection (controlled mode)
    also answers two injected ResourceInaccessible faults: the status it gives them is held by
    CONTRACT-ERROR-TYPE (alternative ``inaccessible-status``) from then on.
    """

    def probe() -> bool:
        try:
            h.target.get_tasks(oracle.encode_query([("status", "succeeded")]))
            h.target.get_tasks(authenticated=False)
            if h.control is not None and h.control.inject_fault("RESOURCE_INACCESSIBLE", 2):
                h.target.list_tasks(FilterSpec())
                h.target.list_tasks(FilterSpec())
        except (BudgetExhausted, TargetError):
            return False  # the checks meet the same condition and report it
        return True

    h.memo("error-probe", probe)
