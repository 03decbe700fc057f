"""The stream of requests a diff sends to both servers: filters, invalid input, credentials.

Every request is built once and sent as it is to both sides, so the two answers are to the same
bytes. The stream is deterministic for a seed and a vocabulary:

1. ``bootstrap``: the empty filter and one filter per status (whose lists teach the vocabulary
   even when the empty filter is over the 1000-task cap); when it is, ``cap_probes``: filters
   equivalent to it, which must be refused alike;
2. credentials: none, a wrong password, an unknown session id, a session after its logout, and
   the unprivileged principal when one is given;
3. invalid input: status values outside the enum, a malformed percent-escape;
4. ``informative_filters`` (strategies/filters.py): the filters that show common deviations in a
   handful of requests;
5. filters drawn by Hypothesis from ``filter_specs`` over the vocabulary, until the budget.

When both targets refuse the empty filter with 400 (the bindings allow a server to require
``tasks`` or ``services``), the vocabulary comes from one ``services=`` filter per candidate
service, and every later filter naming neither gets a service.

No control call is ever part of it: a diff only reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import strategies as st

from snapconform.engine.driver import GENERATE, drive
from snapconform.filterspec import FilterSpec, encode_query, item_value
from snapconform.strategies.contract_data import statuses
from snapconform.strategies.filters import (
    Vocabulary,
    filter_specs,
    informative_filters,
    invalid_status_values,
)
from snapconform.strategies.values import SERVICE_NAMES

Kind = Literal["filter", "invalid input", "credentials"]
#: How the request authenticates.
#: principal / unprivileged: that principal's login; none: no credentials at all;
#: wrong-password: Basic with the principal's name and a wrong password; bogus-session: an
#: unknown session id; ended-session: a session of the principal after its DELETE.
Auth = Literal[
    "principal", "unprivileged", "none", "wrong-password", "bogus-session", "ended-session"
]

WRONG_PASSWORD = "snapconform-wrong-password"
BOGUS_SESSION = "snapconform-bogus-session-0000000000000000"


@dataclass(frozen=True)
class DiffRequest:
    """One request of the stream: a query string (already encoded) and how it authenticates."""

    index: int
    kind: Kind
    description: str
    query: str
    auth: Auth = "principal"

    def to_document(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "description": self.description,
            "query": self.query,
            "auth": self.auth,
        }


def filter_request(index: int, spec: FilterSpec, auth: Auth = "principal") -> DiffRequest:
    return DiffRequest(index, "filter", spec.describe(), encode_query(spec.query_pairs()), auth)


def bootstrap() -> list[FilterSpec]:
    """The empty filter, then one filter per status (lists even when the whole is over the cap)."""
    return [FilterSpec(), *(FilterSpec(status=(status,)) for status in statuses())]


def cap_probes(items: Sequence[Mapping[str, Any]]) -> list[FilterSpec]:
    """Filters equivalent to the empty filter, for when it is over the cap.

    Every status (in order, reversed), every service seen, and both: each must get the same
    answer as the empty filter, so a server that lets some requests over the cap through, or
    counts differently per field, shows it here.
    """
    every_status = statuses()
    services = tuple(sorted({str(item_value(item, "services")) for item in items} - {"None"}))
    probes = [
        FilterSpec(status=every_status),
        FilterSpec(status=tuple(reversed(every_status))),
    ]
    if services:
        probes += [
            FilterSpec(services=services),
            FilterSpec(status=every_status, services=services),
        ]
    return probes


def credential_requests(*, unprivileged: bool) -> list[tuple[str, str, Auth]]:
    """(description, query, auth) of the credential cases."""
    empty = ""
    cases: list[tuple[str, str, Auth]] = [
        ("no credentials", empty, "none"),
        ("wrong password (Basic)", empty, "wrong-password"),
        ("unknown session id", empty, "bogus-session"),
        ("session used after its logout", empty, "ended-session"),
    ]
    if unprivileged:
        status = statuses()[0]
        cases += [
            ("principal without System.Read: empty filter", empty, "unprivileged"),
            (
                f"principal without System.Read: status={status}",
                encode_query([("status", status)]),
                "unprivileged",
            ),
        ]
    return cases


def invalid_requests(seed: int, count: int = 4) -> list[tuple[str, str]]:
    """(description, query) of invalid input: statuses outside the enum, a broken escape."""
    values = draw(invalid_status_values(), count, seed)
    cases = [(f"invalid status {value!r}", encode_query([("status", value)])) for value in values]
    cases.append(("malformed percent-escape in a value", "services=%zz"))
    cases.append(("empty status value", "status="))
    return cases


def draw(strategy: st.SearchStrategy[Any], count: int, seed: int) -> list[Any]:
    """Up to ``count`` distinct examples of ``strategy``, the same for the same ``seed``."""
    examples: list[Any] = []
    seen: set[str] = set()

    def collect(example: Any) -> None:
        key = repr(example)
        if len(examples) < count and key not in seen:
            seen.add(key)
            examples.append(example)

    drive(strategy, collect, max_examples=max(1, count * 3), seed=seed, phases=GENERATE)
    return examples


def service_candidates(items: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Services to name: those the listed tasks hold, else the bindings' (or common) ones."""
    held = sorted(
        {v for v in (item_value(item, "services") for item in items) if isinstance(v, str)}
    )
    if held:
        return tuple(held)
    try:  # the official bindings' service ids, where the engine knows them
        from snapconform.engine.discovery import BINDINGS_SERVICES  # type: ignore[attr-defined]

        return tuple(BINDINGS_SERVICES)
    except ImportError:
        return SERVICE_NAMES


def naming_a_service(spec: FilterSpec, services: Sequence[str], index: int) -> FilterSpec:
    """``spec``, with one of ``services`` added when it names neither tasks nor services.

    For a target that refuses such filters (the bindings allow it): every filter of the stream
    then asks something it answers, instead of the same 400 on both sides.
    """
    if spec.tasks or spec.services or not services:
        return spec
    return spec.with_field("services", (services[index % len(services)],))


def generated_filters(
    items: Sequence[Mapping[str, Any]],
    seed: int,
    count: int,
    *,
    name_a_service: bool = False,
) -> Iterator[FilterSpec]:
    """The deterministic informative filters, then Hypothesis-drawn ones (``count`` at most).

    ``name_a_service``: the targets refuse filters naming neither tasks nor services, so each
    such filter gets a service (``naming_a_service``).
    """
    sent: set[str] = set()
    produced = 0
    candidates = list(informative_filters(items))
    if count > len(candidates):
        candidates += draw(filter_specs(Vocabulary.of(items)), count - len(candidates), seed)
    services = service_candidates(items)
    for position, original in enumerate(candidates):
        spec = naming_a_service(original, services, position) if name_a_service else original
        query = encode_query(spec.query_pairs())
        if query in sent:
            continue
        sent.add(query)
        yield spec
        produced += 1
        if produced >= count:
            return
