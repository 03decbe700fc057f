"""Intermittent mutants: wrong only on some responses, deterministically per request counter.

Each instance counts its own calls from 0, so a run against a freshly started mutant is
reproducible: the same requests get the same faulty responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from snapconform.mutants.base import ALL_MODES, Mutant, RequestCounter
from snapconform.server.store import FilterSpec, QueryResult, TaskStore


class DropsItemEveryThird(RequestCounter):
    """Every third list body loses its last task (a racy page join)."""

    def render_list(self, items: Sequence[bytes]) -> bytes:
        if self.next_count() % 3 == 2 and items:
            items = items[:-1]
        return super().render_list(items)


class DuplicatesEveryFourth(RequestCounter):
    """Every fourth list body repeats its first task."""

    def render_list(self, items: Sequence[bytes]) -> bytes:
        if self.next_count() % 4 == 3 and items:
            items = [items[0], *items]
        return super().render_list(items)


class IgnoresUsersEveryFourth(RequestCounter):
    """Every fourth request that filters by user ignores the ``users`` parameter (stale cache)."""

    def select(
        self, store: TaskStore, spec: FilterSpec, visible: frozenset[str] | None
    ) -> QueryResult:
        if spec.users and self.next_count() % 4 == 3:
            spec = replace(spec, users=None)
        return super().select(store, spec, visible)


class InaccessibleStatusFlips(RequestCounter):
    """Every second ResourceInaccessible travels as HTTP 400, the others as 500: each status is
    documented (the page; the vAPI runtime's map), a server switching between them is not."""

    def status_for(self, error_type: str) -> int:
        if error_type == "RESOURCE_INACCESSIBLE" and self.next_count() % 2 == 1:
            return 400
        return super().status_for(error_type)


class SkipsCapEveryFifth(RequestCounter):
    """Every fifth request over the cap returns every matching task with 200."""

    def exceeds_cap(self, result: QueryResult, store: TaskStore) -> bool:
        if result.count <= self.cap:
            return False
        return self.next_count() % 5 != 4


INTERMITTENT_MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        name="intermittent-drops-item",
        area="intermittent",
        description="every third list response loses its last task",
        requirements=(
            "FILTER-DETERMINISTIC",
            "FILTER-COMPLETENESS",
            "FILTER-EMPTY",
            "FILTER-ORDER-REPEATS",
            "FILTER-OR-AND",
        ),
        modes=ALL_MODES,
        behaviour_class=DropsItemEveryThird,
    ),
    Mutant(
        name="intermittent-duplicates",
        area="intermittent",
        description="every fourth list response repeats its first task",
        requirements=("CONTRACT-UNIQUE-IDS",),
        modes=ALL_MODES,
        behaviour_class=DuplicatesEveryFourth,
    ),
    Mutant(
        name="intermittent-ignores-users",
        area="intermittent",
        description="every fourth request filtering by user ignores the users parameter",
        requirements=("FILTER-SOUNDNESS", "FILTER-DETERMINISTIC"),
        modes=ALL_MODES,
        behaviour_class=IgnoresUsersEveryFourth,
    ),
    Mutant(
        name="intermittent-inaccessible-status",
        area="intermittent",
        description="every second ResourceInaccessible is sent with HTTP 400, the others with 500",
        requirements=("CONTRACT-ERROR-TYPE",),
        modes=ALL_MODES,
        behaviour_class=InaccessibleStatusFlips,
    ),
    Mutant(
        name="intermittent-skips-cap",
        area="intermittent",
        description="every fifth request over the cap returns all matching tasks with 200",
        requirements=("CAP-NEVER-MORE", "CAP-OVER-LIMIT"),
        modes=ALL_MODES,
        behaviour_class=SkipsCapEveryFifth,
    ),
)
