"""The list endpoint over HTTP (in-process): matching, the cap, visibility, errors, headers."""

from __future__ import annotations

from typing import Any

import pytest

from snapconform.contracts import default_contracts
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME, build_task
from snapconform.state import SYSTEM_READ, Principal, State

TASKS = "/api/snapservice/tasks"
ADMIN = (ADMIN_USERNAME, ADMIN_PASSWORD)
LIMITED = ("limited@vsphere.local", "limited-pass")
NOPRIVS = ("noprivs@vsphere.local", "noprivs-pass")
TRICKY_USERS = (
    "VSPHERE.LOCAL\\Administrator",
    "ops+robot@corp.example",
    "svc account",
    "jürgen@corp.example",
)


def state_of(tasks: list[dict[str, Any]], limited_view: frozenset[str] | None = None) -> State:
    return State(
        tasks=tuple(tasks),
        principals=(
            Principal(*ADMIN, frozenset({SYSTEM_READ})),
            Principal(*LIMITED, frozenset({SYSTEM_READ}), limited_view),
            Principal(*NOPRIVS, frozenset({"System.View"})),
        ),
    )


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return [item["task"] for item in response.json()["items"]]


def assert_error(response: Any, status: int, schema: str, error_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert default_contracts().errors(schema, body) == []
    assert body["error_type"] == error_type
    assert body["messages"] and all(m["id"] and m["default_message"] for m in body["messages"])
    return body


@pytest.fixture
def tricky(client_for: Any) -> Any:
    tasks = [build_task(f"u{i}", user=user) for i, user in enumerate(TRICKY_USERS)]
    tasks.append(build_task("system", user=None))
    return client_for(state=state_of(tasks))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("users=VSPHERE.LOCAL%5CAdministrator", ["u0"]),
        ("users=ops%2Brobot%40corp.example", ["u1"]),
        ("users=ops+robot%40corp.example", []),  # form decoding: '+' is a space
        ("users=svc%20account", ["u2"]),
        ("users=svc+account", ["u2"]),
        ("users=j%C3%BCrgen%40corp.example", ["u3"]),
        ("users=J%C3%BCrgen%40corp.example", []),
        ("users=vsphere.local%5Cadministrator", []),
        ("users=svc", []),
        ("users=svc%20account&users=ops%2Brobot%40corp.example", ["u1", "u2"]),
        ("", ["u0", "u1", "u2", "u3", "system"]),
    ],
)
def test_users_match_exactly_after_percent_decoding(
    tricky: Any, query: str, expected: list[str]
) -> None:
    assert ids(tricky.get(f"{TASKS}?{query}", auth=ADMIN)) == expected


def test_and_across_fields_or_within(client_for: Any) -> None:
    tasks = [
        build_task("a", status="RUNNING", service="s1", operation="create"),
        build_task("b", status="FAILED", service="s1", operation="delete"),
        build_task("c", status="RUNNING", service="s2", operation="create"),
    ]
    client = client_for(state=state_of(tasks))
    assert ids(client.get(f"{TASKS}?status=RUNNING&status=FAILED", auth=ADMIN)) == ["a", "b", "c"]
    assert ids(client.get(f"{TASKS}?status=RUNNING&services=s1", auth=ADMIN)) == ["a"]
    assert ids(client.get(f"{TASKS}?tasks=a&tasks=c&operations=create", auth=ADMIN)) == ["a", "c"]
    assert ids(client.get(f"{TASKS}?tasks=a&services=s2", auth=ADMIN)) == []


def cap_store(matching: int, others: int = 600) -> list[dict[str, Any]]:
    return [build_task(f"m{i}", status="RUNNING") for i in range(matching)] + [
        build_task(f"o{i}", status="SUCCEEDED") for i in range(others)
    ]


@pytest.mark.parametrize("matching", [999, 1000])
def test_up_to_the_cap_everything_is_returned(client_for: Any, matching: int) -> None:
    client = client_for(state=state_of(cap_store(matching)))
    assert ids(client.get(f"{TASKS}?status=RUNNING", auth=ADMIN)) == [
        f"m{i}" for i in range(matching)
    ]


def test_over_the_cap_is_resource_inaccessible(client_for: Any) -> None:
    client = client_for(state=state_of(cap_store(1001)))
    response = client.get(f"{TASKS}?status=RUNNING", auth=ADMIN)
    body = assert_error(response, 500, "ResourceInaccessible", "RESOURCE_INACCESSIBLE")
    assert "1001" in body["messages"][0]["default_message"]
    # The store has 1601 tasks, but a filter matching fewer than 1000 is fine.
    assert len(ids(client.get(f"{TASKS}?status=SUCCEEDED", auth=ADMIN))) == 600


