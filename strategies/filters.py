"""FilterSpecs: every subset of fields, values from the universe, unknown and adversarial values.

Values are drawn mostly from what the universe holds (so filters select something), sometimes
unknown (so completeness and "no 5xx for unknown identifiers" are exercised), sometimes
adversarial (percent-encoding, case), sometimes a near miss of a held value (a strict prefix, the
empty string, an extension: a server matching ``LIKE 'value%'`` answers them with tasks that do
not match). Order and repeats of values are drawn too: a conformant server ignores both.

``informative_filters`` is the deterministic first phase of the filter checks: Hypothesis
generates simplest-first (the empty filter on an empty universe), which tells little; these
filters are chosen from the universe so that each common deviation shows in a handful of requests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from random import Random
from typing import Any, TypeVar

from hypothesis import strategies as st

from snapconform.filterspec import CAP, FILTER_FIELDS, FilterSpec, item_value, string_values
from snapconform.strategies.contract_data import statuses
from snapconform.strategies.values import (
    ADVERSARIAL_USERS,
    OPERATION_NAMES,
    SEEDS,
    SERVICE_NAMES,
    case_variant,
    free_text,
    random_text,
    random_user_name,
    user_names,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Vocabulary:
    """Per FilterSpec field, the values a universe holds (what filters should mostly use)."""

    values: Mapping[str, tuple[str, ...]]
    #: Per field, how many tasks hold each value (empty when built without items).
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, items: Iterable[Mapping[str, Any]]) -> Vocabulary:
        found: dict[str, Counter[str]] = {name: Counter() for name in FILTER_FIELDS}
        for item in items:
            for name, value in string_values(item):
                found[name][value] += 1
        values = {name: set(counter) for name, counter in found.items()}
        values["status"] |= set(statuses())
        return cls(
            {name: tuple(sorted(v)) for name, v in values.items()},
            {name: dict(counter) for name, counter in found.items()},
        )

    @cached_property
    def case_variants(self) -> Mapping[str, tuple[str, ...]]:
        """Per field, held values in another letter case that no task holds as such (made once
        per vocabulary: an observed universe holds ~1500 task ids)."""
        out: dict[str, tuple[str, ...]] = {}
        for name, known in self.values.items():
            held = frozenset(known)  # a tuple here made this quadratic
            variants = (case_variant(value) for value in known)
            out[name] = tuple(v for v in variants if v and v not in held)
        return out

    def held(self, name: str) -> tuple[str, ...]:
        """Values of ``name`` some task holds, rarest first (ties in sorted order)."""
        counts = self.counts.get(name, {})
        return tuple(sorted(counts, key=lambda value: (counts[value], value)))


#: Values to try for a field no known task holds a value of (see ``informative_filters``).
GUESSES: Mapping[str, tuple[str, ...]] = {
    "status": statuses(),
    "services": SERVICE_NAMES,
    "operations": OPERATION_NAMES,
    "users": ADVERSARIAL_USERS,
}

#: FilterSpec fields whose values are opaque strings (``status`` is an enum: its near misses
#: are invalid statuses, FILTER-INVALID-STATUS's business).
STRING_FIELDS: tuple[str, ...] = ("tasks", "operations", "services", "users")


def near_misses(value: str) -> tuple[str, ...]:
    """Strings an exact match must not confuse with ``value``: strict prefixes, extensions.

    The strict prefix without the last character first (the sharpest test of prefix
    matching), then the empty string, the first character, the first half, and two extensions.
    """
    candidates = (
        value[:-1],
        "",
        value[:1],
        value[: len(value) // 2],
        value + value[-1:],
        value + "-x",
    )
    return tuple(dict.fromkeys(c for c in candidates if c != value))


def filter_value(vocabulary: Vocabulary, name: str, rng: Random) -> str:
    """One value for field ``name``: known (most often), its case variant, a near miss of a known
    value (strict prefix, empty, extension), unknown or adversarial; each kind as likely as the
    others, known values twice as likely.

    ``status`` only ever gets enum members here: invalid statuses are ``invalid_status_values``.
    """
    if name == "status":
        return rng.choice(statuses())
    known = vocabulary.values.get(name, ())
    if not known:
        return unknown_value(name, rng)
    variants = vocabulary.case_variants.get(name, ())
    kind = rng.randrange(5 if variants else 4)
    if kind < 2:
        return rng.choice(known)
    if kind == 2:
        return unknown_value(name, rng)
    if kind == 3:
        return rng.choice(near_misses(rng.choice(known)))
    return rng.choice(variants)


def unknown_value(name: str, rng: Random) -> str:
    """A value chosen without the universe: for ``users`` an adversarial principal name half
    the time, else arbitrary text (``random_text``, what ``free_text`` draws)."""
    return random_user_name(rng) if name == "users" else random_text(rng)


def memoised(
    expand: Callable[[Any], st.SearchStrategy[T]],
) -> Callable[[Any], st.SearchStrategy[T]]:
    """``expand`` remembering the strategy it made per (hashable) drawn value.

    A ``flatmap``'s expansion is a new strategy per draw, which Hypothesis validates afresh;
    drawn again with a value seen before, the same strategy (same structure, same draws) is
    handed back instead of an equal new one (issue 27).
    """
    made: dict[Any, st.SearchStrategy[T]] = {}

    def remembered(value: Any) -> st.SearchStrategy[T]:
        strategy = made.get(value)
        if strategy is None:
            strategy = made[value] = expand(value)
        return strategy

    return remembered


@cache
def _counts_and_seeds(max_size: int) -> st.SearchStrategy[tuple[int, int]]:
    return st.tuples(st.integers(1, max_size), SEEDS)


def value_lists(
    vocabulary: Vocabulary, name: str, max_size: int = 3
) -> st.SearchStrategy[tuple[str, ...]]:
    """1..max_size values for one field (``filter_value``), repeats allowed (they must not
    matter).

    Hypothesis draws how many and a seed, the seed the values: two draws per list. Drawing each
    value through Hypothesis (a ``one_of`` of ``sampled_from``, text and ``flatmap``) cost about
    a millisecond of CPU per filter; seeded, a default controlled verdict costs about 4% less
    (issue 27). Hypothesis still shrinks the count.
    """

    def values(drawn: tuple[int, int]) -> tuple[str, ...]:
        count, seed = drawn
        rng = Random(seed)
        return tuple(filter_value(vocabulary, name, rng) for _ in range(count))

    return _counts_and_seeds(max_size).map(values)


@cache
def filter_spec_draws(fields: int) -> st.SearchStrategy[tuple[int, int]]:
    """What Hypothesis draws for one FilterSpec of ``fields`` fields: which fields (one bit per
    field, so shrinking drops fields) and a seed for the values (``realize_filter_spec``).

    The same strategy for every vocabulary: a check drawing filters for many universes draws
    these and realizes them against each universe, and Hypothesis validates no new strategy
    per universe (issue 27).
    """
    return st.tuples(st.integers(0, 2**fields - 1), SEEDS)


def realize_filter_spec(
    vocabulary: Vocabulary,
    drawn: tuple[int, int],
    fields: Sequence[str] = FILTER_FIELDS,
    *,
    max_values: int = 3,
) -> FilterSpec:
    """The FilterSpec a ``filter_spec_draws(len(fields))`` draw stands for on ``vocabulary``:
    the chosen fields, each with 1..max_values values (``filter_value``) from the seed."""
    chosen, seed = drawn
    rng = Random(seed)
    return FilterSpec(
        **{
            name: tuple(
                filter_value(vocabulary, name, rng) for _ in range(rng.randint(1, max_values))
            )
            for bit, name in enumerate(fields)
            if chosen >> bit & 1
        }
    )


def filter_specs(
    vocabulary: Vocabulary, fields: Sequence[str] = FILTER_FIELDS, *, max_values: int = 3
) -> st.SearchStrategy[FilterSpec]:
    """A FilterSpec constraining any subset of ``fields`` (the empty filter included), with
    1..max_values values per constrained field (``filter_value``).

    Hypothesis draws which fields (one bit per field: shrinking drops fields) and a seed, the
    seed the values (see ``value_lists``); the values do not shrink (a smaller seed is another
    draw, not a simpler one), the failing filter is reported whole with its universe.
    """
    names = tuple(fields)

    def spec(drawn: tuple[int, int]) -> FilterSpec:
        return realize_filter_spec(vocabulary, drawn, names, max_values=max_values)

    return filter_spec_draws(len(names)).map(spec)


def reorderings(spec: FilterSpec) -> st.SearchStrategy[FilterSpec]:
    """The same filter with values permuted and some repeated: the result must not change."""
    constraints = spec.constraints()
    if not constraints:
        return st.just(spec)
    names = tuple(constraints)

    def reordered(orders: tuple[tuple[int, ...], ...]) -> FilterSpec:
        return FilterSpec(
            **{
                name: tuple(constraints[name][i] for i in order)
                for name, order in zip(names, orders, strict=True)
            }
        )

    return st.tuples(*(value_orders(len(constraints[name])) for name in names)).map(reordered)


@cache
def value_orders(count: int) -> st.SearchStrategy[tuple[int, ...]]:
    """Positions ``0..count-1`` permuted, then up to two of them again: a field's new order.

    Positions, not values, so that one strategy per field size serves every filter: strategies
    built from a filter's values inside a ``flatmap`` were built and validated per example.
    """
    return st.tuples(
        st.permutations(range(count)), st.lists(st.integers(0, count - 1), max_size=2)
    ).map(lambda drawn: (*drawn[0], *(drawn[0][i] for i in drawn[1])))


def invalid_status_values() -> st.SearchStrategy[str]:
    """Status values outside the enum: wrong case of a member, or other text."""
    members = statuses()
    wrong_case = st.sampled_from(members).flatmap(_wrong_cases)
    return st.one_of(wrong_case, free_text().filter(lambda text: text not in members))


@cache
def _wrong_cases(member: str) -> st.SearchStrategy[str]:
    """``member`` in another letter case (one strategy per member: see ``memoised``)."""
    # sorted: a set's order follows PYTHONHASHSEED, and the same seed must draw the same
    return st.sampled_from(
        tuple(
            sorted(
                {member.lower(), member.capitalize(), member[:-1] + member[-1].lower()} - {member}
            )
        )
    )


def unknown_values(vocabulary: Vocabulary, name: str) -> st.SearchStrategy[str]:
    """A value of field ``name`` the universe does not hold."""
    known = set(vocabulary.values.get(name, ()))
    base = user_names() if name == "users" else free_text()
    return base.filter(lambda value: value not in known)


# --- the deterministic first phase ---------------------------------------------------------------


def _rare_first(held: Sequence[str], counts: Mapping[str, int], cap: int) -> list[str]:
    """``held`` values matching at most ``cap`` tasks (so a list comes back), rarest first."""
    return [value for value in held if counts[value] <= cap]


def _per_tuple(
    compute: Callable[[Sequence[Mapping[str, Any]], int], list[FilterSpec]],
) -> Callable[[Sequence[Mapping[str, Any]], int], list[FilterSpec]]:
    """``compute`` remembering its last answers per tuple of items (a universe's, by identity).

    Each filter check's first example asks for the same universe's filters: on a declared
    universe of 2331 tasks that was ~37 ms per check (issue 27). Only a tuple is remembered
    (a list may change); the tuple is kept with its answer, so its id cannot be reused.
    """
    made: dict[tuple[int, int], tuple[Sequence[Mapping[str, Any]], list[FilterSpec]]] = {}

    def remembered(items: Sequence[Mapping[str, Any]], cap: int) -> list[FilterSpec]:
        if not isinstance(items, tuple):
            return compute(items, cap)
        known = made.get((id(items), cap))
        if known is None or known[0] is not items:
            if len(made) >= 8:
                made.clear()
            known = made[(id(items), cap)] = (items, compute(items, cap))
        return list(known[1])

    return remembered


def informative_filters(items: Sequence[Mapping[str, Any]], *, cap: int = CAP) -> list[FilterSpec]:
    """The filters to send first on ``items``, most telling first (``_informative``)."""
    return _informative(items, cap)


def plain_filters(items: Sequence[Mapping[str, Any]], *, cap: int = CAP) -> list[FilterSpec]:
    """Per field, a filter no documented alternative may refuse (``_plain``)."""
    return _plain(items, cap)


@_per_tuple
def _informative(items: Sequence[Mapping[str, Any]], cap: int) -> list[FilterSpec]:
    """The filters to send first on ``items`` (the visible tasks), most telling first.

    1. one held value per field (a server ignoring that field returns every other task);
    2. per field, that value AND a value of another field that some other task holds (ignoring
       either field, or OR across fields, returns a task that does not match);
    3. per string field, the strict prefix of a held value (prefix matching returns its tasks);
    4. per field, two held values (OR within a field; AND within it returns nothing);
    5. the other near misses of those values (empty string, extensions) and their case variant.

    Values are the rarest held ones, never one matching more than ``cap`` tasks where another
    exists, so that even on a big observed universe the answers are lists, not the cap's 500.
    A field no known task holds a value of (observed discovery may learn nothing when every
    part is over the cap) gets ``GUESSES``: the values real vCenters commonly hold.
    """
    vocabulary = Vocabulary.of(items)
    holders: dict[tuple[str, str], set[int]] = {}
    for index, item in enumerate(items):
        for name in FILTER_FIELDS:
            value = item_value(item, name)
            if isinstance(value, str):
                holders.setdefault((name, value), set()).add(index)
    rare = {
        name: _rare_first(vocabulary.held(name), vocabulary.counts.get(name, {}), cap)
        or list(vocabulary.held(name))
        or list(GUESSES.get(name, ()))
        for name in FILTER_FIELDS
    }
    singles = [FilterSpec(**{name: (rare[name][0],)}) for name in FILTER_FIELDS if rare[name]]
    ands: list[FilterSpec] = []
    for name in FILTER_FIELDS:
        spec = _and_case(name, rare, holders)
        if spec is not None:
            ands.append(spec)
    prefixes = [
        FilterSpec(**{name: (near_misses(rare[name][0])[0],)})
        for name in STRING_FIELDS
        if rare[name]
    ]
    ors = [
        FilterSpec(**{name: tuple(rare[name][:2])})
        for name in FILTER_FIELDS
        if len(rare[name]) >= 2
    ]
    others: list[FilterSpec] = []
    for name in STRING_FIELDS:
        if not rare[name]:
            continue
        value = rare[name][0]
        variant = case_variant(value)
        others += [FilterSpec(**{name: (miss,)}) for miss in near_misses(value)[1:]]
        if variant:
            others.append(FilterSpec(**{name: (variant,)}))
    return list(dict.fromkeys([*singles, *ands, *prefixes, *ors, *others]))


@_per_tuple
def _plain(items: Sequence[Mapping[str, Any]], cap: int) -> list[FilterSpec]:
    """Per field, a filter no documented alternative may refuse, that a task of ``items`` matches.

    Known values only, none repeated, and a service named (a server may require tasks or
    services): the task's own service AND its value of the field. A 400 to any of them has no
    documented reason, so every field (tasks, operations, services, status, users) is judged
    on its own merits, whatever the target chose for the documented alternatives.
    """
    vocabulary = Vocabulary.of(items)
    counts = vocabulary.counts.get("services", {})
    out: list[FilterSpec] = []
    for name in FILTER_FIELDS:
        for item in items:
            service, value = item_value(item, "services"), item_value(item, name)
            if isinstance(service, str) and isinstance(value, str) and counts[service] <= cap:
                out.append(FilterSpec(**{"services": (service,), name: (value,)}))
                break
    return list(dict.fromkeys(out))


def _and_case(
    name: str, rare: Mapping[str, Sequence[str]], holders: Mapping[tuple[str, str], set[int]]
) -> FilterSpec | None:
    """``name``'s rarest value AND another field's value held both with and without it.

    Without such a pair (nothing known about the tasks), the first values of two fields.
    """
    partners = [other for other in FILTER_FIELDS if other not in (name, "tasks") and rare[other]]
    if not rare[name] or not partners:
        return None
    for value in rare[name][:10]:
        own = holders.get((name, value), set())
        for other in partners:
            for other_value in rare[other][:10]:
                theirs = holders.get((other, other_value), set())
                if own & theirs and theirs - own:
                    return FilterSpec(**{name: (value,), other: (other_value,)})
    return FilterSpec(**{name: (rare[name][0],), partners[-1]: (rare[partners[-1]][0],)})
