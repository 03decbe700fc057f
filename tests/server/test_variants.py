"""The reference server's documented variants (``--variant``): each plays its one alternative,
the registry composes them, and the docs list them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME, build_task
from snapconform.server.variants import (
    VARIANTS,
    UnknownVariantError,
    behaviour_class_with,
    behaviour_with,
    catalogue_markdown,
)
from snapconform.state import SYSTEM_READ, Principal, State

TASKS = "/api/snapservice/tasks"
ADMIN = (ADMIN_USERNAME, ADMIN_PASSWORD)
ROOT = Path(__file__).resolve().parents[2]


def state_of(tasks: list[dict[str, Any]], *principals: Principal) -> State:
    return State(tuple(tasks), (Principal(*ADMIN, frozenset({SYSTEM_READ})), *principals))


TASK_LIST = [
    build_task("a", user="Svc Account", service="svc.one", status="RUNNING"),
    build_task("b", user="svc account", service="svc.one"),
    build_task("c", user="other", service="svc.two"),
]


def ids(response: Any) -> list[str]:
    return [item["task"] for item in response.json()["items"]]


def test_requires_tasks_or_services(client_for: Any) -> None:
    client = client_for(
        state=state_of(TASK_LIST), behaviour=behaviour_with(["requires-tasks-or-services"])
    )
    for query in ("", "?status=SUCCEEDED", "?users=other"):
        response = client.get(TASKS + query, auth=ADMIN)
        assert response.status_code == 400
        assert response.json()["error_type"] == "INVALID_ARGUMENT"
    assert ids(client.get(f"{TASKS}?services=svc.one", auth=ADMIN)) == ["a", "b"]
    assert ids(client.get(f"{TASKS}?tasks=c", auth=ADMIN)) == ["c"]


def test_refuses_repeated_values(client_for: Any) -> None:
    client = client_for(
        state=state_of(TASK_LIST), behaviour=behaviour_with(["refuses-repeated-values"])
    )
    response = client.get(f"{TASKS}?status=RUNNING&status=RUNNING", auth=ADMIN)
    assert response.status_code == 400
    assert "duplicate element" in response.json()["messages"][0]["default_message"]
    assert ids(client.get(f"{TASKS}?status=RUNNING&status=SUCCEEDED", auth=ADMIN)) == [
        "a",
        "b",
        "c",
    ]


def test_unknown_status_matches_none(client_for: Any) -> None:
    client = client_for(
        state=state_of(TASK_LIST), behaviour=behaviour_with(["unknown-status-matches-none"])
    )
    assert ids(client.get(f"{TASKS}?status=running", auth=ADMIN)) == []
    assert ids(client.get(f"{TASKS}?status=running&status=RUNNING", auth=ADMIN)) == ["a"]


def test_users_case_insensitive_but_identifiers_exact(client_for: Any) -> None:
    client = client_for(
        state=state_of(TASK_LIST), behaviour=behaviour_with(["users-case-insensitive"])
    )
    assert ids(client.get(f"{TASKS}?users=SVC%20ACCOUNT", auth=ADMIN)) == ["a", "b"]
    assert ids(client.get(f"{TASKS}?services=SVC.ONE", auth=ADMIN)) == []


def test_unknown_task_ids(client_for: Any) -> None:
    inaccessible = client_for(
        state=state_of(TASK_LIST), behaviour=behaviour_with(["unknown-task-id-inaccessible"])
    )
    response = inaccessible.get(f"{TASKS}?tasks=a&tasks=zzz", auth=ADMIN)
    assert (response.status_code, response.json()["error_type"]) == (500, "RESOURCE_INACCESSIBLE")
    assert ids(inaccessible.get(f"{TASKS}?tasks=a&operations=nothing", auth=ADMIN)) == []
    refused = client_for(
        state=state_of(TASK_LIST), behaviour=behaviour_with(["refuses-unknown-identifiers"])
    )
    for query in ("tasks=zzz", "operations=nothing", "users=nobody", "services=svc.none"):
        assert refused.get(f"{TASKS}?{query}", auth=ADMIN).status_code == 400, query
    assert ids(refused.get(f"{TASKS}?services=svc.two", auth=ADMIN)) == ["c"]


def test_internal_server_error_type(client_for: Any) -> None:
    client = client_for(
        state=state_of(TASK_LIST), behaviour=behaviour_with(["internal-server-error"])
    )
    assert (
        client.post("/control/faults", json={"error_type": "ERROR", "count": 1}).status_code == 204
    )
    response = client.get(TASKS, auth=ADMIN)
    assert (response.status_code, response.json()["error_type"]) == (500, "INTERNAL_SERVER_ERROR")


def test_cap_counts_all_matching(client_for: Any) -> None:
    tasks = [build_task(f"t{i}", service="svc.many") for i in range(1001)]
    limited = Principal("limited", "pw", frozenset({SYSTEM_READ}), frozenset({"t1", "t2"}))
    client = client_for(
        state=state_of(tasks, limited), behaviour=behaviour_with(["cap-counts-all-matching"])
    )
    response = client.get(f"{TASKS}?services=svc.many", auth=("limited", "pw"))
    assert (response.status_code, response.json()["error_type"]) == (500, "RESOURCE_INACCESSIBLE")
    assert ids(client.get(f"{TASKS}?tasks=t1", auth=("limited", "pw"))) == ["t1"]


def test_variants_compose_and_conflicts_are_refused() -> None:
    combined = behaviour_class_with(["requires-tasks-or-services", "users-case-insensitive"])
    assert len(combined.__mro__) == 5  # both variants, Behaviour, object and the combination
    with pytest.raises(ValueError, match="same question"):
        behaviour_class_with(["unknown-task-id-inaccessible", "refuses-unknown-identifiers"])
    with pytest.raises(UnknownVariantError, match="did you mean"):
        behaviour_class_with(["requires-task-or-services"])


def test_every_variant_is_listed_by_serve_help_and_the_docs() -> None:
    text = (ROOT / "docs" / "reference-server.md").read_text(encoding="utf-8")
    assert catalogue_markdown() in text
    completed = subprocess.run(
        [sys.executable, "-m", "snapconform", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    flat = " ".join(completed.stdout.split())
    for name in VARIANTS:
        assert name in flat.replace("- ", "-"), name


def test_serve_refuses_an_unknown_variant_clearly() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "snapconform", "serve", "--port", "0", "--variant", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "unknown variant 'nope'" in completed.stderr
    assert "Traceback" not in completed.stderr
