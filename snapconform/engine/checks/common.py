"""What every check shares: documented refusals and alternatives, the deterministic first case,
violations with evidence, and how a check ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from hypothesis import strategies as st

from snapconform.engine import oracle
from snapconform.engine.alternatives import refusal_reasons
from snapconform.engine.checks.responses import is_list, is_too_many, listed_ids
from snapconform.engine.oracle import FilterSpec
from snapconform.engine.registry import Requirement
from snapconform.engine.target import (
    BudgetExhausted,
    Response,
    TargetError,
)
from snapconform.engine.universe import Universe
from snapconform.engine.verdicts import CheckResult, Uncertain, Violation
from snapconform.strategies.filters import (
    filter_specs,
    informative_filters,
)

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


#: Filters per universe in one Hypothesis example (controlled mode pushes one universe each).
FILTERS_PER_UNIVERSE = 20
#: Extra filters derived from single tasks per pushed universe (FILTER-COMPLETENESS).
TASK_FILTERS_PER_UNIVERSE = 8


CaseT = TypeVar("CaseT")
T = TypeVar("T")


@dataclass(frozen=True)
class Example(Generic[CaseT]):
    """One example of a check: a universe (pushed first when the source pushes) and the case
    the check asks on it (filters, a relation, a reordering: ``strategies.cases``)."""

    universe: Universe
    case: CaseT


def on_universes(
    h: Harness, cases: Callable[[Universe], st.SearchStrategy[CaseT]], **options: Any
) -> st.SearchStrategy[Example[CaseT]]:
    """Examples: a universe of the run's source (``options``), then a case drawn from it."""
    return h.universes(**options).flatmap(
        lambda universe: st.builds(Example, st.just(universe), cases(universe))
    )


@dataclass
class Tally:
    """What a check's examples judged: its pass detail counts them (``judged``), and the cases
    that could show nothing (``uninformative``)."""

    judged: int = 0
    uninformative: int = 0


def documented_refusal(
    h: Harness, universe: Universe, spec: FilterSpec, response: Response
) -> bool:
    """Whether ``response`` refuses ``spec`` the way a documented alternative may (recorded).

    400 InvalidArgument for a filter naming neither tasks nor services (bindings), with a
    repeated value (sets), an unknown status value or an identifier the universe does not hold;
    500 ResourceInaccessible for an unknown task id ("a task's state cannot be accessed").
    """
    reasons = refusal_reasons(spec)
    if response.status == 400:
        if reasons:
            h.choices.refused(spec)
            return True
        if universe.is_unknown(spec):
            h.choices.record("unknown-identifiers", "refused", spec.describe())
            return True
        return False
    if is_too_many(response) and universe.unknown_task_ids(spec):
        h.choices.record("unknown-identifiers", "inaccessible", spec.describe())
        return True
    return False


def note_listed(h: Harness, universe: Universe, spec: FilterSpec, response: Response) -> None:
    """Record the documented alternatives a 200 list to ``spec`` shows the target chose."""
    if not spec.tasks and not spec.services:
        h.choices.record("filter-without-tasks-or-services", "listed", spec.describe())
    if any(len(set(v)) != len(v) for v in spec.constraints().values()):
        h.choices.record("repeated-values", "deduplicated", spec.describe())
    if universe.is_unknown(spec) and not refusal_reasons(spec):
        h.choices.record("unknown-identifiers", "omitted", spec.describe())
    if spec.users and universe.known_expected(spec) is not None:
        folded = universe.allowed(spec) - universe.expected(spec)
        if folded:
            got = listed_ids(response)
            choice = "case-insensitive" if folded & got else "case-sensitive"
            h.choices.record("users-case", choice, spec.describe())


def refused_as_documented(
    h: Harness, universe: Universe, spec: FilterSpec, response: Response
) -> bool:
    """Neither a list nor the cap error, but a refusal a documented alternative allows."""
    return (
        not is_list(response)
        and not (is_too_many(response) and not universe.unknown_task_ids(spec))
        and documented_refusal(h, universe, spec, response)
    )


