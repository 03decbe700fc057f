"""Authentication per API version, end to end (issue 15, item 5).

vSphere API 8.0.3 has no snapservice sessions API: the reference server answers 404 there, and a
run sends no session call at all (HTTP Basic on every request). From 9.0 the session calls exist.
SNAPCONFORM_SESSION_ID hands the run a session obtained elsewhere: it is used, never shown in
any output or report, and never deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour, Reply
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    NOPRIVS_PASSWORD,
    NOPRIVS_USERNAME,
    default_state,
)
from snapconform.server.runner import serve_in_thread
from tests.engine.test_run_cli import _run, _summary

pytestmark = pytest.mark.slow

SESSIONS = "/api/snapservice/sessions"


class RecordsPaths(Behaviour):
    """The faithful server, noting every path it answers with 404 (the 8.0.3 sessions API)."""

    def __init__(self) -> None:
        self.not_found_paths: list[str] = []

    def not_found(self, path: str) -> Reply:
        self.not_found_paths.append(path)
        return super().not_found(path)

    def create_session(self, runtime: object, headers: Mapping[str, str]) -> Reply:
        self.not_found_paths.append("created " + SESSIONS)
        return super().create_session(runtime, headers)  # type: ignore[arg-type]


def test_the_reference_server_has_sessions_only_from_9_0() -> None:
    for version, created in (("8.0.3", 404), ("9.0", 201), ("9.1", 201)):
        with serve_in_thread(ServerConfig(api_version=version), "127.0.0.1", 0) as server:
            response = httpx.post(
                server.base_url + SESSIONS, auth=(ADMIN_USERNAME, ADMIN_PASSWORD), timeout=10
            )
            assert response.status_code == created, version
            # Basic works on every version
            listed = httpx.get(
                server.base_url + "/api/snapservice/tasks?status=RUNNING",
                auth=(ADMIN_USERNAME, ADMIN_PASSWORD),
                timeout=10,
            )
            assert listed.status_code == 200, version


def test_a_run_on_8_0_3_sends_no_session_call_and_uses_basic(tmp_path: Path) -> None:
    behaviour = RecordsPaths()
    config = ServerConfig(state=default_state(0, size=300), behaviour=behaviour)
    with serve_in_thread(config, "127.0.0.1", 0) as server:
        completed = _run(
            [
                "--base-url",
                server.base_url,
                "--username",
                ADMIN_USERNAME,
                "--report-dir",
                str(tmp_path),
                "--seed",
                "1",
                "--max-examples",
                "2",
                "--unprivileged-username",
                NOPRIVS_USERNAME,
            ],
            env={
                "SNAPCONFORM_PASSWORD": ADMIN_PASSWORD,
                "SNAPCONFORM_UNPRIVILEGED_PASSWORD": NOPRIVS_PASSWORD,
            },
        )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    summary = _summary(tmp_path)
    assert summary["api_version"] == "8.0.3"
    assert not [p for p in behaviour.not_found_paths if SESSIONS in p], behaviour.not_found_paths
    assert any("Basic authentication on every request" in note for note in summary["notes"])
    by_id = {r["id"]: r for r in summary["requirements"]}
    assert by_id["AUTH-WRONG-PASSWORD"]["outcome"] == "passed"
    # no sessions on 8.0.3: the target cannot show it (no gap in the verdict)
    assert (by_id["AUTH-SESSION-ENDED"]["outcome"], by_id["AUTH-SESSION-ENDED"]["reason"]) == (
        "not_applicable",
        "target",
    )


def test_a_session_obtained_elsewhere_is_used_never_shown_never_deleted(tmp_path: Path) -> None:
    config = ServerConfig(state=default_state(0, size=300), api_version="9.0")
    with serve_in_thread(config, "127.0.0.1", 0) as server:
        created = httpx.post(
            server.base_url + SESSIONS, auth=(ADMIN_USERNAME, ADMIN_PASSWORD), timeout=10
        )
        token = created.json()
        completed = _run(
            [
                "--base-url",
                server.base_url,
                "--api-version",
                "9.0",
                "--report-dir",
                str(tmp_path),
                "--seed",
                "2",
                "--max-examples",
                "2",
            ],
            env={"SNAPCONFORM_SESSION_ID": token},
        )
        still = httpx.get(
            server.base_url + SESSIONS, headers={"vmware-api-session-id": token}, timeout=10
        )
    output = completed.stdout + completed.stderr
    # a session alone cannot try a wrong password, end a session or be someone unprivileged:
    # those MUSTs are not checked, so the verdict is incomplete (exit 3), never conformant
    assert completed.returncode == 3, output[-3000:]
    assert still.status_code == 200  # the session is still alive: never deleted
    assert token not in output
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert token not in path.read_text(encoding="utf-8", errors="replace"), path
    summary = _summary(tmp_path)
    assert any("SNAPCONFORM_SESSION_ID" in note for note in summary["notes"])
    by_id = {r["id"]: r for r in summary["requirements"]}
    assert by_id["FILTER-COMPLETENESS"]["outcome"] == "passed"
    for rid in ("AUTH-SESSION-ENDED", "AUTH-WRONG-PASSWORD", "AUTH-PRIVILEGE"):
        assert (by_id[rid]["outcome"], by_id[rid]["reason"]) == ("not_checked", "configuration")
    assert summary["verdict"] == "incomplete"


def test_an_expired_session_is_refused_with_one_clear_line(tmp_path: Path) -> None:
    with serve_in_thread(ServerConfig(api_version="9.0"), "127.0.0.1", 0) as server:
        completed = _run(
            ["--base-url", server.base_url, "--api-version", "9.0", "--report-dir", str(tmp_path)],
            env={"SNAPCONFORM_SESSION_ID": "expired-0123456789abcdef"},
        )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 2, output[-2000:]
    assert "SNAPCONFORM_SESSION_ID was refused (HTTP 401)" in output
    assert "expired-0123456789abcdef" not in output
    assert "Traceback" not in output
