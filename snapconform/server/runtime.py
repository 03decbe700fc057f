"""The live server: one swappable snapshot (state + store), sessions and pending faults.

Every state change builds a new immutable Snapshot and swaps one reference under a lock, so
a request that has read ``runtime.snapshot`` sees one consistent state for its whole life.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from snapconform.contracts import default_contracts
from snapconform.server.store import TaskStore
from snapconform.state import Principal, State

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Snapshot:
    """One consistent view: the state, its indexed store and principals by name."""

    state: State
    store: TaskStore
    principals: Mapping[str, Principal]
    generation: int

    @classmethod
    def build(cls, state: State, generation: int, previous: Snapshot | None = None) -> Snapshot:
        store = TaskStore(state.tasks, previous.store if previous is not None else None)
        principals = {principal.username: principal for principal in state.principals}
        return cls(state=state, store=store, principals=principals, generation=generation)


@dataclass(frozen=True)
class Session:
    username: str
    created: datetime
    last_accessed: datetime


class SessionTable:
    """token -> Session; thread-safe (the test client calls from another thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def create(self, username: str, now: datetime) -> str:
        token = secrets.token_hex(20)
        with self._lock:
            self._sessions[token] = Session(username, now, now)
        return token

    def touch(self, token: str, now: datetime) -> Session | None:
        """The session (its last access moved to ``now``), or None when unknown."""
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            touched = replace(session, last_accessed=now)
            self._sessions[token] = touched
            return touched

    def end(self, token: str) -> bool:
        with self._lock:
            return self._sessions.pop(token, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)


class FaultQueue:
    """Injected faults: the next ``count`` authorised list requests fail with ``error_type``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._error_type: str | None = None
        self._remaining = 0

    def arm(self, error_type: str, count: int) -> None:
        with self._lock:
            self._error_type = error_type
            self._remaining = count

    def take(self) -> str | None:
        """The fault to apply to this request (consuming one), or None."""
        with self._lock:
            if self._remaining <= 0 or self._error_type is None:
                return None
            self._remaining -= 1
            return self._error_type

    @property
    def remaining(self) -> int:
        with self._lock:
            return self._remaining


class Runtime:
    """The mutable shell around immutable snapshots; one per app."""

    def __init__(self, state: State, api_version: str, clock: Clock = utc_now) -> None:
        self.api_version = api_version
        self.profile: Mapping[str, Any] = default_contracts().profile(api_version)
        self.clock = clock
        self.sessions = SessionTable()
        self.faults = FaultQueue()
        self._lock = threading.Lock()
        self._snapshot = Snapshot.build(state, generation=0)

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def replace_state(self, state: State) -> Snapshot:
        """Swap in a new state and end every session (the control protocol's PUT)."""
        with self._lock:
            snapshot = Snapshot.build(state, self._snapshot.generation + 1, self._snapshot)
            self._snapshot = snapshot
            self.sessions.clear()
        return snapshot

    def advance(self, expected: Snapshot, state: State) -> bool:
        """Swap in ``state`` derived from ``expected`` (churn); sessions survive.

        False (nothing changes) when the state was replaced since ``expected`` was read.
        """
        candidate = Snapshot.build(state, expected.generation + 1, expected)
        with self._lock:
            if self._snapshot is not expected:
                return False
            self._snapshot = candidate
            return True
