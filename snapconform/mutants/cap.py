"""Cap mutants: at most 1000 visible matching tasks, else 500 ResourceInaccessible."""

from __future__ import annotations

from dataclasses import dataclass

from snapconform.mutants.base import ALL_MODES, CONTROLLED, KNOWN_STATE, Mutant
from snapconform.server.behaviour import Behaviour, EndpointError
from snapconform.server.store import FilterSpec, QueryResult, TaskStore


class TruncatesAtCap(Behaviour):
    """Over the cap, the first 1000 tasks are returned with 200 (silent truncation)."""

    def select(
        self, store: TaskStore, spec: FilterSpec, visible: frozenset[str] | None
    ) -> QueryResult:
        result = super().select(store, spec, visible)
        return QueryResult(result.positions[: self.cap])


class RefusesAtCap(Behaviour):
    """Exactly 1000 matching tasks are already refused (``>=`` instead of ``>``)."""

    def exceeds_cap(self, result: QueryResult, store: TaskStore) -> bool:
        return result.count >= self.cap


class AdmitsOneOverCap(Behaviour):
    """1001 matching tasks are still returned (``> cap + 1``)."""

    def exceeds_cap(self, result: QueryResult, store: TaskStore) -> bool:
        return result.count > self.cap + 1


class CapAsGenericError(Behaviour):
    """Over the cap is a 500 with error_type ERROR instead of RESOURCE_INACCESSIBLE."""

    def cap_problem(self, result: QueryResult) -> EndpointError:
        problem = super().cap_problem(result)
        return EndpointError("ERROR", problem.message_id, problem.default_message, problem.args)


class CapAsInvalidArgument(Behaviour):
    """Over the cap is a 400 InvalidArgument ("narrow your filter")."""

    def cap_problem(self, result: QueryResult) -> EndpointError:
        problem = super().cap_problem(result)
        return EndpointError(
            "INVALID_ARGUMENT", problem.message_id, problem.default_message, problem.args
        )


class CapCountsStore(Behaviour):
    """The cap is applied to the size of the store, not to the matching tasks."""

    def exceeds_cap(self, result: QueryResult, store: TaskStore) -> bool:
        return len(store) > self.cap


class TruncatesForRestrictedView(Behaviour):
    """Over the cap, a principal with a restricted view gets its first 1000 tasks with 200.

    An unrestricted principal still gets the cap error: only over-cap cases asked as a
    restricted principal show it.
    """

    def select(
        self, store: TaskStore, spec: FilterSpec, visible: frozenset[str] | None
    ) -> QueryResult:
        result = super().select(store, spec, visible)
        if visible is None:
            return result
        return QueryResult(result.positions[: self.cap])


@dataclass(frozen=True)
class _FilteredResult(QueryResult):
    """A result that knows whether its filter constrained anything."""

    filtered: bool = False


class CapOnlyForEmptyFilter(Behaviour):
    """The cap is enforced only for the empty filter: a filtered request matching more than
    1000 tasks gets all of them with 200."""

    def select(
        self, store: TaskStore, spec: FilterSpec, visible: frozenset[str] | None
    ) -> QueryResult:
        result = super().select(store, spec, visible)
        return _FilteredResult(result.positions, filtered=bool(spec.constraints()))

    def exceeds_cap(self, result: QueryResult, store: TaskStore) -> bool:
        filtered = isinstance(result, _FilteredResult) and result.filtered
        return not filtered and super().exceeds_cap(result, store)


CAP_MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        name="cap-truncates",
        area="cap",
        description="over 1000 matching tasks: the first 1000 with 200 instead of the error",
        requirements=("CAP-OVER-LIMIT",),
        modes=ALL_MODES,
        behaviour_class=TruncatesAtCap,
    ),
    Mutant(
        name="cap-off-by-one-low",
        area="cap",
        description="exactly 1000 matching tasks are refused (>= instead of >)",
        requirements=("CAP-AT-LIMIT",),
        # Needs a filter matching exactly 1000 tasks: only a known state can promise one.
        modes=KNOWN_STATE,
        behaviour_class=RefusesAtCap,
    ),
    Mutant(
        name="cap-off-by-one-high",
        area="cap",
        description="1001 matching tasks are returned with 200",
        requirements=("CAP-OVER-LIMIT", "CAP-NEVER-MORE"),
        modes=KNOWN_STATE,
        behaviour_class=AdmitsOneOverCap,
    ),
    Mutant(
        name="cap-error-type-error",
        area="cap",
        description="over the cap: 500 with error_type ERROR instead of RESOURCE_INACCESSIBLE",
        requirements=("CAP-OVER-LIMIT",),
        modes=ALL_MODES,
        behaviour_class=CapAsGenericError,
    ),
    Mutant(
        name="cap-invalid-argument",
        area="cap",
        description="over the cap: 400 InvalidArgument instead of 500 ResourceInaccessible",
        requirements=("CAP-OVER-LIMIT",),
        modes=ALL_MODES,
        behaviour_class=CapAsInvalidArgument,
    ),
    Mutant(
        name="cap-counts-store",
        area="cap",
        description="the cap compares the store size (not the matching tasks) with 1000",
        requirements=("CAP-COUNTS-MATCHING",),
        modes=ALL_MODES,
        behaviour_class=CapCountsStore,
    ),
    Mutant(
        name="cap-truncates-for-restricted-view",
        area="cap",
        description="over 1000 matching visible tasks: a principal with a restricted view gets"
        " the first 1000 with 200 (the unrestricted one gets the error)",
        requirements=("CAP-OVER-LIMIT",),
        # Needs a restricted principal seeing over 1000 matching tasks: a pushed universe.
        modes=CONTROLLED,
        behaviour_class=TruncatesForRestrictedView,
    ),
    Mutant(
        name="cap-only-for-empty-filter",
        area="cap",
        description="the cap is enforced only for the empty filter: a filtered request matching"
        " over 1000 tasks gets them all with 200",
        requirements=("CAP-OVER-LIMIT", "CAP-NEVER-MORE"),
        modes=ALL_MODES,
        behaviour_class=CapOnlyForEmptyFilter,
    ),
)
