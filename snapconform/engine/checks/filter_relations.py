"""Filter semantics between responses: OR within a field and AND across fields, order and
repeats, the same request twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from snapconform.engine import oracle
from snapconform.engine.alternatives import refusal_reasons
from snapconform.engine.checks.common import (
    filter_violation,
    finish,
    first_case,
    first_filters,
    first_universe,
    scenario_note,
    with_filters,
)
from snapconform.engine.checks.judging import confirmed_difference
from snapconform.engine.checks.responses import is_list, listed_ids
from snapconform.engine.oracle import FILTER_FIELDS, FilterSpec
from snapconform.engine.quotes import (
    AT_MOST_1000_VISIBLE,
    FIELDS_ARE_SETS,
    FIELDS_COMBINE_WITH_AND,
    INVALID_PARAMETERS_400,
)
from snapconform.engine.registry import Requirement, page, requirement
from snapconform.engine.universe import Universe
from snapconform.engine.verdicts import CheckResult
from snapconform.strategies.filters import (
    filter_specs,
    reorderings,
    value_lists,
)

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


def _or_and_cases(universe: Universe) -> st.SearchStrategy[tuple[Universe, FilterSpec, str, str]]:
    """OR: one field with at least two distinct values; AND: two fields with values each."""
    vocabulary = universe.vocabulary

    def distinct(name: str) -> st.SearchStrategy[tuple[str, ...]]:
        return value_lists(vocabulary, name, 4).filter(lambda v: len(set(v)) >= 2)

    union_case = st.sampled_from(FILTER_FIELDS).flatmap(
        lambda name: st.tuples(
            st.just(universe),
            distinct(name).map(lambda v: FilterSpec(**{name: v})),
            st.just(name),
            st.just("or"),
        )
    )
    and_case = st.permutations(FILTER_FIELDS).flatmap(
        lambda names: st.tuples(
            st.just(universe),
            st.tuples(
                value_lists(vocabulary, names[0], 2), value_lists(vocabulary, names[1], 2)
            ).map(lambda values: FilterSpec(**{names[0]: values[0], names[1]: values[1]})),
            st.just(names[0]),
            st.just("and"),
        )
    )
    return st.one_of(union_case, and_case)


@requirement(
    id="FILTER-OR-AND",
    title="Values of one field are alternatives (OR); fields combine with AND",
    level="MUST",
    feature="filter semantics",
    sources=(
        page(11, "Identifiers of operations. Tasks created by these operations match the filter"),
        FIELDS_COMBINE_WITH_AND,
    ),
)
def check_or_within_and_across(h: Harness, req: Requirement) -> CheckResult:
    relations = 0

    def ids_or_none(spec: FilterSpec) -> frozenset[str] | None:
        response = h.target.list_tasks(spec)
        return listed_ids(response) if is_list(response) else None

    def prop(case: tuple[Universe, FilterSpec, str, str]) -> None:
        h.install(case[0])
        judge_relation(*case)

    def first_prop(case: tuple[Universe, list[tuple[FilterSpec, str, str]]]) -> None:
        universe, relations_ = case
        h.install(universe)
        for spec, field_name, kind in relations_:
            judge_relation(universe, spec, field_name, kind)

    def judge_relation(universe: Universe, spec: FilterSpec, field_name: str, kind: str) -> None:
        nonlocal relations
        relevant = None if universe.exact else universe.stable
        if kind == "or":
            values = tuple(dict.fromkeys(getattr(spec, field_name)))
            cut = max(1, len(values) // 2)
            parts_specs = [
                spec.with_field(field_name, values[:cut]),
                spec.with_field(field_name, values[cut:]),
            ]
            combined_spec = spec
            judge = oracle.union_violation
        else:
            constraints = spec.constraints()
            if len(constraints) < 2:
                return
            names = list(constraints)
            left = FilterSpec(**{n: constraints[n] for n in names[: len(names) // 2]})
            right = FilterSpec(**{n: constraints[n] for n in names[len(names) // 2 :]})
            parts_specs, combined_spec, judge = [left, right], spec, oracle.intersection_violation
        combined = ids_or_none(combined_spec)
        parts = [ids_or_none(p) for p in parts_specs]
        if combined is None or any(p is None for p in parts):
            return  # over the cap or refused: the relation is about lists
        relations += 1
        known = [p for p in parts if p is not None]
        problem = judge(combined, known, relevant)

        def related_of(parts_: Sequence[frozenset[str]]) -> frozenset[str]:
            if kind == "or":
                return frozenset().union(*parts_)
            return frozenset(parts_[0]).intersection(*parts_[1:])

        def again() -> tuple[frozenset[str], frozenset[str]] | None:
            combined_again = ids_or_none(combined_spec)
            parts_again = [ids_or_none(p) for p in parts_specs]
            if combined_again is None or any(p is None for p in parts_again):
                return None
            return combined_again, related_of([p for p in parts_again if p is not None])

        # Observed: the three lists were taken at different moments; the relation counts as
        # broken only for stable tasks on which it fails again and which still exist.
        if (
            problem
            and not universe.exact
            and not confirmed_difference(
                h, req, universe, combined_spec, combined, related_of(known), again
            )
        ):
            return
        if problem:
            response = h.target.list_tasks(combined_spec)
            word = "OR within a field" if kind == "or" else "AND across fields"
            related = related_of(known)
            raise filter_violation(
                h,
                combined_spec,
                response,
                f"{word} broken against parts {[p.describe() for p in parts_specs]}: {problem}"
                + scenario_note(h, universe),
                universe=universe,
                expected=related if relevant is None else related & relevant,
                actual=combined if relevant is None else combined & relevant,
                parts=[p.describe() for p in parts_specs],
            )

    first = first_universe(h)
    first_relations = [
        (spec, next(iter(spec.constraints())), "or" if len(spec.constraints()) == 1 else "and")
        for spec in first_filters(first)
        if len(spec.constraints()) == 2 or len(set(next(iter(spec.constraints().values())))) >= 2
    ]
    result = first_case(h, (first, first_relations), first_prop) or h.explore(
        h.universes().flatmap(_or_and_cases), prop, max_examples=h.max_examples * 3
    )
    return finish(h, req, result, f"{relations} union/intersection relations held")


@requirement(
    id="FILTER-ORDER-REPEATS",
    title="Order of values does not matter; a repeated value is ignored or refused with 400",
    level="MUST",
    feature="filter semantics",
    sources=(FIELDS_ARE_SETS, INVALID_PARAMETERS_400),
    alternatives=("repeated-values",),
)
def check_order_and_repeats(h: Harness, req: Requirement) -> CheckResult:
    compared = 0

    def cases(universe: Universe) -> st.SearchStrategy[tuple[Universe, FilterSpec, FilterSpec]]:
        return filter_specs(universe.vocabulary, max_values=3).flatmap(
            lambda spec: st.tuples(st.just(universe), st.just(spec.normalised()), reorderings(spec))
        )

    def prop(case: tuple[Universe, FilterSpec, FilterSpec]) -> None:
        h.install(case[0])
        compare(*case)

    def first_prop(case: tuple[Universe, list[tuple[FilterSpec, FilterSpec]]]) -> None:
        universe, pairs = case
        h.install(universe)
        for canonical, variant in pairs:
            compare(universe, canonical, variant)

    def compare(universe: Universe, canonical: FilterSpec, variant: FilterSpec) -> None:
        nonlocal compared
        first = h.target.list_tasks(canonical)
        second = h.target.list_tasks(variant)
        repeats = "repeated-values" in refusal_reasons(variant)
        if is_list(first) and second.status == 400 and repeats:
            h.choices.record("repeated-values", "refused", variant.describe())
            return  # the fields are sets: a repeated value may be refused (bindings)
        if is_list(second) and repeats:
            h.choices.record("repeated-values", "deduplicated", variant.describe())
        if not (is_list(first) and is_list(second)):
            mismatch = first.status != second.status and (
                universe.exact or not (first.status >= 500 or second.status >= 500)
            )
            if mismatch and not universe.exact:
                # Observed: a value may have vanished between the two; ask both again.
                first_again = h.target.list_tasks(canonical)
                second_again = h.target.list_tasks(variant)
                if (first_again.status, second_again.status) != (first.status, second.status):
                    h.note_uncertain(
                        req.id,
                        f"{variant.describe()}: HTTP {second.status} vs {first.status}, then "
                        f"{second_again.status} vs {first_again.status}",
                    )
                    return
            if mismatch:
                raise filter_violation(
                    h,
                    variant,
                    second,
                    f"HTTP {second.status}, but HTTP {first.status} for the same values as "
                    f"{canonical.describe()}",
                    universe=universe,
                    canonical=canonical.describe(),
                )
            return
        compared += 1
        got, want = (
            universe.judged_for(canonical, listed_ids(second)),
            universe.judged_for(canonical, listed_ids(first)),
        )

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
        if universe.exact:
            expected = universe.expected(canonical)
            outside = universe.outside(canonical, listed_ids(second))
            if outside:
                raise filter_violation(
                    h,
                    variant,
                    second,
                    f"not the matching set: {outside}",
                    universe=universe,
                    expected=expected,
                    actual=listed_ids(second),
                )

    # First: every multi-value informative filter reversed, its first value repeated.
    rich = first_universe(h)
    pairs = [
        (
            spec.normalised(),
            FilterSpec(**{k: (*reversed(v), v[0]) for k, v in spec.constraints().items()}),
        )
        for spec in first_filters(rich)
        if any(len(v) >= 2 for v in spec.constraints().values())
    ]
    result = first_case(h, (rich, pairs), first_prop) or h.explore(
        h.universes().flatmap(cases), prop, max_examples=h.max_examples * 2
    )
    return finish(h, req, result, f"{compared} reordered/repeated filters gave the same set")


@requirement(
    id="FILTER-DETERMINISTIC",
    title="The same request twice gives the same set of tasks",
    level="MUST",
    feature="filter semantics",
    sources=(AT_MOST_1000_VISIBLE,),
)
def check_repeatable(h: Harness, req: Requirement) -> CheckResult:
    judged = 0

    def prop(case: tuple[Universe, list[FilterSpec]]) -> None:
        nonlocal judged
        universe, specs = case
        h.install(universe)
        for spec in specs:
            first = h.target.list_tasks(spec)
            second = h.target.list_tasks(spec)
            judged += 1
            if first.status != second.status:
                if universe.exact:
                    raise filter_violation(
                        h,
                        spec,
                        second,
                        f"HTTP {first.status} then HTTP {second.status}",
                        universe=universe,
                        first_status=first.status,
                    )
                h.note_uncertain(
                    req.id, f"{spec.describe()}: HTTP {first.status} then {second.status}"
                )
                continue
            if not is_list(first):
                continue

            def again(spec: FilterSpec = spec) -> tuple[frozenset[str], frozenset[str]] | None:
                one, two = h.target.list_tasks(spec), h.target.list_tasks(spec)
                return (listed_ids(two), listed_ids(one)) if is_list(one) and is_list(two) else None

            if confirmed_difference(
                h,
                req,
                universe,
                spec,
                universe.judged_for(spec, listed_ids(second)),
                universe.judged_for(spec, listed_ids(first)),
                again,
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

    first = first_universe(h)
    result = first_case(h, (first, first_filters(first)[:10]), prop) or h.explore(
        with_filters(h, 8), prop
    )
    return finish(h, req, result, f"{judged} repeated requests gave the same set")
