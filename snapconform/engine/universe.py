"""How the oracle learns the data: controlled, declared or observed.

- controlled: the harness generates universes (state documents) and pushes them through the
  control protocol; the oracle is exact.
- declared: the server was loaded with a state document the harness read; the oracle is exact
  for the principal the credentials name (its ``visible_tasks`` apply).
- observed: a live server. The visible universe is discovered with the empty filter and, when
  that hits the cap, by partitioning the filter space until every part is under it. Tasks
  appear, change status and are purged while the run goes on (a shared vCenter), so exact
  judgements are made only on *stable* tasks (terminal in the snapshot), and a difference counts
  only when the comparison, asked again, still shows it and a targeted ``tasks=`` query finds the
  task still there, terminal and unchanged (the "after" snapshot); what stays undecided is
  reported as uncertain, never failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from snapconform.engine.oracle import (
    CAP,
    FILTER_FIELDS,
    FilterSpec,
    allowed_ids,
    expected_ids,
    set_difference,
)
from snapconform.filterspec import string_values
from snapconform.strategies.filters import Vocabulary
from snapconform.strategies.states import (
    Pools,
)

if TYPE_CHECKING:
    pass

T = TypeVar("T")

#: A counterexample's universe lists its tasks up to this many (shrunk universes are small).
SUMMARY_ITEMS = 12


@dataclass(frozen=True)
class Universe:
    """The tasks the oracle knows and which of them the principal under test may see."""

    items: tuple[Mapping[str, Any], ...]
    visible: frozenset[str] | None = None  # None: every task
    exact: bool = True
    #: Observed: every part of the filter space was listed under the cap.
    complete: bool = True
    #: Observed: ids safe to judge exactly (terminal in the snapshot); None: all of them.
    stable: frozenset[str] | None = None
    document: Mapping[str, Any] | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()
    #: Observed: the discovery filters (normalised) that listed each task. No answer is its
    #: own oracle: a filter's expected set holds only tasks that *other* filters listed.
    sources: Mapping[str, frozenset[FilterSpec]] | None = field(
        default=None, repr=False, compare=False
    )
    #: Observed: how the universe was discovered and how much of it is certain (summary).
    discovery: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def by_id(self) -> dict[str, Mapping[str, Any]]:
        return {item["task"]: item for item in self.items}

    @cached_property
    def visible_items(self) -> tuple[Mapping[str, Any], ...]:
        if self.visible is None:
            return self.items
        return tuple(item for item in self.items if item["task"] in self.visible)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary.of(self.visible_items)

    def expected(self, spec: FilterSpec) -> frozenset[str]:
        """Visible tasks matching ``spec`` (in observed mode: as of the snapshot).

        Observed: only tasks some filter other than ``spec`` listed during discovery; e.g. the
        empty filter must list the union of the status partition's answers, whatever it
        answered itself during discovery.
        """
        cache = self._expected_cache
        if spec not in cache:
            # A check asks the same filter's expected set several times (outside, allowed,
            # over_cap, evidence); each was a pass over every task (issue 27).
            index = self._index
            ids = (
                expected_ids(self.items, spec, self.visible)
                if index is None
                else index.select(spec, casefold_users=False)
            )
            cache[spec] = self._independent(spec, ids)
        return cache[spec]

    @cached_property
    def _expected_cache(self) -> dict[FilterSpec, frozenset[str]]:
        return {}

    @cached_property
    def _index(self) -> _ValueIndex | None:
        """The visible tasks by field value, when every task id is unique (None: scan).

        A declared or observed universe holds hundreds of tasks and is asked thousands of
        filters: a pass over every task per filter was ~7% of a declared run's CPU (issue 27).
        With a repeated id, ``expected_ids`` keeps an id that any of its items matches, which
        per-field postings cannot tell apart, so such a universe is scanned.
        """
        if len(self.by_id) != len(self.items):
            return None
        return _ValueIndex.of(self.visible_items)

    def _independent(self, spec: FilterSpec, ids: frozenset[str]) -> frozenset[str]:
        """Observed: the part of ``ids`` some discovery filter other than ``spec`` listed."""
        if self.sources is None:
            return ids
        own = spec.normalised()
        sources = self.sources
        return frozenset(i for i in ids if sources.get(i, frozenset()) - {own})

    def allowed(self, spec: FilterSpec) -> frozenset[str]:
        """Visible tasks a 200 to ``spec`` may hold: ``expected`` plus users in another case."""
        if not spec.users:
            return self.expected(spec)
        index = self._index
        ids = (
            allowed_ids(self.items, spec, self.visible)
            if index is None
            else index.select(spec, casefold_users=True)
        )
        return self._independent(spec, ids)

    def outside(self, spec: FilterSpec, got: frozenset[str]) -> str | None:
        """Why ``got`` is not a documented answer to ``spec`` (None: it is).

        Every expected task, and nothing beyond what some documented matching allows.
        """
        expected = self.expected(spec)
        allowed = self.allowed(spec)
        if expected <= got <= allowed:
            return None
        # Described against the closest documented answer: what it lacks, what it adds.
        return set_difference(got, (got & allowed) | expected)

    def unknown_task_ids(self, spec: FilterSpec) -> tuple[str, ...]:
        """Task ids of ``spec`` the universe does not hold."""
        return tuple(task_id for task_id in spec.tasks or () if task_id not in self.by_id)

    def judged(self, ids: Iterable[str]) -> frozenset[str]:
        """The part of ``ids`` that may be judged exactly."""
        ids = frozenset(ids)
        return ids if self.stable is None else ids & self.stable

    def judged_for(self, spec: FilterSpec, ids: Iterable[str]) -> frozenset[str]:
        """The part of ``ids`` whose membership in ``spec``'s result may be judged.

        Observed: only tasks terminal in the snapshot. An open task may still change status,
        and any task may be purged, so a difference about a stable task is a candidate that the
        source confirms (``confirm_missing`` / ``confirm_difference``) before it counts.
        """
        ids = frozenset(ids)
        return ids if self.stable is None else ids & self.stable

    @property
    def pushed(self) -> bool:
        """Whether the harness pushes this universe to the server (controlled: its document)."""
        return self.document is not None

    def known_expected(self, spec: FilterSpec) -> frozenset[str] | None:
        """Every visible task matching ``spec``, when the universe knows them all (exact); None
        for an observed snapshot, whose matching set is not the server's of a moment later."""
        return self.expected(spec) if self.exact else None

    def surplus(self, spec: FilterSpec, got: frozenset[str]) -> frozenset[str]:
        """Tasks of ``got`` that are not visible tasks matching ``spec``, as far as the universe
        can tell (an observed snapshot cannot: new tasks appear on a live server)."""
        return got - self.expected(spec) if self.exact else frozenset()

    def wrong_answer(self, spec: FilterSpec, got: frozenset[str]) -> str | None:
        """``outside`` where the universe can tell (exact); None for an observed snapshot."""
        return self.outside(spec, got) if self.exact else None

    def is_unknown(self, spec: FilterSpec) -> bool:
        """Whether ``spec`` names a value the universe does not hold (400 is then allowed)."""
        values = self.vocabulary.values
        return any(
            value not in values.get(name, ())
            for name, chosen in spec.constraints().items()
            for value in chosen
        )

    def __len__(self) -> int:
        return len(self.visible_items)

    def summary(self, mode: str) -> dict[str, Any]:
        """The universe as a counterexample shows it: sizes, and the tasks when they are few.

        A shrunk controlled universe is small enough to read whole; a large or observed one is
        only counted (its tasks are the target's, listed by the empty filter).
        """
        out: dict[str, Any] = {
            "mode": mode,
            "tasks": len(self.items),
            "visible": "all"
            if self.visible is None
            else sorted(self.visible)
            if len(self.visible) <= SUMMARY_ITEMS
            else len(self.visible),
        }
        if not self.exact:
            out["stable"] = len(self.stable or ())
        if self.exact and len(self.items) <= SUMMARY_ITEMS:
            out["items"] = [dict(item) for item in self.items]
        return out

    def __repr__(self) -> str:
        # Hypothesis prints failing examples: a universe is summarised, never dumped whole.
        visible = "all" if self.visible is None else len(self.visible)
        return f"Universe({len(self.items)} tasks, visible={visible}, exact={self.exact})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


