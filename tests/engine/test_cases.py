"""Typed cases (strategies.cases) and what a universe source tells a check (engine.universe).

Each test fails for a concrete mistake: a relation split into the wrong parts or combined with
the wrong set operation, a reordering that is not the same set, a cap question asking the wrong
filters, a fixed source that sends a request to "confirm" what cannot change, a live source that
fails without a second look.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import find, given, settings, strategies as st

from snapconform.engine import oracle
from snapconform.engine.checks.cap_fixed import CapQuestion
from snapconform.engine.oracle import CAP, FilterSpec
from snapconform.engine.universe import Universe
from snapconform.engine.universe_sources import FixedSource, ObservedSource
from snapconform.strategies.cases import (
    AndAcrossFields,
    CapSize,
    OrWithinField,
    Reordering,
    cap_cases,
    relation_of,
    relations,
    reordered,
    sizes_matching_under_cap,
)
from snapconform.strategies.filters import Vocabulary, reorderings


def _task(n: int, status: str = "SUCCEEDED", service: str = "svc") -> dict[str, Any]:
    return {
        "task": f"t{n}",
        "info": {"status": status, "service": service, "operation": "op", "user": "u"},
    }


ITEMS = (_task(1), _task(2, "FAILED"), _task(3, service="other"), _task(4, "RUNNING", "other"))
VOCABULARY = Vocabulary.of(ITEMS)


def test_or_within_a_field_splits_the_values_and_unites_the_answers() -> None:
    relation = OrWithinField(FilterSpec(status=("SUCCEEDED", "FAILED", "SUCCEEDED")), "status")
    parts = relation.parts()
    assert parts == (FilterSpec(status=("SUCCEEDED",)), FilterSpec(status=("FAILED",)))
    assert oracle.related_ids(relation.rule, [frozenset({"a"}), frozenset({"b"})]) == {"a", "b"}


def test_and_across_fields_splits_the_fields_and_intersects_the_answers() -> None:
    relation = AndAcrossFields(FilterSpec(status=("SUCCEEDED",), services=("svc",)))
    parts = relation.parts()
    assert parts is not None
    assert set(parts) == {FilterSpec(status=("SUCCEEDED",)), FilterSpec(services=("svc",))}
    assert oracle.related_ids(relation.rule, [frozenset({"a", "b"}), frozenset({"b", "c"})]) == {
        "b"
    }
    assert AndAcrossFields(FilterSpec(status=("SUCCEEDED",))).parts() is None


def test_every_generated_relation_is_judged_by_the_oracles_rule() -> None:
    # the strategies generate relations; the rule they must satisfy exists once, in the oracle
    assert {OrWithinField.rule, AndAcrossFields.rule} == set(oracle.RELATIONS)
    with pytest.raises(ValueError, match="unknown relation"):
        oracle.related_ids("XOR", [frozenset({"a"})])


def test_a_deterministic_filter_shows_the_relation_it_can() -> None:
    assert relation_of(FilterSpec()) is None
    assert relation_of(FilterSpec(status=("SUCCEEDED",))) is None
    assert isinstance(relation_of(FilterSpec(status=("SUCCEEDED", "FAILED"))), OrWithinField)
    both = FilterSpec(status=("SUCCEEDED",), services=("svc",))
    assert relation_of(both) == AndAcrossFields(both)


@settings(max_examples=30, deadline=None)
@given(relations(VOCABULARY))
def test_drawn_relations_have_parts(relation: OrWithinField | AndAcrossFields) -> None:
    parts = relation.parts()
    assert parts is not None and len(parts) == 2


@settings(max_examples=30, deadline=None)
@given(reordered(VOCABULARY))
def test_a_reordering_names_the_same_values(reordering: Reordering) -> None:
    canonical, variant = reordering.canonical, reordering.variant
    assert canonical == canonical.normalised()
    assert {k: set(v) for k, v in variant.constraints().items()} == {
        k: set(v) for k, v in canonical.constraints().items()
    }
    reversed_ = Reordering.reversed_with_repeat(FilterSpec(status=("FAILED", "SUCCEEDED")))
    assert reversed_.variant == FilterSpec(status=("SUCCEEDED", "FAILED", "FAILED"))


@pytest.mark.parametrize(
    "shows",
    [
        pytest.param(lambda v: len(v) > len(set(v)), id="a value repeated"),
        pytest.param(lambda v: len(set(v)) == 3 and list(v[:3]) != sorted(v[:3]), id="a new order"),
    ],
)
def test_reorderings_reach_repeats_and_new_orders(shows: Any) -> None:
    spec = FilterSpec(users=("a", "b", "c"))
    found = find(
        reorderings(spec),
        lambda variant: shows(variant.users),
        settings=settings(database=None, max_examples=500),
    )
    assert sorted(set(found.users)) == ["a", "b", "c"]


@settings(max_examples=20, deadline=None)
@given(cap_cases(sizes_matching_under_cap()))
def test_cap_cases_match_at_most_the_cap_of_more_than_the_cap(case: Any) -> None:
    assert case.size.total > CAP >= case.size.matching and case.size.limited_visible == 0
    assert 1 <= len(case.templates) <= 4
    assert CapSize(5, 5) == CapSize(5, 5, 0)


def test_each_cap_question_asks_its_own_filters() -> None:
    at = Universe(items=tuple(_task(n) for n in range(CAP)))
    assert CapQuestion.AT_LIMIT.asks(at, FilterSpec())
    assert not CapQuestion.OVER_LIMIT.asks(at, FilterSpec())
    over = Universe(items=(*at.items, _task(CAP, "FAILED")))
    assert CapQuestion.OVER_LIMIT.asks(over, FilterSpec())
    assert CapQuestion.COUNTS_MATCHING.asks(over, FilterSpec(status=("FAILED",)))
    assert not CapQuestion.COUNTS_MATCHING.asks(at, FilterSpec(status=("FAILED",)))
    # an observed snapshot never knows a filter matching exactly 1000
    snapshot = Universe(items=at.items, exact=False, stable=frozenset())
    assert not CapQuestion.AT_LIMIT.asks(snapshot, FilterSpec())


class _Response:
    def __init__(self, status: int) -> None:
        self.status = status


def test_fixed_data_needs_no_second_look_and_a_live_server_gets_one() -> None:
    asked: list[str] = []

    def again() -> str:
        asked.append("again")
        return "now"

    fixed = FixedSource(Universe(items=ITEMS))
    assert not fixed.live and not fixed.pushes
    assert fixed.observe_again("seen", again) == "seen" and asked == []
    assert not fixed.passing(_Response(503))  # type: ignore[arg-type]
    assert fixed.first_universe() is fixed.universe
    observed = ObservedSource(Universe(items=ITEMS, exact=False))
    assert observed.live
    assert observed.observe_again("seen", again) == "now" and asked == ["again"]
    assert observed.passing(_Response(503)) and not observed.passing(_Response(400))  # type: ignore[arg-type]


def test_what_a_universe_can_tell_depends_on_its_data_not_on_a_mode() -> None:
    exact = Universe(items=ITEMS)
    spec = FilterSpec(status=("SUCCEEDED",))
    assert exact.known_expected(spec) == {"t1", "t3"}
    assert exact.surplus(spec, frozenset({"t1", "t2"})) == {"t2"}
    assert exact.wrong_answer(spec, frozenset({"t1"})) is not None
    snapshot = Universe(items=ITEMS, exact=False, stable=frozenset({"t1"}))
    assert snapshot.known_expected(spec) is None
    assert snapshot.surplus(spec, frozenset({"t1", "t2"})) == frozenset()
    assert snapshot.wrong_answer(spec, frozenset({"t1"})) is None
    assert not exact.pushed and Universe(items=(), document={"tasks": []}).pushed


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_unknown_identifier_filters_name_a_value_no_task_holds(data: st.DataObject) -> None:
    from snapconform.strategies.cases import unknown_identifier_filters

    spec = data.draw(unknown_identifier_filters(VOCABULARY))
    assert Universe(items=ITEMS).is_unknown(spec)
