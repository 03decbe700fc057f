"""Filters are drawn from a seed: a few Hypothesis choices per filter, the same kinds of values.

Each value drawn through Hypothesis (a ``one_of`` of ``sampled_from``, text and ``flatmap``) cost
about a millisecond of CPU per filter, a tenth of a default verdict (issue 27). Hypothesis now
draws which fields a filter constrains and a seed; the seed draws the values
(``strategies.filters.filter_value``) with the same mix as before: held values (twice as likely),
their case variants, near misses, unknown text and, for users, adversarial principal names.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from random import Random
from typing import Any

from hypothesis import HealthCheck, find, given, settings, strategies as st
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.strategies._internal.strategies import SearchStrategy

from snapconform.engine.checks.examples import on_universes, with_filters
from snapconform.engine.driver import GENERATE, drive
from snapconform.engine.universe import Universe
from snapconform.filterspec import FILTER_FIELDS, FilterSpec
from snapconform.strategies.contract_data import statuses
from snapconform.strategies.filters import (
    Vocabulary,
    filter_spec_draws,
    filter_specs,
    filter_value,
    near_misses,
    realize_filter_spec,
    value_lists,
)
from snapconform.strategies.values import ADVERSARIAL_USERS, random_text

ITEMS = [
    {
        "task": f"Task-{n}",
        "info": {
            "status": "RUNNING",
            "service": "com.vmware.snapservice.Snapshot",
            "operation": "create",
            "user": "Ops@Corp",
        },
    }
    for n in range(3)
]
VOCABULARY = Vocabulary.of(ITEMS)


@contextmanager
def counted_choices() -> Iterator[list[int]]:
    """How many choices Hypothesis made (ConjectureData._draw: one per drawn primitive)."""
    count = [0]
    original = ConjectureData._draw

    def counting(self: ConjectureData, *args: object, **kwargs: object) -> object:
        count[0] += 1
        return original(self, *args, **kwargs)

    ConjectureData._draw = counting  # type: ignore[method-assign]
    try:
        yield count
    finally:
        ConjectureData._draw = original  # type: ignore[method-assign]


def test_a_filter_costs_a_few_choices_however_many_values_it_holds() -> None:
    # Two integers (Hypothesis spends a second choice on an integer now and then); drawn value
    # by value, a filter took 6 to 70 choices.
    drawn: list[FilterSpec] = []

    @settings(max_examples=50, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        with counted_choices() as count:
            spec = data.draw(filter_specs(VOCABULARY))
        drawn.append(spec)
        assert count[0] <= 4, (spec, count[0])

    draw()
    # many values per filter, all for two choices
    assert max(sum(len(v) for v in spec.constraints().values()) for spec in drawn) >= 6


def test_the_same_run_seed_draws_the_same_filters() -> None:
    def drawn(seed: int) -> list[FilterSpec]:
        out: list[FilterSpec] = []
        drive(
            filter_specs(VOCABULARY),
            lambda spec: out.append(spec),
            max_examples=30,
            seed=seed,
            phases=GENERATE,
        )
        return out

    assert drawn(3) == drawn(3)
    assert drawn(3) != drawn(4)


def test_shrinking_drops_the_fields_a_failure_does_not_need() -> None:
    found = find(
        filter_specs(VOCABULARY),
        lambda spec: "services" in spec.constraints(),
        settings=settings(database=None, max_examples=200),
    )
    # the fields shrink; the values are the seed's (a smaller seed is another draw, not a
    # simpler one)
    assert set(found.constraints()) == {"services"}


def test_value_lists_are_one_to_max_values() -> None:
    @settings(max_examples=100, database=None)
    @given(value_lists(VOCABULARY, "users", 4))
    def check(values: tuple[str, ...]) -> None:
        assert 1 <= len(values) <= 4

    check()


def kinds(name: str, held: frozenset[str], samples: list[str]) -> set[str]:
    found = set()
    misses = {miss for value in held for miss in near_misses(value)}
    for value in samples:
        if value in held:
            found.add("held")
        elif value.swapcase() in held:
            found.add("case variant")
        elif value in misses:
            found.add("near miss")
        elif value in ADVERSARIAL_USERS:
            found.add("adversarial user")
        else:
            found.add("unknown")
            if any(ord(c) > 0x7F for c in value):
                found.add("non-ASCII unknown")
            if any(c in "+&% " for c in value):
                found.add("to encode")
    return found


def test_every_kind_of_value_is_drawn_for_every_string_field() -> None:
    for name in ("tasks", "operations", "services", "users"):
        held = frozenset(VOCABULARY.values[name])
        samples = [filter_value(VOCABULARY, name, Random(seed)) for seed in range(3000)]
        expected = {
            "held",
            "case variant",
            "near miss",
            "unknown",
            "non-ASCII unknown",
            "to encode",
        }
        if name == "users":
            expected.add("adversarial user")
        assert kinds(name, held, samples) == expected, name
        # held values are the likeliest kind: filters select something
        share = sum(value in held for value in samples) / len(samples)
        assert 0.3 < share < 0.5, (name, share)


def test_a_field_no_task_holds_gets_unknown_values_and_status_only_members() -> None:
    empty = Vocabulary.of([])
    assert all(filter_value(empty, "services", Random(s)) for s in range(200))
    members = set(statuses())
    assert {filter_value(VOCABULARY, "status", Random(s)) for s in range(500)} == members


def test_random_text_keeps_free_texts_alphabet() -> None:
    rng = Random(7)
    texts = [random_text(rng) for _ in range(5000)]
    assert all(1 <= len(text) <= 12 for text in texts)
    characters = {c for text in texts for c in text}
    assert not {c for c in characters if unicodedata.category(c) in ("Cs", "Cc")}
    assert any(ord(c) > 0xFFFF for c in characters) and any(
        0x7F < ord(c) <= 0xFFFF for c in characters
    )
    assert all(text.encode("utf-8").decode("utf-8") == text for text in texts)


def test_every_field_subset_is_reachable() -> None:
    seen: set[frozenset[str]] = set()

    @settings(max_examples=400, database=None, suppress_health_check=list(HealthCheck))
    @given(filter_specs(VOCABULARY))
    def collect(spec: FilterSpec) -> None:
        seen.add(frozenset(spec.constraints()))

    collect()
    assert frozenset() in seen and frozenset(FILTER_FIELDS) in seen
    assert all(frozenset({name}) in seen for name in FILTER_FIELDS)


class _Universes:
    """A stand-in harness whose source gives a new universe per example (as a pushing one does)."""

    def universes(self, **options: object) -> st.SearchStrategy[Universe]:
        return st.integers(1, 3).map(
            lambda n: Universe(
                items=tuple({**item, "task": f"{item['task']}-{n}"} for item in ITEMS)
            )
        )


def _four_filters_at_most(universe: Universe) -> st.SearchStrategy[list[FilterSpec]]:
    """``with_filters(harness, 4)``'s cases as one strategy per universe."""
    return st.lists(filter_specs(universe.vocabulary), min_size=2, max_size=4)


