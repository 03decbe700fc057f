"""Sessions (create/get/delete, basic) and the control protocol (state, faults)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from snapconform.contracts import default_contracts
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME, build_task
from snapconform.state import SYSTEM_READ, Principal, State, state_to_document

TASKS = "/api/snapservice/tasks"
SESSIONS = "/api/snapservice/sessions"
SESSION_HEADER = "vmware-api-session-id"
ADMIN = (ADMIN_USERNAME, ADMIN_PASSWORD)


def small_state(*task_ids: str) -> State:
    return State(
        tasks=tuple(build_task(task_id) for task_id in task_ids),
        principals=(Principal(*ADMIN, frozenset({SYSTEM_READ})),),
    )


@pytest.fixture
def client(client_for: Any) -> Any:
    return client_for(state=small_state("a", "b"), api_version="9.0")  # sessions: 9.0+


def login(client: Any) -> str:
    response = client.post(SESSIONS, auth=ADMIN)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    token = response.json()
    assert default_contracts().errors("SessionToken", token) == []
    return token


def test_session_lifecycle(client: Any) -> None:
    token = login(client)
    headers = {SESSION_HEADER: token}
    assert client.get(TASKS, headers=headers).status_code == 200
    info = client.get(SESSIONS, headers=headers)
    assert info.status_code == 200
    assert default_contracts().errors("SessionInfo", info.json()) == []
    assert info.json()["user"] == ADMIN_USERNAME
    assert client.delete(SESSIONS, headers=headers).status_code == 204
    for response in (
        client.get(TASKS, headers=headers),
        client.get(SESSIONS, headers=headers),
        client.delete(SESSIONS, headers=headers),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Basic realm="snapconform"'
        assert default_contracts().errors("Unauthenticated", response.json()) == []


def test_tokens_are_distinct_and_independent(client: Any) -> None:
    first, second = login(client), login(client)
    assert first != second
    assert client.delete(SESSIONS, headers={SESSION_HEADER: first}).status_code == 204
    assert client.get(TASKS, headers={SESSION_HEADER: second}).status_code == 200


@pytest.mark.parametrize("auth", [None, (ADMIN_USERNAME, "nope"), ("ghost", "x")])
def test_login_needs_valid_basic_credentials(client: Any, auth: Any) -> None:
    response = client.post(SESSIONS, auth=auth)
    assert response.status_code == 401
    assert response.json()["challenge"] == response.headers["www-authenticate"]


def test_session_calls_without_a_session_are_401(client: Any) -> None:
    assert client.get(SESSIONS).status_code == 401
    assert client.delete(SESSIONS).status_code == 401
    # Basic credentials do not stand in for a session on GET/DELETE sessions.
    assert client.get(SESSIONS, auth=ADMIN).status_code == 401


def test_sessions_405_with_allow(client: Any) -> None:
    response = client.put(SESSIONS, auth=ADMIN)
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, POST"


def test_state_put_replaces_everything_and_ends_sessions(client: Any) -> None:
    token = login(client)
    document = state_to_document(small_state("x", "y", "z"))
    assert client.put("/control/state", json=document).status_code == 204
    assert client.get(TASKS, headers={SESSION_HEADER: token}).status_code == 401
    listed = client.get(TASKS, auth=ADMIN).json()["items"]
    assert [item["task"] for item in listed] == ["x", "y", "z"]
    got = client.get("/control/state")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/json"
    assert got.json() == document


@pytest.mark.parametrize(
    ("document", "mentions"),
    [
        ({"tasks": []}, "principals"),
        ({"tasks": [{"task": "t"}], "principals": []}, "$.tasks[0]"),
        (
            {"tasks": [build_task("d"), build_task("d")], "principals": []},
            "duplicate task id 'd'",
        ),
        (
            {"tasks": [], "principals": [{"username": "", "password": "p", "privileges": []}]},
            "$.principals[0].username",
        ),
        ({"tasks": [], "principals": [], "extra": 1}, "extra"),
    ],
)
def test_invalid_state_is_400_and_old_state_kept(client: Any, document: Any, mentions: str) -> None:
    before = client.get("/control/state").json()
    response = client.put("/control/state", json=document)
    assert response.status_code == 400
    body = response.json()
    assert default_contracts().errors("InvalidArgument", body) == []
    assert mentions in body["messages"][0]["default_message"]
    assert client.get("/control/state").json() == before


def test_state_errors_never_echo_passwords(client: Any) -> None:
    document = {"tasks": [], "principals": {"username": "u", "password": "hunter2-secret"}}
    response = client.put("/control/state", json=document)
    assert response.status_code == 400
    assert "hunter2-secret" not in response.text
    wrong_type = {
        "tasks": [],
        "principals": [{"username": "u", "password": 12345678, "privileges": []}],
    }
    response = client.put("/control/state", json=wrong_type)
    assert response.status_code == 400
    assert "12345678" not in response.text


def test_state_body_not_json_is_400(client: Any) -> None:
    response = client.put("/control/state", content=b"{nope")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("error_type", "status", "schema"),
    [
        ("SERVICE_UNAVAILABLE", 503, "ServiceUnavailable"),
        ("ERROR", 500, "Error"),
        ("RESOURCE_INACCESSIBLE", 500, "ResourceInaccessible"),
    ],
)
def test_faults_fail_the_next_n_authorised_requests(
    client: Any, error_type: str, status: int, schema: str
) -> None:
    assert (
        client.post("/control/faults", json={"error_type": error_type, "count": 2}).status_code
        == 204
    )
    # Unauthenticated requests do not consume a fault.
    assert client.get(TASKS).status_code == 401
    for _ in range(2):
        response = client.get(TASKS, auth=ADMIN)
        assert response.status_code == status
        assert response.json()["error_type"] == error_type
        assert default_contracts().errors(schema, response.json()) == []
    assert client.get(TASKS, auth=ADMIN).status_code == 200


@pytest.mark.parametrize(
    "document",
    [
        {"error_type": "TIMED_OUT", "count": 1},
        {"error_type": "ERROR"},
        {"error_type": "ERROR", "count": -1},
    ],
)
def test_invalid_faults_are_400(client: Any, document: Any) -> None:
    response = client.post("/control/faults", content=json.dumps(document))
    assert response.status_code == 400
    assert default_contracts().errors("InvalidArgument", response.json()) == []
    assert client.get(TASKS, auth=ADMIN).status_code == 200


def test_control_can_be_switched_off(client_for: Any) -> None:
    client = client_for(state=small_state("a"), control=False, api_version="9.0")
    assert client.get("/control/state").status_code == 404
    assert client.put("/control/state", json={}).status_code == 404


def test_a_dead_session_header_is_not_rescued_by_basic(client: Any) -> None:
    token = login(client)
    assert client.delete(SESSIONS, headers={SESSION_HEADER: token}).status_code == 204
    response = client.get(TASKS, headers={SESSION_HEADER: token}, auth=ADMIN)
    assert response.status_code == 401