def test_the_cap_counts_visible_tasks_only(client_for: Any) -> None:
    tasks = cap_store(1200, others=0)
    visible = frozenset(f"m{i}" for i in range(1000))
    client = client_for(state=state_of(tasks, limited_view=visible))
    assert len(ids(client.get(TASKS, auth=LIMITED))) == 1000
    assert_error(
        client.get(TASKS, auth=ADMIN), 500, "ResourceInaccessible", "RESOURCE_INACCESSIBLE"
    )


def test_default_universe_shows_the_cap(client_for: Any) -> None:
    client = client_for()
    assert client.app.state.runtime.snapshot.store.__len__() == 1500
    assert_error(
        client.get(TASKS, auth=ADMIN), 500, "ResourceInaccessible", "RESOURCE_INACCESSIBLE"
    )


def test_visibility_hides_tasks(client_for: Any) -> None:
    tasks = [build_task(f"t{i}") for i in range(6)]
    client = client_for(state=state_of(tasks, limited_view=frozenset({"t1", "t4"})))
    assert ids(client.get(TASKS, auth=LIMITED)) == ["t1", "t4"]
    assert ids(client.get(f"{TASKS}?tasks=t2&tasks=t4", auth=LIMITED)) == ["t4"]
    assert ids(client.get(f"{TASKS}?tasks=t2", auth=LIMITED)) == []
    assert len(ids(client.get(TASKS, auth=ADMIN))) == 6


@pytest.mark.parametrize(
    "query",
    ["status=running", "status=Running", "status=DONE", "bogus=1", "users=%zz", "users=%ff"],
)
def test_invalid_queries_are_400_invalid_argument(tricky: Any, query: str) -> None:
    assert_error(
        tricky.get(f"{TASKS}?{query}", auth=ADMIN), 400, "InvalidArgument", "INVALID_ARGUMENT"
    )


@pytest.mark.parametrize(
    ("api_version", "has_challenge"), [("8.0.3", False), ("9.0", False), ("9.1", True)]
)
def test_without_system_read_is_403(client_for: Any, api_version: str, has_challenge: bool) -> None:
    client = client_for(state=state_of([build_task("t")]), api_version=api_version)
    body = assert_error(client.get(TASKS, auth=NOPRIVS), 403, "Unauthorized", "UNAUTHORIZED")
    assert ("challenge" in body) is has_challenge
    if has_challenge:
        assert body["challenge"] == 'Basic realm="snapconform"'


@pytest.mark.parametrize(
    "auth",
    [None, (ADMIN_USERNAME, "wrong"), ("nobody@vsphere.local", ADMIN_PASSWORD), ("", "")],
)
def test_missing_or_bad_credentials_are_401_with_challenge(tricky: Any, auth: Any) -> None:
    response = tricky.get(TASKS, auth=auth)
    body = assert_error(response, 401, "Unauthenticated", "UNAUTHENTICATED")
    assert body["challenge"] == 'Basic realm="snapconform"'
    assert response.headers["www-authenticate"] == body["challenge"]


@pytest.mark.parametrize("header", ["Basic", "Basic !!!", "Basic Zm9v", "Bearer abc", "Digest x"])
def test_garbled_authorization_is_401(tricky: Any, header: str) -> None:
    response = tricky.get(TASKS, headers={"authorization": header})
    assert_error(response, 401, "Unauthenticated", "UNAUTHENTICATED")


def test_unknown_session_id_is_401(tricky: Any) -> None:
    response = tricky.get(TASKS, headers={"vmware-api-session-id": "not-a-session"})
    assert_error(response, 401, "Unauthenticated", "UNAUTHENTICATED")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_other_methods_are_405_with_allow(tricky: Any, method: str) -> None:
    response = tricky.request(method, TASKS, auth=ADMIN)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.headers["content-type"] == "application/json"
    assert default_contracts().errors("Error", response.json()) == []


def test_unknown_paths_are_json_404(tricky: Any) -> None:
    response = tricky.get("/api/snapservice/task", auth=ADMIN)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert default_contracts().errors("Error", response.json()) == []


@pytest.mark.parametrize(("named", "status"), [(1000, 200), (1001, 500)])
def test_a_tasks_filter_naming_many_ids_reaches_the_cap(
    client_for: Any, named: int, status: int
) -> None:
    tasks = [build_task(f"task-{i:05d}") for i in range(1200)]
    client = client_for(state=state_of(tasks))
    query = "&".join(f"tasks={item['task']}" for item in tasks[:named])
    response = client.get(f"{TASKS}?{query}", auth=ADMIN)
    assert response.status_code == status
    if status == 200:
        assert len(response.json()["items"]) == named
