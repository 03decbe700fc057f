"""TaskStore: an immutable, indexed snapshot of the tasks, and the FilterSpec it answers.

Built once per state change and swapped as one reference, so a request never sees a
half-loaded store. Every item is serialised once, when first listed: a response is a join of
bytes.
Postings are sets of store positions, so a selective filter costs the size of its smallest
posting set, not the size of the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: FilterSpec field -> how to read the matching value from a ListItem.
FILTER_FIELDS: tuple[str, ...] = ("tasks", "operations", "services", "status", "users")


def item_value(item: Mapping[str, Any], field_name: str) -> Any:
    """The value of ``item`` a FilterSpec field constrains (``None`` when absent)."""
    if field_name == "tasks":
        return item["task"]
    info = item["info"]
    key = {"operations": "operation", "services": "service", "status": "status", "users": "user"}[
        field_name
    ]
    return info.get(key)


def serialise(value: Any) -> bytes:
    """Compact UTF-8 JSON, the encoding of every body the server writes."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class FilterSpec:
    """com.vmware.snapservice.tasks.filter_spec: per field, alternatives; across fields, AND.

    ``None`` (or an empty tuple) means no constraint on that field.
    """

    tasks: tuple[str, ...] | None = None
    operations: tuple[str, ...] | None = None
    services: tuple[str, ...] | None = None
    status: tuple[str, ...] | None = None
    users: tuple[str, ...] | None = None

    def constraints(self) -> dict[str, tuple[str, ...]]:
        """Only the fields that constrain (present and non-empty)."""
        # the field names, not dataclasses.fields(): a Behaviour's scan calls this per task
        return {name: value for name in FILTER_FIELDS if (value := getattr(self, name))}

    def to_document(self) -> dict[str, list[str]]:
        return {name: list(values) for name, values in self.constraints().items()}


@dataclass(frozen=True)
class QueryResult:
    """Positions (store order) of the visible tasks matching a filter."""

    positions: Sequence[int]

    @property
    def count(self) -> int:
        return len(self.positions)


class TaskStore:
    """Immutable snapshot of ListItems with per-field indexes and pre-serialised items."""

    __slots__ = ("_index", "_items", "_json", "_positions")

    def __init__(
        self, items: Iterable[Mapping[str, Any]], previous: TaskStore | None = None
    ) -> None:
        """Index ``items`` (kept in the given order).

        With ``previous``, an item that is the very same object as there reuses its bytes, so
        a small change (churn) does not re-serialise the whole store.
        """
        self._items: tuple[Mapping[str, Any], ...] = tuple(items)
        self._positions: dict[str, int] = {}
        # Task ids are unique: their "posting" is the position map itself.
        indexed = tuple(name for name in FILTER_FIELDS if name != "tasks")
        postings: dict[str, dict[Any, set[int]]] = {name: {} for name in indexed}
        # Serialised on first use (``item_json``): a pushed universe's tasks past the cap, and
        # the default universe a controlled run replaces at once, are never listed (issue 27).
        encoded: list[bytes | None] = []
        for position, item in enumerate(self._items):
            task_id = item["task"]
            if task_id in self._positions:
                raise ValueError(f"duplicate task id {task_id!r}")
            self._positions[task_id] = position
            for name in indexed:
                postings[name].setdefault(item_value(item, name), set()).add(position)
            encoded.append(previous._reusable_json(item) if previous is not None else None)
        self._json: list[bytes | None] = encoded
        self._index: dict[str, dict[Any, frozenset[int]]] = {
            name: {value: frozenset(ids) for value, ids in by_value.items()}
            for name, by_value in postings.items()
        }

    def _reusable_json(self, item: Mapping[str, Any]) -> bytes | None:
        position = self._positions.get(item["task"])
        if position is not None and self._items[position] is item:
            return self.item_json(position)
        return None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> tuple[Mapping[str, Any], ...]:
        return self._items

    def item(self, position: int) -> Mapping[str, Any]:
        return self._items[position]

    def item_json(self, position: int) -> bytes:
        encoded = self._json[position]
        if encoded is None:
            # Racing threads may both serialise an item: the same bytes, either one kept.
            encoded = self._json[position] = serialise(self._items[position])
        return encoded

    def position(self, task_id: str) -> int | None:
        return self._positions.get(task_id)

    def posting(self, field_name: str, value: Any) -> frozenset[int]:
        """Positions whose ``field_name`` value equals ``value`` exactly."""
        if field_name == "tasks":
            position = self._positions.get(value)
            return frozenset() if position is None else frozenset((position,))
        return self._index[field_name].get(value, frozenset())

    def values(self, field_name: str) -> frozenset[Any]:
        """Every distinct value of a field in the store (``None`` included when present)."""
        if field_name == "tasks":
            return frozenset(self._positions)
        return frozenset(self._index[field_name])

    def positions_of(self, task_ids: Iterable[str]) -> frozenset[int]:
        positions = self._positions
        return frozenset(positions[i] for i in task_ids if i in positions)

    def query(self, spec: FilterSpec, visible: frozenset[str] | None = None) -> QueryResult:
        """Visible tasks matching ``spec``: OR within a field, AND across fields.

        ``visible`` lists the task ids the caller may see (``None``: all).
        """
        constraints = spec.constraints()
        if not constraints and visible is None:
            return QueryResult(range(len(self._items)))
        candidate_sets: list[frozenset[int]] = []
        for name, wanted in constraints.items():
            # Query values are strings, so a task whose user is null never matches ``users``.
            if len(wanted) == 1:
                candidate_sets.append(self.posting(name, wanted[0]))
            else:
                candidate_sets.append(frozenset().union(*(self.posting(name, v) for v in wanted)))
        if visible is not None:
            candidate_sets.append(self.positions_of(visible))
        candidate_sets.sort(key=len)
        matched = candidate_sets[0]
        for other in candidate_sets[1:]:
            if not matched:
                break
            matched = matched & other
        return QueryResult(sorted(matched))

    def scan(self, predicate: Any, visible: frozenset[str] | None = None) -> QueryResult:
        """Positions of visible items for which ``predicate(item)`` holds (full scan).

        The slow path, used when a Behaviour changes what "matches" means.
        """
        return QueryResult(
            [
                position
                for position, item in enumerate(self._items)
                if (visible is None or item["task"] in visible) and predicate(item)
            ]
        )
