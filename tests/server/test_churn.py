"""--churn: the pure step keeps every task valid and never changes a terminal task."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import httpx

from snapconform.contracts import default_contracts
from snapconform.server.app import ServerConfig
from snapconform.server.churn import churn_step
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    DEFAULT_EPOCH,
    default_state,
    format_datetime,
)
from snapconform.server.runner import serve_in_thread
from snapconform.state import state_to_document

TERMINAL = {"SUCCEEDED", "FAILED"}


def test_churn_steps_keep_tasks_valid_and_terminal_tasks_frozen() -> None:
    validator = default_contracts().validator("ListItem")
    state = default_state(seed=3, size=200)
    rng = random.Random(11)
    now = DEFAULT_EPOCH
    seen_statuses: set[tuple[str, str]] = set()
    for _ in range(60):
        now += timedelta(seconds=1, milliseconds=rng.randint(0, 999))
        successor = churn_step(state, rng, now, events=5)
        before = {item["task"]: item for item in state.tasks}
        assert [item["task"] for item in successor.tasks[: len(state.tasks)]] == list(before)
        assert len({item["task"] for item in successor.tasks}) == len(successor.tasks)
        for item in successor.tasks:
            old = before.get(item["task"])
            if old is not None and old["info"]["status"] in TERMINAL:
                assert item is old
            if old is not None and item is not old:
                seen_statuses.add((old["info"]["status"], item["info"]["status"]))
                assert item["info"]["start_time"] >= (old["info"].get("start_time") or "")
            if old is None:  # new this step (it may already have advanced within the step)
                assert item["info"].get("start_time") in (None, format_datetime(now))
        state = successor
    for item in state.tasks:
        assert not list(validator.iter_errors(item)), item
    assert {
        ("PENDING", "RUNNING"),
        ("RUNNING", "SUCCEEDED"),
        ("RUNNING", "FAILED"),
    } <= seen_statuses
    assert not {(old, new) for old, new in seen_statuses if old in TERMINAL}


def test_churn_step_does_not_mutate_its_input() -> None:
    state = default_state(seed=1, size=50)
    document = state_to_document(state)
    churn_step(state, random.Random(0), DEFAULT_EPOCH, events=50)
    assert state_to_document(state) == document


def test_churning_server_grows_and_sessions_survive() -> None:
    config = ServerConfig(
        state=default_state(size=100), churn_rate=200.0, churn_interval=0.05, api_version="9.0"
    )
    with serve_in_thread(config) as server:
        before = len(server.runtime.snapshot.store)
        auth = (ADMIN_USERNAME, ADMIN_PASSWORD)
        token = httpx.post(f"{server.base_url}/api/snapservice/sessions", auth=auth).json()
        deadline = time.monotonic() + 5
        while len(server.runtime.snapshot.store) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.runtime.snapshot.store) > before
        response = httpx.get(
            f"{server.base_url}/api/snapservice/tasks?status=PENDING",
            headers={"vmware-api-session-id": token},
        )
        assert response.status_code == 200
        assert default_contracts().errors("ListResult", response.json()) == []
