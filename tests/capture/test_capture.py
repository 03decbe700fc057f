"""snapconform capture: a live server's visible data as a state document, read back exactly.

Every test runs the reference server on loopback and captures it through the engine's Target.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import snapconform.capture as capture_module
import snapconform.capture_cli as capture_cli
from snapconform.capture import CaptureError, capture
from snapconform.cli import main as cli_main
from snapconform.config import Credentials, RunConfig
from snapconform.contracts import default_contracts
from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour, invalid
from snapconform.server.churn import churn_step
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    LIMITED_PASSWORD,
    LIMITED_USERNAME,
    NOPRIVS_PASSWORD,
    NOPRIVS_USERNAME,
    TERMINAL_STATUSES,
    default_state,
)
from snapconform.server.runner import ServerHandle, serve_in_thread
from snapconform.state import State, load_state_file

LIMITED_VARIABLE = "CAPTURE_TEST_LIMITED_PASSWORD"
ENVIRONMENT = {
    "SNAPCONFORM_PASSWORD": ADMIN_PASSWORD,
    "SNAPCONFORM_UNPRIVILEGED_PASSWORD": NOPRIVS_PASSWORD,
    LIMITED_VARIABLE: LIMITED_PASSWORD,
}


@pytest.fixture
def server() -> Iterator[ServerHandle]:
    with serve_in_thread(ServerConfig(control=False)) as handle:
        yield handle


def config_for(handle: ServerHandle, **changes: Any) -> RunConfig:
    values: dict[str, Any] = {
        "base_url": handle.base_url,
        "credentials": Credentials(ADMIN_USERNAME, ADMIN_PASSWORD),
        "unprivileged": Credentials(NOPRIVS_USERNAME, NOPRIVS_PASSWORD),
    }
    values.update(changes)
    return RunConfig(**values)


LIMITED = [(Credentials(LIMITED_USERNAME, LIMITED_PASSWORD), LIMITED_VARIABLE)]


def by_id(items: Any) -> dict[str, Any]:
    return {item["task"]: item for item in items}


def test_capture_reads_back_each_principals_universe_exactly(server: ServerHandle) -> None:
    served: State = server.runtime.snapshot.state
    result = capture(config_for(server), principals=LIMITED)

    document = result.document
    assert default_contracts().errors("state", document) == []
    assert by_id(document["tasks"]) == by_id(served.tasks)  # every task, every field
    principals = {p["username"]: p for p in document["principals"]}
    assert set(principals) == {ADMIN_USERNAME, LIMITED_USERNAME, NOPRIVS_USERNAME}
    admin, limited = served.principal(ADMIN_USERNAME), served.principal(LIMITED_USERNAME)
    assert admin is not None and limited is not None and limited.visible_tasks is not None
    assert "visible_tasks" not in principals[ADMIN_USERNAME]  # sees everything captured
    assert set(principals[LIMITED_USERNAME]["visible_tasks"]) == limited.visible_tasks
    assert principals[LIMITED_USERNAME]["privileges"] == ["System.Read"]
    assert principals[NOPRIVS_USERNAME]["privileges"] == []  # it was answered 403
    # passwords are placeholders naming the variables, never the secrets
    assert principals[ADMIN_USERNAME]["password"] == "${SNAPCONFORM_PASSWORD}"
    assert principals[LIMITED_USERNAME]["password"] == "${" + LIMITED_VARIABLE + "}"
    text = json.dumps(document)
    assert all(secret not in text for secret in ENVIRONMENT.values())
    assert result.complete and not result.changed and not result.vanished
    # the 1500 tasks are over the cap: discovery partitioned instead of giving up
    assert len(document["tasks"]) > 1000


def test_capture_of_a_churning_server_is_exact_on_tasks_that_did_not_move() -> None:
    initial = default_state()
    config = ServerConfig(control=False, churn_rate=40.0, churn_interval=0.05, state=initial)
    with serve_in_thread(config) as handle:
        result = capture(config_for(handle), principals=LIMITED)
        final: State = handle.runtime.snapshot.state
    captured = by_id(result.document["tasks"])
    now = by_id(final.tasks)
    settled = {
        task_id
        for task_id, item in by_id(initial.tasks).items()
        if item["info"]["status"] in TERMINAL_STATUSES
    }
    # churning tasks aside (open at the start or created during the capture), exactly the data
    assert settled <= set(captured)
    assert all(captured[task_id] == now[task_id] for task_id in settled)
    assert set(captured) <= set(now)  # the reference server never purges: nothing invented
    limited = next(p for p in result.document["principals"] if p["username"] == LIMITED_USERNAME)
    expected_visible = final.principal(LIMITED_USERNAME).visible_tasks  # type: ignore[union-attr]
    assert expected_visible is not None
    assert set(limited["visible_tasks"]) & settled == expected_visible & settled


def test_tasks_that_change_while_the_capture_runs_are_reported_with_their_last_state(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = capture_module._visible_universe
    rng = random.Random(5)

    def discover_then_churn(target: Any) -> Any:
        universe = original(target)
        snapshot = server.runtime.snapshot
        moved = churn_step(snapshot.state, rng, server.runtime.clock(), events=30)
        assert server.runtime.advance(snapshot, moved)
        return universe

    monkeypatch.setattr(capture_module, "_visible_universe", discover_then_churn)
    result = capture(config_for(server, unprivileged=None))
    served = by_id(server.runtime.snapshot.state.tasks)
    captured = by_id(result.document["tasks"])
    assert result.changed, "tasks moved between discovery and the re-read"
    for task_id in result.changed:
        assert captured[task_id] == served[task_id]  # the last state is recorded
    report = capture_cli.render_report(result, Path("out.json"))
    assert f"{len(result.changed)} open task(s) changed while the capture ran" in report


def test_pseudonymized_capture_is_consistent_and_hides_names_and_ids(server: ServerHandle) -> None:
    served: State = server.runtime.snapshot.state
    result = capture(config_for(server), principals=LIMITED, pseudonymize=True)
    document = result.document
    assert default_contracts().errors("state", document) == []
    text = json.dumps(document, ensure_ascii=False)
    for item in served.tasks[:50]:
        assert item["task"] not in text
    for name in (ADMIN_USERNAME, LIMITED_USERNAME, NOPRIVS_USERNAME, "jürgen@corp.example"):
        assert name not in text
    ids = [item["task"] for item in document["tasks"]]
    assert len(set(ids)) == len(served.tasks)
    # the same pseudonym wherever a task or user appears
    limited = next(p for p in document["principals"] if "visible_tasks" in p)
    assert set(limited["visible_tasks"]) <= set(ids)
    assert len(limited["visible_tasks"]) == len(served.principal(LIMITED_USERNAME).visible_tasks)  # type: ignore[union-attr, arg-type]
    admin_alias = result.user_pseudonyms[ADMIN_USERNAME]
    admin_tasks = sum(1 for item in served.tasks if item["info"].get("user") == ADMIN_USERNAME)
    assert sum(1 for item in document["tasks"] if item["info"]["user"] == admin_alias) == (
        admin_tasks
    )
    # ids keep their shape and service: a filter by service still selects the same tasks
    assert all(
        pseudo.split(":", 1)[1] == item["info"]["service"]
        for pseudo, item in zip(ids, document["tasks"], strict=True)
    )


def test_a_principal_that_cannot_log_in_is_reported_and_left_out(server: ServerHandle) -> None:
    wrong = [(Credentials(LIMITED_USERNAME, "not-the-password"), LIMITED_VARIABLE)]
    result = capture(config_for(server), principals=wrong)
    assert not result.complete
    assert [p["username"] for p in result.document["principals"]] == [
        ADMIN_USERNAME,
        NOPRIVS_USERNAME,
    ]
    report = capture_cli.render_report(result, Path("out.json"))
    assert "NOT CAPTURED" in report and LIMITED_USERNAME in report
    assert "not-the-password" not in report


def test_the_privileged_principal_must_log_in(server: ServerHandle) -> None:
    with pytest.raises(CaptureError, match="could not log in"):
        capture(config_for(server, credentials=Credentials(ADMIN_USERNAME, "wrong-password-1")))


def test_the_budget_is_honoured_and_nothing_is_written(
    server: ServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "state.json"
    monkeypatch.delenv("SNAPCONFORM_UNPRIVILEGED_PASSWORD")
    options = ["--username", ADMIN_USERNAME, "--out", str(out), "--max-requests", "3"]
    code = cli_main(["capture", "--base-url", server.base_url, *options])
    assert code == 2 and not out.exists()
    assert "request budget of 3 spent" in capsys.readouterr().err


def test_cli_round_trip_capture_then_serve_the_capture(
    server: ServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """capture -> the file -> serve --state loads it (placeholders filled from the environment)
    -> a second capture of the replay is the same document."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "captured.json"
    arguments = ["--username", ADMIN_USERNAME, "--unprivileged-username", NOPRIVS_USERNAME]
    arguments += ["--principal", f"{LIMITED_USERNAME}={LIMITED_VARIABLE}"]
    code = cli_main(["capture", "--base-url", server.base_url, *arguments, "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "captured 1500 tasks" in printed and "complete" in printed
    # the replay hint names the file just written, ready to paste (it said a literal FILE)
    assert f"replay: snapconform serve --state {out} " in printed
    assert f"--state-file {out}" in printed and "FILE" not in printed
    state = load_state_file(out)
    assert state.principal(ADMIN_USERNAME).password == ADMIN_PASSWORD  # type: ignore[union-attr]
    with serve_in_thread(ServerConfig(state=state, control=False)) as replay:
        again = tmp_path / "again.json"
        code = cli_main(["capture", "--base-url", replay.base_url, *arguments, "--out", str(again)])
        assert code == 0
    first, second = json.loads(out.read_text()), json.loads(again.read_text())
    assert by_id(first["tasks"]) == by_id(second["tasks"])
    assert first["principals"] == second["principals"]


def test_unset_placeholder_is_a_clear_error(tmp_path: Path) -> None:
    from snapconform.state import StateDocumentError

    path = tmp_path / "state.json"
    path.write_text(
        json.dumps(
            {
                "tasks": [],
                "principals": [
                    {"username": "u", "password": "${SNAPCONFORM_NOT_SET_X}", "privileges": []}
                ],
            }
        )
    )
    with pytest.raises(
        StateDocumentError, match="set the environment variable SNAPCONFORM_NOT_SET_X"
    ):
        load_state_file(path, environ={})
    assert (
        load_state_file(path, environ={"SNAPCONFORM_NOT_SET_X": "pw"}).principals[0].password
        == "pw"
    )


class RequiresTasksOrServices(Behaviour):
    """Refuses a filter naming neither tasks nor services (the bindings allow it)."""

    def build_filter(self, pairs: Any) -> Any:
        spec = super().build_filter(pairs)
        if not spec.tasks and not spec.services:
            raise invalid("tasks_or_services", "Specify tasks or services.")
        return spec


def test_a_target_that_refuses_filters_without_tasks_or_services_is_captured_by_service() -> None:
    config = ServerConfig(control=False, behaviour=RequiresTasksOrServices())
    with serve_in_thread(config) as handle:
        served: State = handle.runtime.snapshot.state
        result = capture(config_for(handle), principals=LIMITED)
    assert by_id(result.document["tasks"]) == by_id(served.tasks)
    limited = next(p for p in result.document["principals"] if p["username"] == LIMITED_USERNAME)
    assert set(limited["visible_tasks"]) == served.principal(LIMITED_USERNAME).visible_tasks  # type: ignore[union-attr]
    assert result.complete
    report = capture_cli.render_report(result, Path("out.json"))
    assert "services=" in report  # says how the tasks were found
