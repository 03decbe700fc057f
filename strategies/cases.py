"""The cases the filter and cap checks ask, as typed values, and the strategies that draw them.

A check's Hypothesis example is a universe (the tasks the oracle knows, pushed first in
controlled mode) and one of these cases asked on it. Each case says what it asks and what a
conformant answer is, in terms of filters and id sets; the check sends it and judges the answers
with the oracle. Strategies draw the cases from a universe's :class:`Vocabulary`, so that
filters select something, and shrink towards fewer values and smaller sizes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis import strategies as st

from snapconform.filterspec import CAP, FILTER_FIELDS, FilterSpec
from snapconform.strategies.contract_data import statuses
from snapconform.strategies.filters import (
    Vocabulary,
    filter_specs,
    invalid_status_values,
    memoised,
    reorderings,
    unknown_values,
    value_lists,
)
from snapconform.strategies.states import infos, pools

# --- relations between answers (FILTER-OR-AND) -------------------------------------------------


@dataclass(frozen=True)
class OrWithinField:
    """A filter with two or more distinct values of one field: its answer is the union of the
    answers to the filter with each half of those values (the rule: ``engine.oracle``)."""

    spec: FilterSpec
    field: str
    rule: ClassVar[str] = "OR within a field"

    def parts(self) -> tuple[FilterSpec, ...] | None:
        values = tuple(dict.fromkeys(getattr(self.spec, self.field)))
        cut = max(1, len(values) // 2)
        return (
            self.spec.with_field(self.field, values[:cut]),
            self.spec.with_field(self.field, values[cut:]),
        )


@dataclass(frozen=True)
class AndAcrossFields:
    """A filter constraining two or more fields: its answer is the intersection of the answers
    to the filter's first fields and to its other fields (None: fewer than two fields; the
    rule: ``engine.oracle``)."""

    spec: FilterSpec
    rule: ClassVar[str] = "AND across fields"

    def parts(self) -> tuple[FilterSpec, ...] | None:
        constraints = self.spec.constraints()
        if len(constraints) < 2:
            return None
        names = list(constraints)
        half = len(names) // 2
        return (
            FilterSpec(**{n: constraints[n] for n in names[:half]}),
            FilterSpec(**{n: constraints[n] for n in names[half:]}),
        )


Relation = OrWithinField | AndAcrossFields


def relation_of(spec: FilterSpec) -> Relation | None:
    """The relation a (deterministic, informative) filter shows, if any: two fields AND, or
    one field with at least two distinct values OR."""
    constraints = spec.constraints()
    if not constraints:
        return None
    first_field, first_values = next(iter(constraints.items()))
    if len(constraints) != 2 and len(set(first_values)) < 2:
        return None
    if len(constraints) == 1:
        return OrWithinField(spec, first_field)
    return AndAcrossFields(spec)


def relations(vocabulary: Vocabulary) -> st.SearchStrategy[Relation]:
    """OR: one field with at least two distinct values; AND: two fields with values each."""

    def distinct(name: str) -> st.SearchStrategy[tuple[str, ...]]:
        return value_lists(vocabulary, name, 4).filter(lambda v: len(set(v)) >= 2)

    def either(name: str) -> st.SearchStrategy[Relation]:
        return st.builds(
            OrWithinField, distinct(name).map(lambda v: FilterSpec(**{name: v})), st.just(name)
        )

    def both(first: str, second: str) -> st.SearchStrategy[Relation]:
        return st.builds(
            AndAcrossFields,
            st.tuples(value_lists(vocabulary, first, 2), value_lists(vocabulary, second, 2)).map(
                lambda values: FilterSpec(**{first: values[0], second: values[1]})
            ),
        )

    # Expansions remembered per drawn name (pair of names): see ``filters.memoised``.
    pairs = memoised(lambda two: both(*two))
    union = st.sampled_from(FILTER_FIELDS).flatmap(memoised(either))
    intersection = st.permutations(FILTER_FIELDS).flatmap(lambda names: pairs(tuple(names[:2])))
    return st.one_of(union, intersection)


# --- order and repeats (FILTER-ORDER-REPEATS) ----------------------------------------------------


@dataclass(frozen=True)
class Reordering:
    """The same values in another order, or with one repeated: the same answer as ``canonical``
    (the values sorted and unique)."""

    canonical: FilterSpec
    variant: FilterSpec

    @classmethod
    def reversed_with_repeat(cls, spec: FilterSpec) -> Reordering:
        """``spec``'s values reversed, the first one repeated at the end."""
        return cls(
            spec.normalised(),
            FilterSpec(**{k: (*reversed(v), v[0]) for k, v in spec.constraints().items()}),
        )


