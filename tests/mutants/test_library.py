"""The mutant library itself: well-formed declarations, and every mutant really deviates.

Fast (in-process, no engine): a fixed probe sequence is sent to the faithful server and to each
mutant over the same state; a mutant whose observations equal the faithful server's would be a
mutant nobody could ever catch, so the test fails for it.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from snapconform.mutants import ALL_MODES, AREAS, MUTANTS, Mutant, UnknownMutantError, get
from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    LIMITED_PASSWORD,
    LIMITED_USERNAME,
    NOPRIVS_PASSWORD,
    NOPRIVS_USERNAME,
    default_principals,
    default_state,
)
from snapconform.state import State
from tests.mutants.conftest import ClientFactory

SESSION_HEADER = "vmware-api-session-id"
TASKS = "/api/snapservice/tasks"
SESSIONS = "/api/snapservice/sessions"


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


ADMIN = basic(ADMIN_USERNAME, ADMIN_PASSWORD)
NOPRIVS = basic(NOPRIVS_USERNAME, NOPRIVS_PASSWORD)
LIMITED = basic(LIMITED_USERNAME, LIMITED_PASSWORD)
WRONG_PASSWORD = basic(ADMIN_USERNAME, "not-the-password")


@dataclass(frozen=True)
class Observation:
    label: str
    status: int
    content_type: str | None
    www_authenticate: str | None
    body: bytes = field(repr=False)


# Cached: generating the four universes (1500, 1000, 1001 and 6601 tasks) took ~0.9 CPU s of
# each mutant's ~1.5 s; a State and its task dicts are never changed (snapconform.state), so
# every mutant and the faithful server are served the very same data.
@functools.cache
def _state_of_size(size: int) -> State:
    tasks = default_state(seed=7, size=size).tasks
    return State(tasks=tasks, principals=default_principals(list(tasks)))


@functools.cache
def _default_state() -> State:
    return default_state(0)


def _observe_default(client: object, state: State) -> list[Observation]:
    """The probe sequence over the default universe (1500 tasks)."""
    from starlette.testclient import TestClient

    assert isinstance(client, TestClient)
    first = state.tasks[0]
    task_id = first["task"]
    service = first["info"]["service"]
    operation = first["info"]["operation"]
    probes: list[tuple[str, str, str, dict[str, str]]] = [
        ("no credentials", "GET", TASKS, {}),
        ("wrong password", "GET", TASKS, WRONG_PASSWORD),
        ("bogus session", "GET", TASKS, {SESSION_HEADER: "0" * 40}),
        ("unprivileged", "GET", TASKS + "?status=RUNNING", NOPRIVS),
        ("limited, empty filter", "GET", TASKS, LIMITED),
        ("limited, users filter", "GET", TASKS + "?users=svc+account", LIMITED),
        ("empty filter over the cap", "GET", TASKS, ADMIN),
        ("bad status", "GET", TASKS + "?status=NOT_A_STATUS", ADMIN),
        ("lower-case status", "GET", TASKS + "?status=running", ADMIN),
        ("unknown task id", "GET", TASKS + "?tasks=no-such-task", ADMIN),
        ("task id prefix", "GET", TASKS + f"?tasks={task_id[:8]}", ADMIN),
        ("task id upper case", "GET", TASKS + f"?tasks={task_id.upper()}", ADMIN),
        (
            "two task ids",
            "GET",
            TASKS + f"?tasks={task_id}&tasks={state.tasks[1]['task']}",
            ADMIN,
        ),
        (
            "service and operation",
            "GET",
            TASKS + f"?services={service}&operations={operation}",
            ADMIN,
        ),
        ("two users", "GET", TASKS + "?users=svc+account&users=jürgen%40corp.example", ADMIN),
        ("user with @", "GET", TASKS + "?users=backup-admin%40corp.example", ADMIN),
        ("two statuses", "GET", TASKS + "?status=BLOCKED&status=PENDING", ADMIN),
        (
            "three statuses, over the cap",
            "GET",
            TASKS + "?status=SUCCEEDED&status=FAILED&status=RUNNING",
            ADMIN,
        ),
        ("status and user", "GET", TASKS + "?status=FAILED&users=svc%20account", ADMIN),
        ("services alone", "GET", TASKS + "?services=com.vmware.snapservice.site", ADMIN),
        ("operations alone", "GET", TASKS + "?operations=unlink", ADMIN),
        *(
            (f"status {status}", "GET", TASKS + f"?status={status}", ADMIN)
            for status in ("SUCCEEDED", "FAILED", "RUNNING")
        ),
        *((f"users repeated #{n}", "GET", TASKS + "?users=svc+account", ADMIN) for n in range(4)),
        *((f"over the cap #{n}", "GET", TASKS, ADMIN) for n in range(5)),
        *((f"blocked #{n}", "GET", TASKS + "?status=BLOCKED", ADMIN) for n in range(3)),
        ("nothing matches", "GET", TASKS + "?users=nobody", ADMIN),
        # a user in another case: exact users list nothing, case-insensitive ones that user's
        ("a user in another case", "GET", TASKS + "?users=SVC+ACCOUNT", ADMIN),
    ]
    observations = [_send(client, *probe) for probe in probes]
    observations += _session_probes(client)
    observations += _fault_probes(client)
    return observations


def _send(
    client: object, label: str, method: str, url: str, headers: dict[str, str]
) -> Observation:
    response = client.request(method, url, headers=headers)  # type: ignore[attr-defined]
    return Observation(
        label,
        response.status_code,
        response.headers.get("content-type"),
        response.headers.get("www-authenticate"),
        response.content,
    )


def _session_probes(client: object) -> list[Observation]:
    created = client.post(SESSIONS, headers=ADMIN)  # type: ignore[attr-defined]
    out = [Observation("login", created.status_code, None, None, b"")]
    token = created.json() if created.status_code == 201 else ""
    ended = client.delete(SESSIONS, headers={SESSION_HEADER: token})  # type: ignore[attr-defined]
    out.append(Observation("logout", ended.status_code, None, None, b""))
    out.append(_send(client, "after logout", "GET", TASKS, {SESSION_HEADER: token}))
    return out


def _fault_probes(client: object) -> list[Observation]:
    out: list[Observation] = []
    for error_type in ("SERVICE_UNAVAILABLE", "ERROR", "RESOURCE_INACCESSIBLE"):
        armed = client.post(  # type: ignore[attr-defined]
            "/control/faults", json={"error_type": error_type, "count": 1}
        )
        assert armed.status_code == 204
        out.append(_send(client, f"fault {error_type}", "GET", TASKS + "?status=FAILED", ADMIN))
    return out


def _observe_cap_edges(client_for: ClientFactory, behaviour: Behaviour) -> list[Observation]:
    """Exactly 1000 and exactly 1001 tasks, empty filter."""
    out: list[Observation] = []
    for size in (1000, 1001):
        client = client_for(ServerConfig(state=_state_of_size(size), behaviour=behaviour))
        out.append(_send(client, f"{size} tasks", "GET", TASKS, ADMIN))
    # The limited principal sees every sixth task: 1101 of 6601, over the cap for it too.
    client = client_for(ServerConfig(state=_state_of_size(6601), behaviour=behaviour))
    out.append(_send(client, "limited, 1101 visible", "GET", TASKS, LIMITED))
    return out


def observe(client_for: ClientFactory, behaviour_factory: type[Behaviour] | Mutant) -> list:
    make = (
        behaviour_factory.behaviour if isinstance(behaviour_factory, Mutant) else behaviour_factory
    )
    state = _default_state()
    # 9.0: the session calls exist (auth-logout-ignored deviates there)
    client = client_for(ServerConfig(state=state, behaviour=make(), api_version="9.0"))
    return [*_observe_default(client, state), *_observe_cap_edges(client_for, make())]


@pytest.fixture(scope="module")
def faithful_observations() -> Sequence[Observation]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from snapconform.server.app import create_app

    clients: list[TestClient] = []

    def build(config: ServerConfig) -> TestClient:
        client = TestClient(create_app(config), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    observations = observe(build, Behaviour)
    for client in clients:
        client.__exit__(None, None, None)
    return observations


def test_library_size_and_areas() -> None:
    assert len(MUTANTS) >= 40
    by_area = {area: [m for m in MUTANTS.values() if m.area == area] for area in AREAS}
    assert all(by_area.values()), {area: len(ms) for area, ms in by_area.items()}


def test_every_filter_field_has_an_ignoring_mutant() -> None:
    from snapconform.server.store import FILTER_FIELDS

    for field_name in FILTER_FIELDS:
        assert f"filter-ignores-{field_name}" in MUTANTS


@pytest.mark.parametrize("mutant", MUTANTS.values(), ids=list(MUTANTS))
def test_declaration(mutant: Mutant) -> None:
    from snapconform.engine.requirements import BY_ID

    unknown = [r for r in mutant.requirements if r not in BY_ID]
    assert not unknown, f"{mutant.name} names requirements not in the catalogue: {unknown}"
    assert mutant.modes <= ALL_MODES
    assert mutant.description and "\n" not in mutant.description
    assert mutant.to_document()["seam"], f"{mutant.name} overrides no Behaviour method"


def test_every_engine_requirement_has_a_mutant() -> None:
    from snapconform.engine.requirements import BY_ID

    named = {r for m in MUTANTS.values() for r in m.requirements}
    # FUZZ-SCHEMATHESIS runs schemathesis' own checks: every contract mutant is its target too,
    # but no mutant names it as the requirement that must catch it.
    missing = sorted(set(BY_ID) - named - {"FUZZ-SCHEMATHESIS"})
    assert not missing, f"requirements no mutant exercises: {missing}"


def test_unknown_name_suggests() -> None:
    with pytest.raises(UnknownMutantError, match="did you mean cap-truncates"):
        get("cap-truncate")
    with pytest.raises(UnknownMutantError, match="selftest --list"):
        get("zzzzzz")


@pytest.mark.parametrize("mutant", MUTANTS.values(), ids=list(MUTANTS))
def test_mutant_deviates_from_faithful(
    mutant: Mutant, client_for: ClientFactory, faithful_observations: Sequence[Observation]
) -> None:
    observed = observe(client_for, mutant)
    differing = [
        got.label for got, want in zip(observed, faithful_observations, strict=True) if got != want
    ]
    assert differing, f"{mutant.name} answers every probe exactly like the faithful server"


def test_faithful_is_deterministic(
    client_for: ClientFactory, faithful_observations: Sequence[Observation]
) -> None:
    # The comparison above is meaningful only if the faithful server repeats itself.
    assert observe(client_for, Behaviour) == list(faithful_observations)
