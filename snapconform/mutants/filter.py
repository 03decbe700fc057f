"""Filter-semantics mutants: what a FilterSpec selects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from snapconform.mutants.base import ALL_MODES, Mutant
from snapconform.server.behaviour import STATUS_VALUES, Behaviour, EndpointError, Reply
from snapconform.server.runtime import Runtime
from snapconform.server.store import FILTER_FIELDS, FilterSpec, QueryResult, TaskStore, item_value
from snapconform.server.variants import UsersCaseInsensitive


def _ignoring(field_name: str) -> type[Behaviour]:
    """A Behaviour whose matching treats one FilterSpec field as always satisfied."""

    class IgnoresField(Behaviour):
        def field_matches(self, name: str, wanted: Sequence[str], actual: Any) -> bool:
            if name == field_name:
                return True
            return super().field_matches(name, wanted, actual)

    IgnoresField.__name__ = IgnoresField.__qualname__ = f"Ignores_{field_name}"
    IgnoresField.__doc__ = f"The ``{field_name}`` parameter is parsed but never applied."
    return IgnoresField


class OrAcrossFields(Behaviour):
    """Fields combine with OR instead of AND (a task matching any constrained field passes)."""

    def task_matches(self, item: Mapping[str, Any], spec: FilterSpec) -> bool:
        constraints = spec.constraints()
        if not constraints:
            return True
        return any(
            self.field_matches(name, wanted, item_value(item, name))
            for name, wanted in constraints.items()
        )


class AndWithinField(Behaviour):
    """Values of one field must all hold (AND) instead of being alternatives (OR)."""

    def field_matches(self, field_name: str, wanted: Sequence[str], actual: Any) -> bool:
        return actual is not None and all(actual == value for value in wanted)


class LastRepeatedOnly(Behaviour):
    """A repeated parameter keeps only its last value (a dict built from the pairs)."""

    def build_filter(self, pairs: Sequence[tuple[str, str]]) -> FilterSpec:
        spec = super().build_filter(pairs)
        return FilterSpec(**{name: values[-1:] for name, values in spec.constraints().items()})


class FirstRepeatedOnly(Behaviour):
    """A repeated parameter keeps only its first value (``request.query_params[name]``)."""

    def build_filter(self, pairs: Sequence[tuple[str, str]]) -> FilterSpec:
        spec = super().build_filter(pairs)
        return FilterSpec(**{name: values[:1] for name, values in spec.constraints().items()})


class PrefixMatch(Behaviour):
    """A value matches every task whose value starts with it (``LIKE 'value%'``)."""

    def field_matches(self, field_name: str, wanted: Sequence[str], actual: Any) -> bool:
        return isinstance(actual, str) and any(actual.startswith(value) for value in wanted)


class CaseInsensitiveMatch(Behaviour):
    """Identifiers compare case-insensitively (a case-folding database collation).

    Only the identifiers (tasks, operations, services): case-insensitive ``users`` matching is
    a documented alternative (variant ``users-case-insensitive``), identifiers are exact.
    """

    def field_matches(self, field_name: str, wanted: Sequence[str], actual: Any) -> bool:
        if field_name == "users":
            return super().field_matches(field_name, wanted, actual)
        return isinstance(actual, str) and actual.casefold() in {v.casefold() for v in wanted}


class NoPercentDecoding(Behaviour):
    """Names and values are taken from the raw query string without percent-decoding."""

    def decode_component(self, raw: bytes) -> str:
        return raw.decode("utf-8", errors="replace")


class LenientStatus(Behaviour):
    """An unknown or wrongly-cased status value is dropped from the filter.

    ``status=succeeded`` then constrains nothing: 200 with tasks of every status. (Accepting the
    value and matching no task is documented, variant ``unknown-status-matches-none``.)
    """

    def check_status_values(self, values: Sequence[str]) -> None:
        return None

    def build_filter(self, pairs: Sequence[tuple[str, str]]) -> FilterSpec:
        spec = super().build_filter(pairs)
        known = tuple(v for v in spec.status or () if v in STATUS_VALUES)
        return FilterSpec(**{**spec.constraints(), "status": known or None})


class EmptyFilterListsNothing(Behaviour):
    """The empty filter answers 200 with an empty list (every other filter is right).

    Observed mode cannot take the empty filter's own answer as the universe it is judged by:
    the union of the other filters' answers shows the tasks it left out.
    """

    def select(
        self, store: TaskStore, spec: FilterSpec, visible: frozenset[str] | None
    ) -> QueryResult:
        if not spec.constraints():
            return QueryResult(())
        return super().select(store, spec, visible)


class UnknownTaskIdCrashes(Behaviour):
    """Task ids are looked up directly; an unknown one fails the request with a 500 Error.

    Two seams: ``select`` raises the lookup error, ``list_tasks`` turns it into the 500 a generic
    error handler would send (Behaviour has no seam for an exception raised while selecting).
    """

    def select(
        self, store: TaskStore, spec: FilterSpec, visible: frozenset[str] | None
    ) -> QueryResult:
        for task_id in spec.tasks or ():
            if store.position(task_id) is None:
                raise LookupError("unknown task id")
        return super().select(store, spec, visible)

    def list_tasks(self, runtime: Runtime, headers: Mapping[str, str], raw_query: bytes) -> Reply:
        try:
            return super().list_tasks(runtime, headers, raw_query)
        except LookupError:
            return self.error_reply(
                EndpointError("ERROR", "com.vmware.snapservice.internal", "Internal error.")
            )


FILTER_MUTANTS: tuple[Mutant, ...] = (
    *(
        Mutant(
            name=f"filter-ignores-{field_name}",
            area="filter",
            description=f"the `{field_name}` parameter is accepted but never applied",
            requirements=("FILTER-SOUNDNESS",),
            modes=ALL_MODES,
            behaviour_class=_ignoring(field_name),
        )
        for field_name in FILTER_FIELDS
    ),
    Mutant(
        name="filter-or-across-fields",
        area="filter",
        description="fields combine with OR instead of AND",
        requirements=("FILTER-OR-AND", "FILTER-SOUNDNESS"),
        modes=ALL_MODES,
        behaviour_class=OrAcrossFields,
    ),
    Mutant(
        name="filter-and-within-field",
        area="filter",
        description="values of one field must all hold (AND) instead of being alternatives",
        requirements=("FILTER-OR-AND", "FILTER-COMPLETENESS", "FILTER-ORDER-REPEATS"),
        modes=ALL_MODES,
        behaviour_class=AndWithinField,
    ),
    Mutant(
        name="filter-last-repeated-only",
        area="filter",
        description="a repeated parameter keeps only its last value",
        requirements=("FILTER-ORDER-REPEATS", "FILTER-COMPLETENESS", "FILTER-OR-AND"),
        modes=ALL_MODES,
        behaviour_class=LastRepeatedOnly,
    ),
    Mutant(
        name="filter-first-repeated-only",
        area="filter",
        description="a repeated parameter keeps only its first value",
        requirements=("FILTER-ORDER-REPEATS", "FILTER-COMPLETENESS", "FILTER-OR-AND"),
        modes=ALL_MODES,
        behaviour_class=FirstRepeatedOnly,
    ),
    Mutant(
        name="filter-prefix-match",
        area="filter",
        description="a value matches every task whose value starts with it",
        requirements=("FILTER-EXACT-ENCODED", "FILTER-SOUNDNESS"),
        modes=ALL_MODES,
        behaviour_class=PrefixMatch,
    ),
    Mutant(
        name="filter-case-insensitive",
        area="filter",
        description="identifiers (tasks, operations, services) compare case-insensitively",
        requirements=("FILTER-EXACT-ENCODED", "FILTER-SOUNDNESS"),
        modes=ALL_MODES,
        behaviour_class=CaseInsensitiveMatch,
    ),
    Mutant(
        name="filter-no-percent-decoding",
        area="filter",
        description="query values are not percent-decoded (users with '@' or ' ' never match)",
        requirements=("FILTER-EXACT-ENCODED", "FILTER-COMPLETENESS"),
        modes=ALL_MODES,
        behaviour_class=NoPercentDecoding,
    ),
    Mutant(
        name="filter-lenient-status",
        area="filter",
        description="an invalid or wrongly-cased status value is dropped: 200 with tasks of"
        " every status (neither 400 nor an empty match)",
        requirements=("FILTER-INVALID-STATUS",),
        modes=ALL_MODES,
        behaviour_class=LenientStatus,
    ),
    Mutant(
        name="filter-empty-lists-nothing",
        area="filter",
        description="the empty filter answers 200 with an empty list (never every task)",
        requirements=("FILTER-EMPTY",),
        modes=ALL_MODES,
        behaviour_class=EmptyFilterListsNothing,
    ),
    Mutant(
        name="filter-users-case-insensitive",
        area="filter",
        description="users match in any case (as the variant users-case-insensitive plays): no"
        " source states it, a SHOULD finding; the verdict stays conformant",
        requirements=("FILTER-USERS-EXACT",),
        modes=ALL_MODES,
        behaviour_class=UsersCaseInsensitive,
    ),
    Mutant(
        name="filter-unknown-task-id-500",
        area="filter",
        description="an unknown task id crashes the lookup: 500 Error (not 200 without it, 400"
        " or 500 ResourceInaccessible)",
        requirements=("FILTER-UNKNOWN-IDS",),
        modes=ALL_MODES,
        behaviour_class=UnknownTaskIdCrashes,
    ),
)
