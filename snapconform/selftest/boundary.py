"""Declared mode's universe for the selftest: status counts on the edges of the cap."""

from __future__ import annotations

import random
from datetime import timedelta

from snapconform.server.defaults import DEFAULT_EPOCH, default_principals, make_task
from snapconform.state import State

#: Declared mode's universe: status counts chosen so single-status filters sit on the cap edges.
BOUNDARY_STATUS_COUNTS: tuple[tuple[str, int], ...] = (
    ("SUCCEEDED", 1000),
    ("FAILED", 1001),
    ("RUNNING", 150),
    ("BLOCKED", 60),
    ("PENDING", 120),
)


def boundary_state(seed: int) -> State:
    """Declared mode's universe: SUCCEEDED matches exactly 1000 tasks, FAILED exactly 1001."""
    rng = random.Random(seed)
    statuses = [status for status, count in BOUNDARY_STATUS_COUNTS for _ in range(count)]
    rng.shuffle(statuses)
    span = timedelta(days=7) / len(statuses)
    start = DEFAULT_EPOCH - timedelta(days=7)
    tasks = [make_task(rng, start + span * i, status) for i, status in enumerate(statuses)]
    return State(tasks=tuple(tasks), principals=default_principals(tasks))
