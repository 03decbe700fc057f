"""Filter semantics between responses: OR within a field and AND across fields, order and
repeats, the same request twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snapconform.engine import oracle
from snapconform.engine.alternatives import REFUSED, Reason, refusal_reasons
from snapconform.engine.checks.common import (
    Tally,
    filter_violation,
    finish,
    first_case,
    scenario_note,
)
from snapconform.engine.checks.examples import Example, first_example, on_universes, with_filters
from snapconform.engine.checks.judging import confirmed_difference
from snapconform.engine.checks.refusals import hold
from snapconform.engine.checks.responses import is_list, is_refused, is_too_many, listed_ids
from snapconform.engine.oracle import FilterSpec
from snapconform.engine.quotes import (
    AT_MOST_1000_VISIBLE,
    DUPLICATE_NOT_A_SET,
    FIELDS_ARE_SETS,
    FIELDS_COMBINE_WITH_AND,
    INVALID_PARAMETERS_400,
)
from snapconform.engine.registry import Cost, Requirement, page, requirement
from snapconform.engine.target import Exchange
from snapconform.engine.universe import Universe
from snapconform.engine.verdicts import CheckResult
from snapconform.strategies.cases import (
    Relation,
    Reordering,
    relation_of,
    relations,
    reordered,
)

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


@requirement(
    id="FILTER-OR-AND",
    title="Values of one field are alternatives (OR); fields combine with AND",
    level="MUST",
    feature="filter semantics",
    sources=(
        page(11, "Identifiers of operations. Tasks created by these operations match the filter"),
        FIELDS_COMBINE_WITH_AND,
    ),
    cost=Cost(40, 1.5, 1),
)
def check_or_within_and_across(h: Harness, req: Requirement) -> CheckResult:
    tally = Tally()

    def ids_or_none(spec: FilterSpec) -> frozenset[str] | None:
        response = h.target.list_tasks(spec)
        return listed_ids(response) if is_list(response) else None

    def prop(example: Example[Relation]) -> None:
        h.install(example.universe)
        judge_relation(example.universe, example.case)

    def first_prop(example: Example[list[Relation]]) -> None:
        h.install(example.universe)
        for relation in example.case:
            judge_relation(example.universe, relation)

    def judge_relation(universe: Universe, relation: Relation) -> None:
        relevant = universe.stable  # None: every task (exact); observed: the stable ones
        parts_specs = relation.parts()
        if parts_specs is None:
            return
        combined_spec = relation.spec
        tally.asked += 1
        with h.target.list_many([combined_spec, *parts_specs]) as answers:
            combined, *parts = [listed_ids(r) if is_list(r) else None for _, r in answers]
        if combined is None or any(p is None for p in parts):
            return  # over the cap or refused: the relation is about lists
        tally.judged += 1
        known = [p for p in parts if p is not None]
        # Observed: judged on the stable tasks; a difference in the others (new, open or
        # invented tasks) is still put to the source, which tells churn from invented ids.
        problem = oracle.relation_violation(
            relation.rule, combined, known, relevant
        ) or oracle.relation_violation(relation.rule, combined, known)

        def again() -> tuple[frozenset[str], frozenset[str]] | None:
            combined_again = ids_or_none(combined_spec)
            parts_again = [ids_or_none(p) for p in parts_specs]
            if combined_again is None or any(p is None for p in parts_again):
                return None
            # the parts are the later answers (``confirmed_difference``: later first)
            related_again = oracle.related_ids(
                relation.rule, [p for p in parts_again if p is not None]
            )
            return related_again, combined_again

        # The three lists were taken at different moments: on a live server the relation
        # counts as broken only for stable tasks on which it fails again and which still exist.
        related = oracle.related_ids(relation.rule, known)
        if problem and confirmed_difference(
            h, req, universe, combined_spec, related, combined, again
        ):
            response = h.target.list_tasks(combined_spec)
            raise filter_violation(
                h,
                combined_spec,
                response,
                f"{relation.rule} broken against parts {[p.describe() for p in parts_specs]}:"
                f" {problem}" + scenario_note(h, universe),
                universe=universe,
                expected=related if relevant is None else related & relevant,
                actual=combined if relevant is None else combined & relevant,
                parts=[p.describe() for p in parts_specs],
            )

    first = first_example(h)
    first_relations = [r for r in map(relation_of, first.case) if r is not None]
    first_case(h, Example(first.universe, first_relations), first_prop)
    result = h.explore(
        on_universes(h, lambda universe: relations(universe.vocabulary)),
        prop,
        max_examples=h.max_examples * 3,
    )
    return finish(h, req, result, f"{tally.judged} union/intersection relations held", tally)


@requirement(
    id="FILTER-ORDER-REPEATS",
    title="Order of values does not matter; a repeated value is ignored or refused with 400",
    level="MUST",
    feature="filter semantics",
    sources=(FIELDS_ARE_SETS, DUPLICATE_NOT_A_SET, INVALID_PARAMETERS_400),
    alternatives=("repeated-values",),
    cost=Cost(16, 1.0, 1),
)
def check_order_and_repeats(h: Harness, req: Requirement) -> CheckResult:
    tally = Tally()

    def prop(example: Example[Reordering]) -> None:
        h.install(example.universe)
        compare(example.universe, example.case)

    def first_prop(example: Example[list[Reordering]]) -> None:
        h.install(example.universe)
        for reordering in example.case:
            compare(example.universe, reordering)

    def compare(universe: Universe, reordering: Reordering) -> None:
        canonical, variant = reordering.canonical, reordering.variant
        tally.asked += 1
        with h.target.list_many([canonical, variant]) as answers:
            (_, first), (_, second) = answers
        repeats = "repeated-values" in refusal_reasons(variant)
        reason = Reason("repeated-values")
        if is_refused(second) and repeats and (is_list(first) or is_too_many(first)):
            # the fields are sets: a repeated value may be refused (bindings), shown by the
            # same values without the repeat being accepted (a list, or the cap error when over
            # 1000 match); held to the target's choice for the whole run
            hold(h, universe, variant, second, reason, REFUSED)
            return
        if is_list(second) and repeats:
            hold(h, universe, variant, second, reason, "deduplicated")
        if not (is_list(first) and is_list(second)):
            passing = h.source.passing(first) or h.source.passing(second)
            if first.status == second.status or passing:
                return
            # A live server: a value may have vanished between the two; ask both again.
            seen = (first.status, second.status)
            again = h.source.observe_again(
                seen,
                lambda: (
                    h.target.list_tasks(canonical).status,
                    h.target.list_tasks(variant).status,
                ),
            )
            if again != seen:
                h.note_uncertain(
                    req.id,
                    f"{variant.describe()}: HTTP {second.status} vs {first.status}, then "
                    f"{again[1]} vs {again[0]}",
                )
                return
            raise filter_violation(
                h,
                variant,
                second,
                f"HTTP {second.status}, but HTTP {first.status} for the same values as "
                f"{canonical.describe()}",
                universe=universe,
                canonical=canonical.describe(),
            )
        tally.judged += 1
        # The whole answers: the source tells churn from invented ids (``confirmed_difference``).
        got, want = listed_ids(second), listed_ids(first)

        def again() -> tuple[frozenset[str], frozenset[str]] | None:
            first_again = h.target.list_tasks(canonical)
            second_again = h.target.list_tasks(variant)
            if not (is_list(first_again) and is_list(second_again)):
                return None
            return listed_ids(second_again), listed_ids(first_again)

        if confirmed_difference(h, req, universe, variant, got, want, again):
            raise filter_violation(
                h,
                variant,
                second,
                f"differs from the same filter with sorted unique values {canonical.describe()}: "
                f"{oracle.set_difference(got, want)}" + scenario_note(h, universe),
                universe=universe,
                expected=want,
                actual=got,
                canonical=canonical.describe(),
            )
        outside = universe.wrong_answer(canonical, listed_ids(second))
        if outside:
            raise filter_violation(
                h,
                variant,
                second,
                f"not the matching set: {outside}",
                universe=universe,
                expected=universe.expected(canonical),
                actual=listed_ids(second),
            )

    # First: every multi-value informative filter reversed, its first value repeated.
    first = first_example(h)
    pairs = [
        Reordering.reversed_with_repeat(spec)
        for spec in first.case
        if any(len(v) >= 2 for v in spec.constraints().values())
    ]
    first_case(h, Example(first.universe, pairs), first_prop)
    result = h.explore(
        on_universes(h, lambda universe: reordered(universe.vocabulary)),
        prop,
        max_examples=h.max_examples * 2,
    )
    return finish(
        h, req, result, f"{tally.judged} reordered/repeated filters gave the same set", tally
    )


@requirement(
    id="FILTER-DETERMINISTIC",
    title="The same request twice gives the same set of tasks",
    level="MUST",
    feature="filter semantics",
    sources=(AT_MOST_1000_VISIBLE,),
    cost=Cost(30, 1.0, 1),
)
def check_repeatable(h: Harness, req: Requirement) -> CheckResult:
    tally = Tally()

    def prop(example: Example[list[FilterSpec]]) -> None:
        universe = example.universe
        h.install(universe)
        twice = [spec for spec in example.case for _ in range(2)]
        with h.target.list_many(twice) as answers:
            for (spec, first), (_, second) in zip(answers, answers, strict=True):
                judge_repeat(universe, spec, first, second)

    def judge_repeat(
        universe: Universe, spec: FilterSpec, first: Exchange, second: Exchange
    ) -> None:
        tally.asked += 1
        tally.judged += 1
        if first.status != second.status:
            # Fixed data: a status flip is a fault; a live server's data may have moved.
            if not h.source.live:
                raise filter_violation(
                    h,
                    spec,
                    second,
                    f"HTTP {first.status} then HTTP {second.status}",
                    universe=universe,
                    first_status=first.status,
                )
            h.note_uncertain(req.id, f"{spec.describe()}: HTTP {first.status} then {second.status}")
            return
        if not is_list(first):
            return

        def again(spec: FilterSpec = spec) -> tuple[frozenset[str], frozenset[str]] | None:
            one, two = h.target.list_tasks(spec), h.target.list_tasks(spec)
            return (listed_ids(two), listed_ids(one)) if is_list(one) and is_list(two) else None

        # The whole answers: the source tells churn (open or purged tasks) from tasks that
        # appear in one answer and exist nowhere (invented data).
        if confirmed_difference(
            h, req, universe, spec, listed_ids(second), listed_ids(first), again
        ):
            raise filter_violation(
                h,
                spec,
                second,
                f"a second identical request gave another set: "
                f"{oracle.set_difference(listed_ids(second), listed_ids(first))}",
                universe=universe,
                expected=universe.judged_for(spec, listed_ids(first)),
                actual=universe.judged_for(spec, listed_ids(second)),
            )

    first = first_example(h)
    first_case(h, Example(first.universe, first.case[:10]), prop)
    result = h.explore(with_filters(h, 8), prop)
    return finish(h, req, result, f"{tally.judged} repeated requests gave the same set", tally)