def with_every_service(universe: Universe, spec: FilterSpec) -> FilterSpec | None:
    """``spec`` naming every service the universe holds: the same tasks, and a filter that a
    server requiring tasks or services (bindings) answers. None: nothing to add."""
    if spec.tasks or spec.services:
        return None
    services = tuple(sorted(universe.vocabulary.values.get("services", ())))
    if not services:
        return None
    return spec.with_field("services", services)


def filter_violation(
    h: Harness,
    spec: FilterSpec,
    response: Response,
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


def filters_for(
    universe: Universe, n: int = FILTERS_PER_UNIVERSE
) -> st.SearchStrategy[list[FilterSpec]]:
    return st.lists(filter_specs(universe.vocabulary), min_size=max(1, n // 2), max_size=n)


def task_filters(universe: Universe, n: int = TASK_FILTERS_PER_UNIVERSE) -> list[FilterSpec]:
    """Filters built from single tasks of ``universe``: each matches at least that task.

    Cheap extra cases once a universe is pushed (controlled mode); a task's own combination
    of values rarely repeats across universes, so most are new queries. Observed and declared
    universes are fixed for the run: they get none (the drawn filters already cover them).
    """
    if not universe.pushed:
        return []
    out: list[FilterSpec] = []
    for item in universe.visible_items[:n]:
        info = item.get("info") or {}
        values = {
            "status": info.get("status"),
            "services": info.get("service"),
            "operations": info.get("operation"),
            "users": info.get("user"),
        }
        spec = FilterSpec(**{k: (v,) for k, v in values.items() if isinstance(v, str)})
        out.append(spec if len(out) % 2 == 0 else spec.with_field("status", None))
    return out


def with_filters(
    h: Harness, n: int = FILTERS_PER_UNIVERSE, **options: Any
) -> st.SearchStrategy[Example[list[FilterSpec]]]:
    """Examples of up to ``n`` filters drawn from the vocabulary of one universe."""
    return on_universes(h, lambda universe: filters_for(universe, n), **options)


def first_filters(universe: Universe) -> list[FilterSpec]:
    return informative_filters(universe.visible_items)


def first_example(h: Harness) -> Example[list[FilterSpec]]:
    """The deterministic first case of the filter checks: informative filters on the source's
    first universe (a rich one when the source pushes, else the run's)."""
    universe = h.source.first_universe()
    return Example(universe, first_filters(universe))


def first_case(h: Harness, case: T, prop: Callable[[T], None]) -> CheckResult | None:
    """Run ``prop`` once on a deterministic ``case`` before Hypothesis' random examples.

    Hypothesis starts simplest-first (an empty universe, the empty filter), which shows
    little; the first case (a rich universe, ``informative_filters``) is chosen so that the
    common deviations show within a few requests. Called directly, not through ``explore``:
    there is nothing to shrink, and Hypothesis' replay of the failing example would send
    every request twice. Outcomes other than a violation are left to ``explore`` (None).
    The first such case of a run is followed by the error probe (``probe_errors``).
    """
    try:
        prop(case)
        h.marks.examples += 1  # the plan counts it towards the check's minimum
    except Violation as violation:
        return CheckResult.failed(
            f"{violation} [seed {h.seed}; deterministic first case]", violation.evidence
        )
    except (BudgetExhausted, TargetError, Uncertain):
        pass  # the random phase meets the same condition and reports it as usual
    probe_errors(h)
    return None


def finish(h: Harness, req: Requirement, result: CheckResult | None, passed: str) -> CheckResult:
    if result is not None:
        return result
    uncertain = h.uncertain.get(req.id, [])
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
    AUTH-NO-CREDENTIALS judge their own requests.
    """

    def probe() -> bool:
        try:
            h.target.get_tasks(oracle.encode_query([("status", "succeeded")]))
            h.target.get_tasks(authenticated=False)
        except (BudgetExhausted, TargetError):
            return False  # the checks meet the same condition and report it
        return True

    h.memo("error-probe", probe)