class _ValueIndex:
    """Per FilterSpec field, each string value -> the ids of the tasks holding it.

    ``select`` answers ``expected_ids`` (and, folding users, ``allowed_ids``) of the indexed
    tasks: OR within a field is a union of postings, AND across fields an intersection. Only
    string values are indexed: a null or non-string value matches no filter value.
    """

    __slots__ = ("_all", "_folded_users", "_postings")

    def __init__(
        self,
        every: frozenset[str],
        postings: dict[str, dict[str, frozenset[str]]],
        folded_users: dict[str, frozenset[str]],
    ) -> None:
        self._all = every
        self._postings = postings
        self._folded_users = folded_users

    @classmethod
    def of(cls, items: Iterable[Mapping[str, Any]]) -> _ValueIndex:
        found: dict[str, dict[str, set[str]]] = {name: {} for name in FILTER_FIELDS}
        folded: dict[str, set[str]] = {}
        every: set[str] = set()
        for item in items:
            task_id = item["task"]
            every.add(task_id)
            for name, value in string_values(item):
                found[name].setdefault(value, set()).add(task_id)
                if name == "users":
                    folded.setdefault(value.casefold(), set()).add(task_id)
        return cls(
            frozenset(every),
            {name: {v: frozenset(ids) for v, ids in by.items()} for name, by in found.items()},
            {value: frozenset(ids) for value, ids in folded.items()},
        )

    def select(self, spec: FilterSpec, *, casefold_users: bool) -> frozenset[str]:
        """Ids of the indexed tasks matching ``spec`` (users case-insensitively if asked)."""
        result = self._all
        empty: frozenset[str] = frozenset()
        for name, values in spec.constraints().items():
            if casefold_users and name == "users":
                by_value, wanted = self._folded_users, {v.casefold() for v in values}
            else:
                by_value, wanted = self._postings[name], set(values)
            matched = frozenset().union(*(by_value.get(v, empty) for v in wanted))
            result = result & matched
            if not result:
                break
        return result


