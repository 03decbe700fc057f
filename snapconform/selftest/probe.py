"""The selftest's server side: declared mode's boundary universe, and a served Behaviour whose
API requests are numbered and whose list replies are replayed through the engine's own
ResponseAudit (where an audit requirement first failed, measured outside the engine)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

import httpx

from snapconform.server.behaviour import Behaviour, Reply
from snapconform.server.defaults import DEFAULT_EPOCH, default_principals, make_task
from snapconform.server.runtime import Runtime
from snapconform.state import State
from snapconform.wire import TASKS_PATH

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
    import random

    rng = random.Random(seed)
    statuses = [status for status, count in BOUNDARY_STATUS_COUNTS for _ in range(count)]
    rng.shuffle(statuses)
    span = timedelta(days=7) / len(statuses)
    start = DEFAULT_EPOCH - timedelta(days=7)
    tasks = [make_task(rng, start + span * i, status) for i, status in enumerate(statuses)]
    return State(tasks=tuple(tasks), principals=default_principals(tasks))


class ServerProbe:
    """Numbers the API requests a served Behaviour answers; replays list replies through the audit.

    ``audit_ids``: audit requirements whose first finding should be located (None: none).
    """

    def __init__(self, audit_ids: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.first_finding: dict[str, int] = {}
        self._pending = set(audit_ids)
        self._audit: Any = None
        if self._pending:
            from snapconform.engine.audit import ResponseAudit

            self._audit = ResponseAudit(repro=lambda response: "")

    def tick(self) -> int:
        with self._lock:
            self.count += 1
            return self.count

    def judge(self, number: int, raw_query: bytes, reply: Reply) -> None:
        if self._audit is None or not self._pending:
            return
        from snapconform.engine.target import Exchange

        text = (reply.body or b"").decode("utf-8", errors="replace")
        try:
            body, problem = json.loads(text), None
        except ValueError as exc:
            body, problem = None, str(exc)
        response = Exchange(
            status=reply.status,
            headers=httpx.Headers(list(reply.headers)),
            text=text,
            body=body,
            json_error=problem,
            method="GET",
            path=TASKS_PATH,
            query=raw_query.decode("latin-1"),
        )
        with self._lock:
            self._audit(response)
            for requirement_id in list(self._pending):
                findings = self._audit.findings.get(requirement_id)
                if findings is not None and findings.count:
                    self.first_finding[requirement_id] = number
                    self._pending.discard(requirement_id)


def instrumented(behaviour_class: type[Behaviour], probe: ServerProbe) -> Behaviour:
    """An instance of ``behaviour_class`` whose API requests are numbered by ``probe``."""

    def list_tasks(
        self: Behaviour, runtime: Runtime, headers: Mapping[str, str], raw_query: bytes
    ) -> Reply:
        number = probe.tick()
        reply = behaviour_class.list_tasks(self, runtime, headers, raw_query)
        probe.judge(number, raw_query, reply)
        return reply

    def counted(name: str) -> Callable[..., Reply]:
        method = getattr(behaviour_class, name)

        def call(self: Behaviour, runtime: Runtime, headers: Mapping[str, str]) -> Reply:
            probe.tick()
            return method(self, runtime, headers)

        return call

    namespace: dict[str, Any] = {"list_tasks": list_tasks}
    for name in ("create_session", "session_info", "end_session"):
        namespace[name] = counted(name)
    return type(f"Counted{behaviour_class.__name__}", (behaviour_class,), namespace)()
