"""Documented alternatives: behaviours the sources allow besides the faithful server's own.

The page (``snapservice-tasks-list.txt``) and the official bindings (``vmware-vsan-data-protection``
9.1.1.0, ``vmware-vapi-common-client``) leave several decisions open. A real vCenter may take
either side, so the engine accepts every side and records which one the target chose (summary
``variants``). Each variant here is one such side that the faithful ``Behaviour`` does not take:
a Behaviour subclass overriding one decision (one seam), like a mutant, but *conformant*.

``snapconform serve --variant NAME`` (repeatable) plays them, ``snapconform selftest`` runs the
engine against the faithful server under each of them in every mode and requires a conformant
verdict, and ``VARIANTS`` (name -> Variant) is the registry the CI matrix reads.

``behaviour_with(names)`` composes several variants into one Behaviour (cooperative overrides
of different seams; two variants deciding the same question cannot be combined).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from snapconform import sources
from snapconform.errors import UnknownVariantError, close_names
from snapconform.server.behaviour import Behaviour, EndpointError, Reply, invalid, quoted
from snapconform.server.runtime import Runtime
from snapconform.server.store import FilterSpec, QueryResult, TaskStore
from snapconform.sources import Source


@dataclass(frozen=True)
class Variant:
    """One documented alternative the reference server can play."""

    name: str
    description: str
    #: The question it answers (the engine records the target's answer under this key).
    question: str
    #: The answer this variant gives (one of the engine's recorded choices for ``question``).
    choice: str
    #: The sources that allow it, quoted verbatim (``snapconform.sources``).
    sources: tuple[Source, ...]
    behaviour_class: type[Behaviour] = field(repr=False)
    #: Mutants that played this behaviour before it was recognised as documented.
    formerly: tuple[str, ...] = ()

    def to_document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "question": self.question,
            "choice": self.choice,
            "sources": [{"where": source.place, "quote": source.quote} for source in self.sources],
            "formerly": list(self.formerly),
        }


# ---------------------------------------------------------------- the behaviours


class RequiresTasksOrServices(Behaviour):
    """A filter naming neither ``tasks`` nor ``services`` is refused (400 InvalidArgument)."""

    def parse_query(self, raw_query: bytes) -> FilterSpec:
        spec = super().parse_query(raw_query)
        if not spec.tasks and not spec.services:
            raise invalid(
                "tasks_or_services_required",
                "Currently at least one of tasks or services must be specified and not empty.",
            )
        return spec


class RefusesRepeatedValues(Behaviour):
    """A value repeated within one FilterSpec field is refused (the fields are sets)."""

    def build_filter(self, pairs: Sequence[tuple[str, str]]) -> FilterSpec:
        spec = super().build_filter(pairs)
        for name, values in spec.constraints().items():
            if len(set(values)) != len(values):
                raise invalid(
                    "duplicate_element",
                    f"List contains duplicate element (parameter {quoted(name)}).",
                    name,
                )
        return spec


class UnknownStatusMatchesNone(Behaviour):
    """A status value outside the enum is accepted and matches no task (an open enum)."""

    def check_status_values(self, values: Sequence[str]) -> None:
        return None


class UsersCaseInsensitive(Behaviour):
    """``users`` compare case-insensitively (SSO principals); identifiers stay exact."""

    #: only ``users`` match otherwise: the other fields' indexes still narrow a query
    field_matching_changed = frozenset({"users"})

    def field_matches(self, field_name: str, wanted: Sequence[str], actual: Any) -> bool:
        if field_name == "users":
            return isinstance(actual, str) and actual.casefold() in {v.casefold() for v in wanted}
        return super().field_matches(field_name, wanted, actual)


def _unknown_task_ids(store: TaskStore, spec: FilterSpec) -> list[str]:
    return [task_id for task_id in spec.tasks or () if store.position(task_id) is None]


class UnknownTaskIdInaccessible(Behaviour):
    """An unknown task id is a task whose state cannot be accessed: 500 ResourceInaccessible."""

    def list_tasks(self, runtime: Runtime, headers: Mapping[str, str], raw_query: bytes) -> Reply:
        reply = super().list_tasks(runtime, headers, raw_query)
        if reply.status != 200:
            return reply
        spec = self.parse_query(raw_query)
        unknown = _unknown_task_ids(runtime.snapshot.store, spec)
        if not unknown:
            return reply
        return self.error_reply(
            EndpointError(
                "RESOURCE_INACCESSIBLE",
                "com.vmware.snapservice.tasks.task_inaccessible",
                f"The state of task {quoted(unknown[0])} cannot be accessed.",
                (unknown[0][:60],),
            )
        )


class RefusesUnknownIdentifiers(Behaviour):
    """A task, operation, service or user no stored task holds is an invalid parameter (400)."""

    def list_tasks(self, runtime: Runtime, headers: Mapping[str, str], raw_query: bytes) -> Reply:
        reply = super().list_tasks(runtime, headers, raw_query)
        if reply.status != 200:
            return reply
        spec = self.parse_query(raw_query)
        store = runtime.snapshot.store
        for name, values in spec.constraints().items():
            if name == "status":
                continue
            for value in values:
                if not store.query(FilterSpec(**{name: (value,)}), None).count:
                    return self.error_reply(
                        invalid(
                            "unknown_identifier",
                            f"Unknown {name[:-1]} {quoted(value)}: no task holds it.",
                            value[:60],
                        )
                    )
        return reply


class InternalServerErrorType(Behaviour):
    """A generic system failure is reported as InternalServerError (error_type on HTTP 500)."""

    def fault_problem(self, error_type: str) -> EndpointError:
        problem = super().fault_problem(error_type)
        if error_type != "ERROR":
            return problem
        return EndpointError(
            "INTERNAL_SERVER_ERROR", problem.message_id, problem.default_message, problem.args
        )

    def status_for(self, error_type: str) -> int:
        return 500 if error_type == "INTERNAL_SERVER_ERROR" else super().status_for(error_type)


class InaccessibleAs400(Behaviour):
    """ResourceInaccessible travels as HTTP 400 (the vAPI REST runtime's default error map)."""

    def status_for(self, error_type: str) -> int:
        return 400 if error_type == "RESOURCE_INACCESSIBLE" else super().status_for(error_type)


class CapCountsAllMatching(Behaviour):
    """The cap counts every task matching the filter, the ones the caller cannot see included."""

    def select(
        self, store: TaskStore, spec: FilterSpec, visible: frozenset[str] | None
    ) -> QueryResult:
        everything = super().select(store, spec, None)
        if everything.count > self.cap:
            return everything
        return super().select(store, spec, visible)


# ---------------------------------------------------------------- the registry


VARIANT_LIST: tuple[Variant, ...] = (
    Variant(
        "requires-tasks-or-services",
        "a filter naming neither tasks nor services (the empty filter included) is refused"
        " with 400 InvalidArgument",
        "filter-without-tasks-or-services",
        "refused",
        (sources.TASKS_OR_SERVICES_REQUIRED, sources.INVALID_PARAMETERS_400),
        RequiresTasksOrServices,
    ),
    Variant(
        "refuses-repeated-values",
        "a value repeated within one field (status=RUNNING&status=RUNNING) is refused with"
        " 400 InvalidArgument",
        "repeated-values",
        "refused",
        (sources.FIELDS_ARE_SETS, sources.DUPLICATE_NOT_A_SET, sources.INVALID_PARAMETERS_400),
        RefusesRepeatedValues,
    ),
    Variant(
        "unknown-status-matches-none",
        "a status value outside the enum (wrong case included) is accepted and matches no task",
        "unknown-status",
        "matches-none",
        (sources.STATUS_IS_OPEN,),
        UnknownStatusMatchesNone,
        formerly=("filter-lenient-status",),
    ),
    Variant(
        "users-case-insensitive",
        "users match case-insensitively (SSO principal names; no source states it: conformant,"
        " reported by the SHOULD FILTER-USERS-EXACT); identifiers stay exact",
        "users-case",
        "case-insensitive",
        (
            sources.USERS_FIELD,
            sources.FIELDS_ARE_SETS,
            sources.ours(
                "users is a set of plain strings and no source gives it a comparison rule; a"
                " vCenter may compare SSO principal names case-insensitively (a SHOULD finding,"
                " FILTER-USERS-EXACT)"
            ),
        ),
        UsersCaseInsensitive,
        formerly=("filter-case-insensitive (users only)",),
    ),
    Variant(
        "inaccessible-as-400",
        "ResourceInaccessible (over 1000 matching tasks, an injected fault) is answered with"
        " HTTP 400, as the vAPI REST runtime maps it",
        "inaccessible-status",
        "400",
        (sources.OVER_1000_INACCESSIBLE, sources.INACCESSIBLE_AS_400),
        InaccessibleAs400,
    ),
    Variant(
        "unknown-task-id-inaccessible",
        "an unknown task id is answered with 500 ResourceInaccessible",
        "unknown-identifiers",
        "inaccessible",
        (sources.OVER_1000_INACCESSIBLE,),
        UnknownTaskIdInaccessible,
    ),
    Variant(
        "refuses-unknown-identifiers",
        "a task, operation, service or user that no task holds is refused with 400 InvalidArgument",
        "unknown-identifiers",
        "refused",
        (sources.INVALID_PARAMETERS_400,),
        RefusesUnknownIdentifiers,
    ),
    Variant(
        "internal-server-error",
        "a system failure is a 500 with error_type INTERNAL_SERVER_ERROR",
        "error-500-type",
        "INTERNAL_SERVER_ERROR",
        (sources.INTERNAL_SERVER_ERROR_ANY_METHOD,),
        InternalServerErrorType,
        formerly=("contract-500-internal-server-error",),
    ),
    Variant(
        "cap-counts-all-matching",
        "the cap counts every matching task, the ones the caller cannot see included",
        "cap-counts",
        "all-matching",
        (sources.AT_MOST_1000_VISIBLE, sources.OVER_1000_INACCESSIBLE),
        CapCountsAllMatching,
        formerly=("cap-counts-invisible",),
    ),
)

#: Every variant by name.
VARIANTS: Mapping[str, Variant] = MappingProxyType({v.name: v for v in VARIANT_LIST})


def get(name: str) -> Variant:
    """The variant called ``name``; UnknownVariantError (with close matches) otherwise."""
    try:
        return VARIANTS[name]
    except KeyError:
        close = close_names(name, VARIANTS, limit=3, cutoff=0.5)
        hint = (
            f"; did you mean {', '.join(close)}?" if close else f" (known: {', '.join(VARIANTS)})"
        )
        raise UnknownVariantError(f"unknown variant {name!r}{hint}") from None


def behaviour_class_with(
    names: Iterable[str], base: type[Behaviour] = Behaviour
) -> type[Behaviour]:
    """``base`` playing every named variant (UnknownVariantError; ValueError on a conflict)."""
    chosen = [get(name) for name in dict.fromkeys(names)]
    if not chosen:
        return base
    questions: dict[str, str] = {}
    for variant in chosen:
        other = questions.setdefault(variant.question, variant.name)
        if other != variant.name:
            raise ValueError(
                f"variants {other!r} and {variant.name!r} answer the same question"
                f" ({variant.question}); choose one"
            )
    classes = tuple(variant.behaviour_class for variant in chosen)
    name = "+".join(variant.name for variant in chosen)
    return type(f"Variant[{name}]", (*classes, base), {})


def behaviour_with(names: Iterable[str]) -> Behaviour:
    """A fresh Behaviour playing every named variant (the faithful server when none)."""
    names = list(names)
    behaviour = behaviour_class_with(names)()
    if names:
        behaviour.name = "faithful+" + "+".join(dict.fromkeys(names))
    return behaviour


def catalogue_markdown() -> str:
    """The variant table of docs/reference-server.md and docs/mutation.md."""
    lines = [
        "| variant | behaviour | recorded as | sources |",
        "|---|---|---|---|",
    ]
    for v in VARIANTS.values():
        cited = "<br>".join(source.render() for source in v.sources).replace("|", "\\|")
        lines.append(f"| `{v.name}` | {v.description} | `{v.question}`: {v.choice} | {cited} |")
    return "\n".join(lines) + "\n"


__all__ = [
    "VARIANTS",
    "UnknownVariantError",
    "Variant",
    "behaviour_class_with",
    "behaviour_with",
    "catalogue_markdown",
    "get",
]