def _drawn_examples(strategy: st.SearchStrategy[Any], seed: int) -> list[Any]:
    out: list[Any] = []
    drive(
        strategy, lambda example: out.append(example), max_examples=25, seed=seed, phases=GENERATE
    )
    return out


def test_filters_realized_from_their_draws_are_the_filters_filter_specs_draws() -> None:
    vocabulary = Vocabulary.of(ITEMS)
    realized = filter_spec_draws(len(FILTER_FIELDS)).map(partial(realize_filter_spec, vocabulary))
    assert _drawn_examples(realized, 5) == _drawn_examples(filter_specs(vocabulary), 5)
    other = Vocabulary.of([{**item, "info": {"status": "FAILED"}} for item in ITEMS])
    assert _drawn_examples(realized, 5) != _drawn_examples(filter_specs(other), 5)


def test_filters_per_universe_are_realized_without_a_new_strategy_per_universe() -> None:
    """``with_filters`` draws what a strategy per universe draws, and Hypothesis
    validates no new strategy per example (issue 27: ~1 ms of CPU per pushed universe), where
    the per-universe strategy is validated anew for every new universe."""
    harness: Any = _Universes()
    realized = _drawn_examples(with_filters(harness, 4), 7)
    per_universe = _drawn_examples(on_universes(harness, _four_filters_at_most), 7)
    # the same choices: the first example (before Hypothesis mutates spans of its own) is equal
    assert (realized[0].universe, realized[0].case) == (
        per_universe[0].universe,
        per_universe[0].case,
    )
    assert len({id(example.universe) for example in realized}) == len(realized) == 25

    made = [0]
    original = SearchStrategy.__init__

    def counting(self: SearchStrategy[Any]) -> None:
        made[0] += 1
        original(self)

    def strategies_made_while_drawing(strategy: st.SearchStrategy[Any]) -> int:
        made[0] = 0
        SearchStrategy.__init__ = counting  # type: ignore[method-assign]
        try:
            _drawn_examples(strategy, 8)
        finally:
            SearchStrategy.__init__ = original  # type: ignore[method-assign]
        return made[0]

    # a few of Hypothesis' own on the first draw, none per example
    assert strategies_made_while_drawing(with_filters(harness, 4)) < 10
    assert strategies_made_while_drawing(on_universes(harness, _four_filters_at_most)) >= 25
