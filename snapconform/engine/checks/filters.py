"""Filter semantics: the empty filter, soundness and completeness against the oracle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from snapconform.engine import oracle
from snapconform.engine.checks.common import (
    Tally,
    filter_violation,
    finish,
    first_case,
    scenario_note,
)
from snapconform.engine.checks.examples import (
    FILTERS_PER_UNIVERSE,
    Example,
    first_example,
    task_filters,
    with_filters,
)
from snapconform.engine.checks.judging import judge_complete, list_or_fail, over_cap_list
from snapconform.engine.checks.refusals import note_listed
from snapconform.engine.checks.responses import is_list, listed_ids
from snapconform.engine.oracle import FilterSpec
from snapconform.engine.quotes import (
    AT_MOST_1000_VISIBLE,
    FIELDS_COMBINE_WITH_AND,
    SNAPSERVICE,
    TASKS_OR_SERVICES_REQUIRED,
)
from snapconform.engine.registry import Cost, Requirement, bindings, page, requirement
from snapconform.engine.target import Exchange
from snapconform.engine.universe import Universe, over_cap
from snapconform.engine.verdicts import CheckResult, Violation

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


@requirement(
    id="FILTER-EMPTY",
    title="The empty filter, whenever answered with 200, returns every visible task",
    level="MUST",
    feature="filter semantics",
    sources=(
        page(9, "If missing or null or empty, tasks with any identifier will match the filter."),
        bindings(
            f"{SNAPSERVICE}.Tasks.list",
            "if None, the behavior is equivalent to a Tasks.FilterSpec with all attributes"
            " None which means all tasks match the filter.",
        ),
        TASKS_OR_SERVICES_REQUIRED,
    ),
    alternatives=("filter-without-tasks-or-services",),
    cost=Cost(6, 0.3, 1),
)
def check_empty_filter_returns_all(h: Harness, req: Requirement) -> CheckResult:
    spec = FilterSpec()
    tally = Tally()

    def prop(universe: Universe) -> None:
        h.install(universe)
        response = h.target.list_tasks(spec)
        if over_cap(universe, spec) is True:
            tally.asked += 1
            tally.judged += 1
            problem = is_list(response) and over_cap_list(h, req, universe, spec, response)
            if problem:
                raise filter_violation(
                    h,
                    spec,
                    response,
                    problem,
                    universe=universe,
                    expected=universe.judged_for(spec, universe.expected(spec)),
                    actual=listed_ids(response),
                    expected_status=500,
                )
            return
        tally.asked += 1
        listed = list_or_fail(h, universe, spec, response, req)
        if listed is None:
            return
        tally.judged += 1
        judge_complete(h, req, universe, listed.spec, listed.response, h.target)
        if listed.spec != spec:
            # Refused as the bindings allow (tasks or services required): the same question
            # asked with every service named listed every visible task (judged above).
            return
        response = listed.response
        extra = universe.surplus(spec, listed_ids(response))
        if extra:
            raise filter_violation(
                h,
                spec,
                response,
                f"{len(extra)} task(s) that are not visible tasks, e.g. {sorted(extra)[:3]}",
                universe=universe,
                expected=universe.expected(spec),
                actual=listed_ids(response),
            )

    first_case(h, h.source.first_universe(), prop)

    result = h.explore(h.universes(), prop)
    passed = f"the empty filter returned every visible task ({h.mode} mode)"
    if h.choices.choices("filter-without-tasks-or-services") == {"refused"}:
        passed = (
            "the empty filter was refused with 400 (documented: the bindings require tasks or"
            " services); the same filter naming every service returned every visible task"
            f" ({h.mode} mode)"
        )
    return finish(h, req, result, passed, tally)


@requirement(
    id="FILTER-SOUNDNESS",
    title="Every returned task matches the filter",
    level="MUST",
    feature="filter semantics",
    sources=(AT_MOST_1000_VISIBLE, FIELDS_COMBINE_WITH_AND),
    alternatives=("users-case",),
    cost=Cost(80, 3.0, 1),
)
def check_filter_soundness(h: Harness, req: Requirement) -> CheckResult:
    tally = Tally()

    def prop(example: Example[list[FilterSpec]]) -> None:
        universe = example.universe
        h.install(universe)
        with h.target.list_many(example.case) as answers:
            for spec, response in answers:
                judge_sound(universe, spec, response)

    def judge_sound(universe: Universe, spec: FilterSpec, response: Exchange) -> None:
        tally.asked += 1
        if not is_list(response):
            return  # a refusal or an error: FILTER-COMPLETENESS judges those
        tally.judged += 1
        items = [item for item in response.body["items"] if isinstance(item, Mapping)]
        wrong = [item.get("task") for item in items if not oracle.may_match(item, spec)]
        if any(oracle.users_case_only(item, spec) for item in items):
            h.choices.record("users-case", "case-insensitive", spec.describe())
        note_listed(h, universe, spec, response)
        if wrong:
            got = listed_ids(response)
            known = universe.known_expected(spec)
            raise filter_violation(
                h,
                spec,
                response,
                f"{len(wrong)} returned task(s) do not match, e.g. {wrong[:3]}"
                + scenario_note(h, universe),
                universe=universe,
                expected=known if known is not None else got - {str(t) for t in wrong},
                actual=got,
            )

    # First the informative filters on the rich universe; then many filters per pushed universe
    # (a push costs a PUT and a login, a filter one GET), on universes with tasks to return.
    first_case(h, first_example(h), prop)
    result = h.explore(with_filters(h, 3 * FILTERS_PER_UNIVERSE, min_tasks=1), prop)
    verdict = finish(
        h, req, result, f"every task of {tally.judged} filtered responses matched its filter", tally
    )
    # Every filtered list the run received so far, whichever check asked (the audit's): a task
    # listed against its own identity is a failure even where this check's draws did not meet it.
    unsound = h.audit.unsound
    if unsound.count:  # (a failure of its own draws was raised above)
        raise Violation(
            f"{unsound.count} of {unsound.judged} filtered 200 responses of the run listed tasks"
            f" whose own task id, operation, service or user does not match the filter; first: "
            + " | ".join(unsound.examples)
        )
    if verdict.outcome == "passed":
        verdict = CheckResult.passed(
            f"{verdict.detail}; {unsound.judged} filtered 200 responses of the whole run listed"
            " only tasks matching their filter by identity"
        )
    return verdict


@requirement(
    id="FILTER-COMPLETENESS",
    title="No visible task that matches the filter is missing",
    level="MUST",
    feature="filter semantics",
    sources=(AT_MOST_1000_VISIBLE,),
    alternatives=("filter-without-tasks-or-services", "repeated-values"),
    cost=Cost(70, 3.0, 1),
)
def check_filter_completeness(h: Harness, req: Requirement) -> CheckResult:
    tally = Tally()

    def prop(example: Example[list[FilterSpec]]) -> None:
        universe = example.universe
        h.install(universe)
        with h.target.list_many([*example.case, *task_filters(universe)]) as answers:
            for spec, response in answers:
                tally.asked += 1
                listed = list_or_fail(h, universe, spec, response, req)
                if listed is not None:
                    tally.judged += 1
                    judge_complete(h, req, universe, *listed, h.target)

    # Its own example sequence (FILTER-SOUNDNESS already sent the run seed's filters), more
    # filters per pushed universe (a push costs a PUT and a login; a filter one GET), and
    # universes with tasks to miss (the empty one is FILTER-EMPTY's).
    first_case(h, first_example(h), prop)
    result = h.explore(with_filters(h, 2 * FILTERS_PER_UNIVERSE, min_tasks=2), prop, salt=req.id)
    return finish(
        h,
        req,
        result,
        f"no matching visible task was missing in {tally.judged} filtered responses",
        tally,
    )
