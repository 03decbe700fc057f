"""The 1000-task cap: controlled universes of chosen sizes (and the audit's never-more check)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from snapconform.engine import oracle, runwide
from snapconform.engine.checks.cap_fixed import CapQuestion, cap_fixed
from snapconform.engine.checks.common import filter_violation, finish
from snapconform.engine.checks.contract import probe_contract
from snapconform.engine.checks.refusals import documented_refusal
from snapconform.engine.checks.responses import is_list, is_too_many, listed_ids
from snapconform.engine.oracle import CAP, FilterSpec
from snapconform.engine.quotes import (
    AT_MOST_1000_VISIBLE,
    OVER_1000_INACCESSIBLE,
)
from snapconform.engine.registry import Cost, Requirement, requirement
from snapconform.engine.target import Exchange, Target
from snapconform.engine.universe import Universe
from snapconform.engine.universe_sources import ControlledSource
from snapconform.engine.verdicts import CheckResult
from snapconform.strategies.cases import (
    CapCase,
    CapSize,
    cap_cases,
    sizes_at_most_cap,
    sizes_matching_under_cap,
    sizes_over_cap,
)

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness

#: The service value of a cap universe's matching tasks (the others get MARKER + "-other").
CAP_MARKER = "cap.match"


def _cap_variants(spec: FilterSpec, total: int, matching: int) -> list[FilterSpec]:
    """More queries on a pushed cap universe (no second push), each with a count the oracle
    knows: the same tasks with every status named or a value repeated, and every stored task.

    Several over-cap requests per universe: a server that gets only some of them wrong
    (every fifth, say) is still met with enough of them in a short run.
    """
    from snapconform.strategies.contract_data import statuses

    variants = [spec, spec.with_field("status", tuple(statuses()))]
    if spec.services:
        variants.append(spec.with_field("services", (*spec.services, *spec.services)))
        variants.append(FilterSpec())
    if matching < total:  # both service values are held: neither is an unknown identifier
        variants.append(FilterSpec(services=(CAP_MARKER, f"{CAP_MARKER}-other")))
    return list(dict.fromkeys(variants))


def _judge_cap(
    h: Harness,
    universe: Universe,
    spec: FilterSpec,
    response: Exchange,
    scenario: str,
    req: Requirement,
    *,
    matching_all: int | None = None,
    target: Target | None = None,
) -> None:
    """Raise unless ``response`` is a documented cap outcome for ``spec`` on ``universe``.

    ``matching_all``: how many tasks match in the whole store when ``universe`` is a limited
    view. The cap counts the visible matching tasks (page line 2) or every matching task (the
    error's wording): over 1000 of the latter, 500 ResourceInaccessible is documented too.
    A filter a documented alternative refuses (``documented_refusal``) may get 400.
    """
    expected = universe.expected(spec)
    if not is_list(response) and documented_refusal(
        h, universe, spec, response, req, target=target
    ):
        return
    if matching_all is not None and matching_all > CAP and len(expected) <= CAP:
        if is_too_many(response):
            h.choices.record("cap-counts", "all-matching", f"{spec.describe()}: {scenario}")
            return
        if is_list(response):
            h.choices.record("cap-counts", "visible-matching", f"{spec.describe()}: {scenario}")
    if oracle.cap_outcome(len(expected)) == "list":
        if not is_list(response):
            raise filter_violation(
                h,
                spec,
                response,
                f"HTTP {response.status} for {scenario} (expected 200 with all {len(expected)})",
                universe=universe,
                scenario=scenario,
                expected_status=200,
            )
        if listed_ids(response) != expected:
            raise filter_violation(
                h,
                spec,
                response,
                f"{scenario}: {oracle.set_difference(listed_ids(response), expected)}",
                universe=universe,
                expected=expected,
                actual=listed_ids(response),
                scenario=scenario,
            )
    elif not is_too_many(response):
        listed = len(listed_ids(response))
        got = (
            f"200 with {listed} tasks ({'truncated' if listed <= CAP else 'over the cap'})"
            if is_list(response)
            else f"HTTP {response.status}"
        )
        raise filter_violation(
            h,
            spec,
            response,
            f"{got} for {scenario} (expected 500 ResourceInaccessible)",
            universe=universe,
            expected=expected if is_list(response) else None,
            actual=listed_ids(response) if is_list(response) else None,
            scenario=scenario,
            expected_status=500,
        )


def _cap_controlled(
    h: Harness, req: Requirement, sizes: Sequence[CapSize], drawn: st.SearchStrategy[CapSize]
) -> CheckResult | None:
    """Push universes of (total, matching) tasks and compare with the oracle's cap outcome.

    Each pushed universe answers several filters (``_cap_variants``); when the case names a
    limited view, the limited principal asks too and must get exactly its visible matches
    (the cap counts visible tasks only).
    """
    source = h.source
    assert isinstance(source, ControlledSource) and h.principals is not None  # source.pushes
    limited = type(h.privileged)(*h.principals.limited)

    def prop(case: CapCase) -> None:
        total, matching = case.size.total, case.size.matching
        universe, spec = source.cap_universe(
            case.templates,
            total,
            matching,
            marker=CAP_MARKER,
            limited_visible=case.size.limited_visible,
        )
        h.install(universe)
        variants = _cap_variants(spec, total, matching)
        with h.target.list_many(variants) as answers:
            for variant, response in answers:
                count = len(universe.expected(variant))
                scenario = f"{count} matching of {total} stored tasks"
                _judge_cap(h, universe, variant, response, scenario, req)
        if not case.size.limited_visible:
            return
        view = source.limited_view(universe)
        with h.new_target() as target:
            h.login(target, limited)
            with target.list_many(variants[:2]) as answers:
                for variant, response in answers:
                    scenario = (
                        f"{len(view.expected(variant))} visible to the limited principal of"
                        f" {len(universe.expected(variant))} matching ({total} stored)"
                    )
                    _judge_cap(
                        h,
                        view,
                        variant,
                        response,
                        scenario,
                        req,
                        matching_all=len(universe.expected(variant)),
                        target=target,
                    )

    # The boundary cases are always tried, then a few drawn ones.
    for size in sizes:
        result = h.explore(cap_cases(st.just(size)), prop, max_examples=1)
        if result is not None:
            return result
    return h.explore(cap_cases(drawn), prop, max_examples=1)


@requirement(
    id="CAP-AT-LIMIT",
    title="Exactly 1000 matching tasks give 200 with all 1000",
    level="MUST",
    feature="cap",
    sources=(AT_MOST_1000_VISIBLE, OVER_1000_INACCESSIBLE),
    cost={"controlled": Cost(14), "declared": Cost(8), "observed": Cost(8)},
)
def check_cap_at_limit(h: Harness, req: Requirement) -> CheckResult:
    if not h.source.pushes:
        return cap_fixed(h, req, CapQuestion.AT_LIMIT)
    result = _cap_controlled(h, req, [CapSize(1000, 1000), CapSize(999, 999)], sizes_at_most_cap())
    return finish(
        h,
        req,
        result,
        "999 and 1000 matching tasks (and drawn sizes up to 1000) came back whole",
    )


@requirement(
    id="CAP-OVER-LIMIT",
    title="More than 1000 matching tasks give 500 ResourceInaccessible, never a truncated 200",
    level="MUST",
    feature="cap",
    sources=(OVER_1000_INACCESSIBLE,),
    cost={"controlled": Cost(18), "declared": Cost(8), "observed": Cost(12)},
)
def check_cap_over_limit(h: Harness, req: Requirement) -> CheckResult:
    if not h.source.pushes:
        return cap_fixed(h, req, CapQuestion.OVER_LIMIT)
    result = _cap_controlled(
        h,
        req,
        # CapSize(1300, 1250, 1100): the limited principal sees 1100 matching tasks, over the
        # cap for it too (a server that truncates only a restricted view to 1000 shows).
        [CapSize(1001, 1001), CapSize(1002, 1001), CapSize(1300, 1250, 1100)],
        sizes_over_cap(),
    )
    return finish(
        h,
        req,
        result,
        "1001 and more matching tasks (1100 of them visible to the limited principal) gave"
        " 500 ResourceInaccessible",
    )


@requirement(
    id="CAP-COUNTS-MATCHING",
    title="The cap counts matching tasks (visible ones, or all), never the tasks in the store",
    level="MUST",
    feature="cap",
    sources=(AT_MOST_1000_VISIBLE, OVER_1000_INACCESSIBLE),
    alternatives=("cap-counts",),
    cost={"controlled": Cost(50), "declared": Cost(12), "observed": Cost(12)},
)
def check_cap_counts_matching(h: Harness, req: Requirement) -> CheckResult:
    if not h.source.pushes:
        return cap_fixed(h, req, CapQuestion.COUNTS_MATCHING)
    result = _cap_controlled(
        h,
        req,
        # CapSize(1001, 1001, 1000): a principal seeing 1000 of 1001 matching tasks gets all.
        [CapSize(1001, 1000), CapSize(1500, 3), CapSize(1001, 1001, 1000), CapSize(1500, 1200, 40)],
        sizes_matching_under_cap(),
    )
    return finish(
        h,
        req,
        result,
        "filters matching ≤ 1000 of more than 1000 stored tasks, and a limited principal's"
        " ≤ 1000 visible of more than 1000 matching tasks, came back whole",
    )


@requirement(
    id="CAP-NEVER-MORE",
    title="A 200 never carries more than 1000 tasks",
    level="MUST",
    feature="cap",
    sources=(AT_MOST_1000_VISIBLE,),
    run_wide=runwide.CapNeverMore,
)
def check_never_more_than_cap(h: Harness, req: Requirement) -> CheckResult:
    probe_contract(h)
    return h.audit.result(req.id, "200 response")
