"""The reference server under load, state swaps and malformed requests (bench/load_test.py).

Each experiment is bounded in count and time and runs on loopback; each has a broken server
variant that the same measurement catches, so a pass means something.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import ModuleType
from urllib.parse import unquote_to_bytes

import pytest

from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour, Reply
from snapconform.server.defaults import default_state
from snapconform.server.runner import serve_in_thread
from snapconform.server.runtime import Runtime
from snapconform.state import State

pytestmark = pytest.mark.slow


class LeakySessions(Behaviour):
    """Answers 204 to DELETE but never ends the session."""

    def end_session(self, runtime: Runtime, headers: Mapping[str, str]) -> Reply:
        return Reply(204)


class CrashesOnBadUtf8(Behaviour):
    """Decodes query components without handling invalid UTF-8 (an unhandled exception)."""

    def decode_component(self, raw: bytes) -> str:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")


def universe(load_test: ModuleType) -> State:
    return default_state(seed=7, size=load_test.LOAD_UNIVERSE)


def run_small_load(load_test: ModuleType, config: ServerConfig) -> object:
    task_ids = [item["task"] for item in config.state.tasks]  # type: ignore[union-attr]
    with serve_in_thread(config) as server:
        return load_test.run_load(
            server.base_url,
            load_test.LoadConfig(clients=6, requests=300, session_every=5, max_seconds=30),
            task_ids,
            sessions_on_server=lambda: len(server.runtime.sessions),
        )


def test_concurrent_lists_and_sessions_have_no_errors_and_lose_no_session(
    load_test: ModuleType,
) -> None:
    result = run_small_load(load_test, ServerConfig(api_version="9.0", state=universe(load_test)))
    figures = result.to_document()
    print("load:", figures)
    assert not result.stopped_by_time, figures
    assert result.errors == [] and result.lost_sessions == [], figures
    # 60 session cycles of 4 requests, 240 list requests
    assert (result.sessions_created, result.sessions_deleted) == (60, 60)
    assert result.requests == 240 + 60 * 4
    assert result.sessions_left_on_server == 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]


def test_the_load_test_catches_a_server_that_leaks_sessions(load_test: ModuleType) -> None:
    result = run_small_load(
        load_test,
        ServerConfig(api_version="9.0", state=universe(load_test), behaviour=LeakySessions()),
    )
    assert result.sessions_left_on_server == 60


def test_a_state_swap_under_load_never_shows_a_half_loaded_store(load_test: ModuleType) -> None:
    states = load_test.swap_states()
    ids = [frozenset(item["task"] for item in state.tasks) for state in states.values()]
    assert not ids[0] & ids[1], "the two states must be told apart by their ids"
    with serve_in_thread(ServerConfig(api_version="9.0", state=universe(load_test))) as server:
        result = load_test.run_swap_load(
            server.base_url, server.control_url, states, clients=4, requests=250, max_seconds=30
        )
    figures = result.to_document()
    print("swap:", figures)
    assert result.errors == [] and result.torn == [], figures
    assert result.swaps >= 3 and set(result.seen) == {"A", "B"}, figures


def test_the_swap_check_catches_a_store_loaded_in_two_steps(
    load_test: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve_in_thread(ServerConfig(api_version="9.0", state=universe(load_test))) as server:
        runtime = server.runtime
        whole = runtime.replace_state

        def in_two_steps(state: State) -> object:
            whole(State(tasks=state.tasks[: len(state.tasks) // 2], principals=state.principals))
            time.sleep(0.05)
            return whole(state)

        monkeypatch.setattr(runtime, "replace_state", in_two_steps)
        result = load_test.run_swap_load(
            server.base_url,
            server.control_url,
            load_test.swap_states(),
            clients=4,
            requests=250,
            max_seconds=30,
        )
    assert result.torn, result.to_document()


@pytest.mark.usefixtures("quiet_uvicorn")
def test_malformed_requests_never_get_a_5xx(load_test: ModuleType) -> None:
    with serve_in_thread(ServerConfig(api_version="9.0", state=universe(load_test))) as server:
        result = load_test.run_fuzz(server.port, count=150, seed=3)
    figures = result.to_document()
    print("fuzz:", figures)
    assert result.server_errors == [], figures
    assert result.statuses["400"] > 100, figures  # the nasty inputs were really refused


@pytest.mark.usefixtures("quiet_uvicorn")
def test_the_fuzzer_catches_a_server_that_crashes_on_bad_utf8(load_test: ModuleType) -> None:
    config = ServerConfig(
        api_version="9.0", state=universe(load_test), behaviour=CrashesOnBadUtf8()
    )
    with serve_in_thread(config) as server:
        result = load_test.run_fuzz(server.port, count=30, seed=3)
    assert "percent-encoded invalid UTF-8: 500" in result.server_errors, result.to_document()
