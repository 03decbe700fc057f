"""FilterSpecs: every subset of fields, values from the universe, unknown and adversarial values.

Values are drawn mostly from what the universe holds (so filters select something), sometimes
unknown (so completeness and "no 5xx for unknown identifiers" are exercised), sometimes
adversarial (percent-encoding, case). Order and repeats of values are drawn too: a conformant
server ignores both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from snapconform.engine.oracle import FILTER_FIELDS, FilterSpec, item_value
from strategies.contract_data import statuses
from strategies.values import case_variant, free_text, user_names


@dataclass(frozen=True)
class Vocabulary:
    """Per FilterSpec field, the values a universe holds (what filters should mostly use)."""

    values: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, items: Iterable[Mapping[str, Any]]) -> Vocabulary:
        found: dict[str, set[str]] = {name: set() for name in FILTER_FIELDS}
        for item in items:
            for name in FILTER_FIELDS:
                value = item_value(item, name)
                if isinstance(value, str):
                    found[name].add(value)
        found["status"] |= set(statuses())
        return cls({name: tuple(sorted(v)) for name, v in found.items()})


def field_values(vocabulary: Vocabulary, name: str) -> st.SearchStrategy[str]:
    """One value for field ``name``: known (most often), its case variant, unknown or adversarial.

    ``status`` only ever gets enum members here: invalid statuses are ``invalid_status_values``.
    """
    known = vocabulary.values.get(name, ())
    if name == "status":
        return st.sampled_from(statuses())
    unknown = user_names() if name == "users" else free_text()
    if not known:
        return unknown
    known_set = frozenset(known)  # a tuple here made this quadratic: 100 000 ids never finished
    variants = tuple(v for v in (case_variant(k) for k in known) if v and v not in known_set)
    options = [st.sampled_from(known), st.sampled_from(known), unknown]
    if variants:
        options.append(st.sampled_from(variants))
    return st.one_of(options)


def value_lists(
    vocabulary: Vocabulary, name: str, max_size: int = 3
) -> st.SearchStrategy[tuple[str, ...]]:
    """1..max_size values for one field, repeats allowed (they must not matter)."""
    return st.lists(field_values(vocabulary, name), min_size=1, max_size=max_size).map(tuple)


def filter_specs(
    vocabulary: Vocabulary, fields: Sequence[str] = FILTER_FIELDS, *, max_values: int = 3
) -> st.SearchStrategy[FilterSpec]:
    """A FilterSpec constraining any subset of ``fields`` (the empty filter included)."""
    return st.fixed_dictionaries(
        {}, optional={name: value_lists(vocabulary, name, max_values) for name in fields}
    ).map(lambda document: FilterSpec(**document))


def nonempty_filter_specs(vocabulary: Vocabulary) -> st.SearchStrategy[FilterSpec]:
    return filter_specs(vocabulary).filter(lambda spec: bool(spec.constraints()))


def reorderings(spec: FilterSpec) -> st.SearchStrategy[FilterSpec]:
    """The same filter with values permuted and some repeated: the result must not change."""
    constraints = spec.constraints()
    if not constraints:
        return st.just(spec)
    parts = {
        name: st.permutations(values).flatmap(
            lambda perm: st.lists(st.sampled_from(perm), max_size=2).map(
                lambda extra, p=perm: tuple(p) + tuple(extra)
            )
        )
        for name, values in constraints.items()
    }
    return st.fixed_dictionaries(parts).map(lambda document: FilterSpec(**document))


def invalid_status_values() -> st.SearchStrategy[str]:
    """Status values outside the enum: wrong case of a member, or other text."""
    members = statuses()
    wrong_case = st.sampled_from(members).flatmap(
        lambda member: st.sampled_from(
            tuple(
                v
                for v in {member.lower(), member.capitalize(), member[:-1] + member[-1].lower()}
                if v != member
            )
        )
    )
    return st.one_of(wrong_case, free_text().filter(lambda text: text not in members))


def unknown_values(vocabulary: Vocabulary, name: str) -> st.SearchStrategy[str]:
    """A value of field ``name`` the universe does not hold."""
    known = set(vocabulary.values.get(name, ()))
    base = user_names() if name == "users" else free_text()
    return base.filter(lambda value: value not in known)
