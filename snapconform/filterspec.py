"""FilterSpec and its matching rule: which tasks a filter selects (the contract layer).

``com.vmware.snapservice.tasks.filter_spec`` as sent on the wire, and the rule the page and the
bindings give for it: OR within a field, AND across fields, exact string equality. The oracle
judges answers with it, the strategies generate filters of this type and the diff and capture
tools send them; nothing here does I/O or knows about a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

from snapconform.contracts import default_contracts

#: The most tasks one list call may return (spec: "at most 1000 visible ... tasks").
CAP = 1000

#: FilterSpec field -> the Info property it constrains (``tasks`` constrains ListItem.task).
FILTER_FIELDS: tuple[str, ...] = ("tasks", "operations", "services", "status", "users")
_INFO_PROPERTY = {
    "operations": "operation",
    "services": "service",
    "status": "status",
    "users": "user",
}


@dataclass(frozen=True)
class FilterSpec:
    """com.vmware.snapservice.tasks.filter_spec as sent: values keep their order and repeats.

    ``None`` or ``()`` means no constraint on that field. Order and repeats matter only for
    the wire (a conformant server ignores both); ``normalised()`` drops them.
    """

    tasks: tuple[str, ...] | None = None
    operations: tuple[str, ...] | None = None
    services: tuple[str, ...] | None = None
    status: tuple[str, ...] | None = None
    users: tuple[str, ...] | None = None

    def constraints(self) -> dict[str, tuple[str, ...]]:
        """Only the fields that constrain (present and non-empty), in FILTER_FIELDS order."""
        # the field names, not dataclasses.fields(): this runs per task in a scan
        return {name: value for name in FILTER_FIELDS if (value := getattr(self, name))}

    def with_field(self, name: str, values: Sequence[str] | None) -> FilterSpec:
        return replace(self, **{name: None if values is None else tuple(values)})

    def normalised(self) -> FilterSpec:
        """Same meaning, canonical form: values sorted and de-duplicated."""
        return FilterSpec(**{k: tuple(sorted(set(v))) for k, v in self.constraints().items()})

    def query_pairs(self) -> list[tuple[str, str]]:
        """The query parameters (form style, exploded: one ``name=value`` per value)."""
        return [(name, value) for name, values in self.constraints().items() for value in values]

    def describe(self) -> str:
        constraints = self.constraints()
        if not constraints:
            return "{} (empty filter)"
        return "{" + ", ".join(f"{k}: {list(v)!r}" for k, v in constraints.items()) + "}"

    @classmethod
    def from_document(cls, document: Mapping[str, Sequence[str] | None]) -> FilterSpec:
        unknown = set(document) - set(FILTER_FIELDS)
        if unknown:
            raise ValueError(f"unknown FilterSpec fields: {sorted(unknown)}")
        return cls(**{k: None if v is None else tuple(v) for k, v in document.items()})


def encode_query(pairs: Iterable[tuple[str, str]]) -> str:
    """``name=value&...`` with every reserved byte percent-encoded.

    ``quote(safe="")`` encodes ``+`` as ``%2B`` (a bare ``+`` means space in a query), space as
    ``%20``, ``\\`` as ``%5C`` and non-ASCII as UTF-8 bytes, so a value arrives exactly as drawn.
    """
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)


def parse_canonical_query(query: str) -> FilterSpec | None:
    """The filter a query written by ``encode_query`` asks (None: not such a query).

    Only a query that ``encode_query`` writes again byte for byte is read: a hand-written one
    (a ``+``, lower-case escapes, a name outside FilterSpec) may mean something else to a
    server, so nothing is concluded from it.
    """
    pairs: list[tuple[str, str]] = []
    for part in query.split("&") if query else ():
        name, sep, value = part.partition("=")
        if not sep:
            return None
        try:
            pairs.append((unquote(name, errors="strict"), unquote(value, errors="strict")))
        except UnicodeDecodeError:
            return None
    if any(name not in FILTER_FIELDS for name, _ in pairs):
        return None
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    spec = FilterSpec(**{name: tuple(values) for name, values in grouped.items()})
    return spec if encode_query(spec.query_pairs()) == query else None


#: (FilterSpec field, ListItem ``info`` property) for every field but ``tasks``, in field order.
_INFO_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (name, _INFO_PROPERTY[name]) for name in FILTER_FIELDS if name != "tasks"
)


def item_value(item: Mapping[str, Any], field_name: str) -> Any:
    """The value of a ListItem that FilterSpec field ``field_name`` constrains."""
    if field_name == "tasks":
        return item.get("task")
    info = item.get("info") or {}
    return info.get(_INFO_PROPERTY[field_name])


def string_values(item: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(field, item_value(item, field))`` for every FilterSpec field whose value is a string
    (only those can match a filter value), in field order.

    One pass over the item for the per-universe indexes (``Vocabulary``, the oracle's value
    index), which read every task of every universe: five ``item_value`` calls per task were
    ~146k calls in a default run.
    """
    task_id = item.get("task")
    found = [("tasks", task_id)] if isinstance(task_id, str) else []
    info = item.get("info") or {}
    for name, prop in _INFO_FIELDS:
        value = info.get(prop)
        if isinstance(value, str):
            found.append((name, value))
    return found