def over_cap_when_users_fold(universe: Universe, spec: FilterSpec) -> bool:
    """Whether the case-insensitive reading of ``users`` (which the sources allow) matches more
    than CAP visible tasks: the cap error is then a documented answer, whatever ``over_cap`` says
    of the case-sensitive reading."""
    return bool(spec.users) and len(universe.allowed(spec)) > CAP


def over_cap(universe: Universe, spec: FilterSpec) -> bool | None:
    """Whether more than CAP visible tasks match: True/False when certain, None when not.

    Observed mode counts tasks whose membership only a purge can end as certain, and trusts a count
    at or under the cap only when discovery was complete and nothing is in flight near the cap.
    """
    expected = universe.expected(spec)
    if universe.exact:
        return len(expected) > CAP
    # Without a status constraint a snapshot task leaves the result only when it is purged, and
    # a 200 to a filter believed over the cap is confirmed before it counts (the purge case).
    certain = expected if not spec.status else universe.judged_for(spec, expected)
    if len(certain) > CAP:
        return True
    in_flight = len(expected) - len(universe.judged_for(spec, expected))
    if universe.complete and len(expected) + in_flight + 50 <= CAP:
        return False
    return None


__all__ = ["SUMMARY_ITEMS", "Pools", "Universe", "over_cap", "over_cap_when_users_fold"]