def reordered(vocabulary: Vocabulary) -> st.SearchStrategy[Reordering]:
    return filter_specs(vocabulary, max_values=3).flatmap(
        lambda spec: st.builds(Reordering, st.just(spec.normalised()), reorderings(spec))
    )


# --- values ------------------------------------------------------------------------------------


def unknown_identifier_filters(vocabulary: Vocabulary) -> st.SearchStrategy[FilterSpec]:
    """A filter naming a value no task holds in one identifier field, maybe with a held one."""
    return (
        st.sampled_from(("tasks", "operations", "services", "users"))
        .flatmap(
            # one expansion per field name (see ``filters.memoised``)
            memoised(
                lambda name: st.tuples(
                    st.just(name),
                    unknown_values(vocabulary, name),
                    st.lists(st.sampled_from(vocabulary.values[name]), max_size=1)
                    if vocabulary.values[name]
                    else st.just([]),
                )
            )
        )
        .map(lambda drawn: FilterSpec(**{drawn[0]: (drawn[1], *drawn[2])}))
    )


@dataclass(frozen=True)
class InvalidStatus:
    """A status value outside the enum (``invalid``), after zero to two valid ones."""

    invalid: str
    valid: tuple[str, ...] = ()

    @property
    def values(self) -> tuple[str, ...]:
        return (*self.valid, self.invalid)


def invalid_statuses() -> st.SearchStrategy[InvalidStatus]:
    return st.builds(
        InvalidStatus,
        invalid_status_values(),
        st.lists(st.sampled_from(statuses()), max_size=2).map(tuple),
    )


# --- the cap -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapSize:
    """A cap universe's sizes: ``total`` stored tasks, ``matching`` of them matching the filter,
    ``limited_visible`` of those visible to the limited principal (0: it does not ask)."""

    total: int
    matching: int
    limited_visible: int = 0


@dataclass(frozen=True)
class CapCase:
    """Tasks replicated from ``templates`` (their infos) to the sizes of ``size``."""

    templates: tuple[Mapping[str, Any], ...]
    size: CapSize


def cap_templates() -> st.SearchStrategy[tuple[dict[str, Any], ...]]:
    """One to four tasks of one small value pool: a cap universe repeats them."""
    return (
        pools()
        .flatmap(lambda pool: st.lists(infos(pool), min_size=1, max_size=4))
        .map(lambda infos_: tuple({"task": f"t{n}", "info": info} for n, info in enumerate(infos_)))
    )


def cap_cases(sizes: st.SearchStrategy[CapSize]) -> st.SearchStrategy[CapCase]:
    return st.builds(CapCase, cap_templates(), sizes)


def sizes_at_most_cap() -> st.SearchStrategy[CapSize]:
    """Every stored task matches, 0 to 1000 of them."""
    return st.integers(0, CAP).map(lambda n: CapSize(n, n))


def sizes_over_cap() -> st.SearchStrategy[CapSize]:
    """Every stored task matches, 1001 to 1400 of them."""
    return st.integers(CAP + 1, 1400).map(lambda n: CapSize(n, n))


def sizes_matching_under_cap() -> st.SearchStrategy[CapSize]:
    """1001 to 1400 stored tasks, of which at most 1000 match."""
    return st.integers(CAP + 1, 1400).flatmap(
        lambda total: st.builds(CapSize, st.just(total), st.integers(0, CAP))
    )