def matches(item: Mapping[str, Any], spec: FilterSpec) -> bool:
    """OR within a field, AND across fields; exact, case-sensitive string equality.

    A task whose constrained value is absent or null matches no value (values are strings).
    """
    return _matcher(spec)(item)


def _matcher(
    spec: FilterSpec, *, casefold_users: bool = False
) -> Callable[[Mapping[str, Any]], bool]:
    """``matches(item, spec)`` with the constraints read once, remembered per filter.

    ``matches`` and ``may_match`` are asked item by item (every listed task of a response):
    building the value sets per item was ~2% of a declared run's CPU (issue 27). A FilterSpec
    holding lists is not hashable: its matcher is built each time.
    """
    try:
        return _remembered_matcher(spec, casefold_users)
    except TypeError:
        return _build_matcher(spec, casefold_users)


@lru_cache(maxsize=512)
def _remembered_matcher(
    spec: FilterSpec, casefold_users: bool
) -> Callable[[Mapping[str, Any]], bool]:
    return _build_matcher(spec, casefold_users)


def _build_matcher(spec: FilterSpec, casefold_users: bool) -> Callable[[Mapping[str, Any]], bool]:
    """``matches(item, spec)`` with the constraints read once (value sets: O(1) membership).

    A value that is not hashable is never a string, so it matches nothing. ``casefold_users``:
    users compare case-insensitively (``may_match``).
    """
    folded = casefold_users and bool(spec.users)
    constraints = [
        (
            name,
            frozenset(v.casefold() for v in values)
            if folded and name == "users"
            else frozenset(values),
        )
        for name, values in spec.constraints().items()
    ]

    def test(item: Mapping[str, Any]) -> bool:
        for name, values in constraints:
            value = item_value(item, name)
            if not isinstance(value, str):
                return False
            if folded and name == "users":
                value = value.casefold()
            if value not in values:
                return False
        return True

    return test


def may_match(item: Mapping[str, Any], spec: FilterSpec) -> bool:
    """``matches``, except that ``users`` may also match in another case.

    No source says how users compare, and SSO principal names usually ignore case, so a server
    may do either (the documented alternative ``users-case``); identifiers stay exact.
    """
    return _matcher(spec, casefold_users=True)(item)


def users_case_only(item: Mapping[str, Any], spec: FilterSpec) -> bool:
    """Whether ``item`` matches ``spec`` only when users compare case-insensitively."""
    return may_match(item, spec) and not matches(item, spec)


def allowed_ids(
    items: Iterable[Mapping[str, Any]], spec: FilterSpec, visible: frozenset[str] | None = None
) -> frozenset[str]:
    """Ids a 200 to ``spec`` may hold: ``expected_ids`` plus the users-in-another-case ones."""
    test = _matcher(spec, casefold_users=True)
    return frozenset(
        item["task"]
        for item in items
        if (visible is None or item["task"] in visible) and test(item)
    )


def unknown_status_values(spec: FilterSpec) -> tuple[str, ...]:
    """The status values of ``spec`` outside the Status enum (an open enum: may be new)."""
    known = status_enum()
    return tuple(value for value in spec.status or () if value not in known)


def status_enum() -> frozenset[str]:
    return frozenset(default_contracts().schema("Status")["enum"])


def expected_ids(
    items: Iterable[Mapping[str, Any]], spec: FilterSpec, visible: frozenset[str] | None = None
) -> frozenset[str]:
    """Ids of the tasks in ``items`` (the store) a principal seeing ``visible`` must get."""
    test = _matcher(spec)
    return frozenset(
        item["task"]
        for item in items
        if (visible is None or item["task"] in visible) and test(item)
    )
