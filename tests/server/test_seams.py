"""Behaviour seams: one overridden method changes exactly one decision (what mutants rely on),
and a state swap is atomic under concurrent readers."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import httpx

from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME, build_task
from snapconform.server.runner import serve_in_thread
from snapconform.server.store import QueryResult, TaskStore
from snapconform.state import SYSTEM_READ, Principal, State, state_to_document

TASKS = "/api/snapservice/tasks"
ADMIN = (ADMIN_USERNAME, ADMIN_PASSWORD)


def state_of(tasks: Sequence[dict[str, Any]]) -> State:
    return State(tuple(tasks), (Principal(*ADMIN, frozenset({SYSTEM_READ})),))


class CaseInsensitiveUsers(Behaviour):
    name = "case-insensitive-users"

    def field_matches(self, field_name: str, wanted: Sequence[str], actual: Any) -> bool:
        if field_name == "users" and actual is not None:
            return actual.lower() in {value.lower() for value in wanted}
        return super().field_matches(field_name, wanted, actual)


class CapOffByOne(Behaviour):
    name = "cap-off-by-one"

    def exceeds_cap(self, result: QueryResult, store: TaskStore) -> bool:
        return result.count >= self.cap


class WrappedBody(Behaviour):
    name = "wrapped-body"

    def render_list(self, items: Sequence[bytes]) -> bytes:
        return b'{"value":{"items":[' + b",".join(items) + b"]}}"


def test_matching_override_takes_the_scan_path(client_for: Any) -> None:
    tasks = [build_task("a", user="Svc Account"), build_task("b", user="svc account")]
    faithful = client_for(state=state_of(tasks))
    mutant = client_for(state=state_of(tasks), behaviour=CaseInsensitiveUsers())
    query = f"{TASKS}?users=svc+account"
    assert [i["task"] for i in faithful.get(query, auth=ADMIN).json()["items"]] == ["b"]
    assert [i["task"] for i in mutant.get(query, auth=ADMIN).json()["items"]] == ["a", "b"]


def test_cap_and_rendering_overrides(client_for: Any) -> None:
    tasks = [build_task(f"t{i}") for i in range(1000)]
    assert client_for(state=state_of(tasks)).get(TASKS, auth=ADMIN).status_code == 200
    mutant = client_for(state=state_of(tasks), behaviour=CapOffByOne())
    assert mutant.get(TASKS, auth=ADMIN).status_code == 500
    wrapped = client_for(state=state_of(tasks[:2]), behaviour=WrappedBody())
    assert set(wrapped.get(TASKS, auth=ADMIN).json()) == {"value"}


def test_state_swaps_are_atomic_for_concurrent_readers() -> None:
    even = state_to_document(state_of([build_task(f"even-{i}") for i in range(100)]))
    odd = state_to_document(state_of([build_task(f"odd-{i}") for i in range(101)]))
    mixed: list[set[str]] = []
    stop = threading.Event()
    with serve_in_thread(ServerConfig(state=state_of([build_task("start")]))) as server:

        def read() -> None:
            with httpx.Client(base_url=server.base_url, auth=ADMIN) as client:
                while not stop.is_set():
                    response = client.get(TASKS)
                    if response.status_code != 200:
                        mixed.append({f"status {response.status_code}"})
                        continue
                    prefixes = {i["task"].split("-")[0] for i in response.json()["items"]}
                    if len(prefixes) > 1:
                        mixed.append(prefixes)

        reader = threading.Thread(target=read)
        reader.start()
        with httpx.Client(base_url=server.control_url) as control:
            for round_ in range(10):
                assert control.put("/state", json=even if round_ % 2 else odd).status_code == 204
        stop.set()
        reader.join(10)
    assert mixed == []
