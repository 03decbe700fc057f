"""--churn: tasks advance and new tasks appear over time, as on a live vCenter.

``churn_step`` is a pure function (state, rng, now, events) -> state, so it is testable;
``churn_loop`` applies it in the background and swaps each new state in atomically.
Transitions: PENDING -> RUNNING; RUNNING -> RUNNING (more progress) | BLOCKED | SUCCEEDED |
FAILED; BLOCKED -> RUNNING. SUCCEEDED and FAILED tasks never change again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from snapconform.server.defaults import TERMINAL_STATUSES, make_task, with_status
from snapconform.server.runtime import Runtime
from snapconform.state import State

logger = logging.getLogger(__name__)

#: Share of churn events that create a new task rather than advance an open one.
NEW_TASK_SHARE = 0.3

_NEXT: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "PENDING": (("RUNNING",), (1,)),
    "RUNNING": (("RUNNING", "BLOCKED", "SUCCEEDED", "FAILED"), (4, 1, 4, 1)),
    "BLOCKED": (("RUNNING",), (1,)),
}


def next_status(status: str, rng: random.Random) -> str:
    """The status an open task moves to next."""
    choices, weights = _NEXT[status]
    return rng.choices(choices, weights=weights, k=1)[0]


def churn_step(state: State, rng: random.Random, now: datetime, events: int = 1) -> State:
    """``state`` after ``events`` changes at ``now``: advance an open task or add a new one.

    Never mutates ``state``; unchanged task dicts are shared with it (so the store can reuse
    their serialised bytes).
    """
    tasks: list[Any] = list(state.tasks)
    open_positions = [
        position
        for position, item in enumerate(tasks)
        if item["info"]["status"] not in TERMINAL_STATUSES
    ]
    for _ in range(events):
        if not open_positions or rng.random() < NEW_TASK_SHARE:
            tasks.append(make_task(rng, now, status="PENDING"))
            open_positions.append(len(tasks) - 1)
            continue
        slot = rng.randrange(len(open_positions))
        position = open_positions[slot]
        item = tasks[position]
        status = next_status(item["info"]["status"], rng)
        tasks[position] = {
            "task": item["task"],
            "info": with_status(item["info"], status, rng, now),
        }
        if status in TERMINAL_STATUSES:
            open_positions[slot] = open_positions[-1]
            open_positions.pop()
    return State(tasks=tuple(tasks), principals=state.principals)


async def churn_loop(runtime: Runtime, rate: float, seed: int, interval: float = 0.5) -> None:
    """Apply about ``rate`` churn events per second until cancelled."""
    # A stream of its own: seeded like the default universe, new tasks could repeat its ids.
    rng = random.Random(f"churn:{seed}")
    owed = 0.0
    while True:
        await asyncio.sleep(interval)
        owed += rate * interval
        events = int(owed)
        if events == 0:
            continue
        owed -= events
        snapshot = runtime.snapshot
        try:
            successor = churn_step(snapshot.state, rng, runtime.clock(), events)
            await run_in_threadpool(runtime.advance, snapshot, successor)
        except Exception:
            # A churn bug must not stop the server answering; the universe just stays still.
            logger.exception("churn step failed; churn stopped")
            return
