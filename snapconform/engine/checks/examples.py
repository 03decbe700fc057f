"""What a check's examples are: a universe and the case asked on it, the drawn filters, and the
deterministic first example (informative filters on the source's first universe).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from hypothesis import strategies as st

from snapconform.engine.oracle import FILTER_FIELDS, FilterSpec
from snapconform.engine.universe import Universe
from snapconform.strategies.filters import (
    filter_spec_draws,
    informative_filters,
    plain_filters,
    realize_filter_spec,
)

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


#: Filters per universe in one Hypothesis example (controlled mode pushes one universe each).
FILTERS_PER_UNIVERSE = 20
#: Extra filters derived from single tasks per pushed universe (FILTER-COMPLETENESS).
TASK_FILTERS_PER_UNIVERSE = 8


CaseT = TypeVar("CaseT")
DrawnT = TypeVar("DrawnT")


@dataclass(frozen=True)
class Example(Generic[CaseT]):
    """One example of a check: a universe (pushed first when the source pushes) and the case
    the check asks on it (filters, a relation, a reordering: ``strategies.cases``)."""

    universe: Universe
    case: CaseT


def on_universes(
    h: Harness, cases: Callable[[Universe], st.SearchStrategy[CaseT]], **options: Any
) -> st.SearchStrategy[Example[CaseT]]:
    """Examples: a universe of the run's source (``options``), then a case drawn from it.

    The case strategy is built once per universe object: declared and observed sources give
    every example the same universe, and a strategy built afresh per example was validated
    afresh by Hypothesis each time (issue 27); the same strategy draws the same cases. A check
    whose cases come from one strategy for every universe takes ``on_universes_realized``.
    """
    made: dict[int, tuple[Universe, st.SearchStrategy[Example[CaseT]]]] = {}

    def examples(universe: Universe) -> st.SearchStrategy[Example[CaseT]]:
        known = made.get(id(universe))
        if known is None or known[0] is not universe:  # an id is reused only once freed
            known = made[id(universe)] = (
                universe,
                cases(universe).map(partial(Example, universe)),
            )
        return known[1]

    return h.universes(**options).flatmap(examples)


def on_universes_realized(
    h: Harness,
    drawn: st.SearchStrategy[DrawnT],
    realize: Callable[[Universe, DrawnT], CaseT],
    **options: Any,
) -> st.SearchStrategy[Example[CaseT]]:
    """Examples: a universe of the run's source (``options``), then ``drawn``, which
    ``realize`` turns into the case asked on that universe.

    The same choices as ``on_universes`` with ``lambda u: drawn.map(partial(realize, u))``,
    without a strategy per universe: in controlled mode every example pushes a new universe,
    and Hypothesis validated each one's new case strategy (about 1 ms of CPU per universe,
    issue 27).
    """

    def example(pair: tuple[Universe, DrawnT]) -> Example[CaseT]:
        universe, case = pair
        return Example(universe, realize(universe, case))

    return st.tuples(h.universes(**options), drawn).map(example)


@cache
def _filter_list_draws(n: int) -> st.SearchStrategy[list[tuple[int, int]]]:
    """What ``n`` filters of any universe are drawn as: ``n // 2`` to ``n`` filter draws."""
    return st.lists(filter_spec_draws(len(FILTER_FIELDS)), min_size=max(1, n // 2), max_size=n)


def _realized_filters(universe: Universe, drawn: list[tuple[int, int]]) -> list[FilterSpec]:
    vocabulary = universe.vocabulary
    return [realize_filter_spec(vocabulary, one) for one in drawn]


def task_filters(universe: Universe, n: int = TASK_FILTERS_PER_UNIVERSE) -> list[FilterSpec]:
    """Filters built from single tasks of ``universe``: each matches at least that task.

    Cheap extra cases once a universe is pushed (controlled mode); a task's own combination
    of values rarely repeats across universes, so most are new queries. Observed and declared
    universes are fixed for the run: they get none (the drawn filters already cover them).
    """
    if not universe.pushed:
        return []
    out: list[FilterSpec] = []
    for item in universe.visible_items[:n]:
        info = item.get("info") or {}
        values = {
            "status": info.get("status"),
            "services": info.get("service"),
            "operations": info.get("operation"),
            "users": info.get("user"),
        }
        spec = FilterSpec(**{k: (v,) for k, v in values.items() if isinstance(v, str)})
        out.append(spec if len(out) % 2 == 0 else spec.with_field("status", None))
    return out


def with_filters(
    h: Harness, n: int = FILTERS_PER_UNIVERSE, **options: Any
) -> st.SearchStrategy[Example[list[FilterSpec]]]:
    """Examples of up to ``n`` filters drawn from the vocabulary of one universe: what
    ``st.lists(filter_specs(universe.vocabulary), ...)`` per universe would draw."""
    return on_universes_realized(h, _filter_list_draws(n), _realized_filters, **options)


def first_filters(universe: Universe) -> list[FilterSpec]:
    """The informative filters, then one per field that no documented alternative may refuse
    (``plain_filters``: a refusal there has no reason to excuse it)."""
    informative = informative_filters(universe.visible_items)
    plain = plain_filters(universe.visible_items)
    return list(dict.fromkeys([*informative, *plain]))


def first_example(h: Harness) -> Example[list[FilterSpec]]:
    """The deterministic first case of the filter checks: informative filters on the source's
    first universe (a rich one when the source pushes, else the run's)."""
    universe = h.source.first_universe()
    return Example(universe, first_filters(universe))
