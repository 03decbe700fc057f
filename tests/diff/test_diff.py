"""snapconform diff: two servers, the same requests, every difference and nothing else.

The reference server against a replay of its own capture must show no difference; against each
mutant of the library, the mutant's deviation must show as a confirmed difference. Loopback only,
bounded budgets.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from snapconform.capture import capture
from snapconform.cli import main as cli_main
from snapconform.config import Credentials, RunConfig
from snapconform.contracts import default_contracts
from snapconform.diff.engine import DiffError, Side, _confirm, run_diff
from snapconform.diff.observe import Observation, compare
from snapconform.diff.report import ALLURE_PREFIX
from snapconform.diff.stream import DiffRequest
from snapconform.mutants import MUTANTS
from snapconform.report.redaction import scan_report_dir, secret_forms
from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour, invalid
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    LIMITED_PASSWORD,
    LIMITED_USERNAME,
    NOPRIVS_PASSWORD,
    NOPRIVS_USERNAME,
    default_state,
)
from snapconform.server.runner import ServerHandle, serve_in_thread
from snapconform.state import State, parse_state_document

ADMIN = Credentials(ADMIN_USERNAME, ADMIN_PASSWORD)
NOPRIVS = Credentials(NOPRIVS_USERNAME, NOPRIVS_PASSWORD)
LIMITED = Credentials(LIMITED_USERNAME, LIMITED_PASSWORD)
#: Requests per side for one mutant: the deviation must show within this.
MUTANT_BUDGET = 60
#: Intermittent deviations that show on a fraction of some requests need a longer stream.
LONGER_STREAM = {"intermittent-ignores-users": 150}

#: Mutants a diff cannot show, and why: their deviation needs data only a pushed state holds,
#: and a diff never sends a control call. (Mutants observable in controlled mode only — an armed
#: fault — are excluded by their declaration, see ``reason_not_observable``.)
NOT_OBSERVABLE_BY_DIFF = {
    "cap-off-by-one-low": "needs a filter matching exactly 1000 tasks (only a pushed state has)",
    "cap-off-by-one-high": "needs a filter matching exactly 1001 tasks (only a pushed state has)",
    "contract-blank-message-text": "diff compares error answers by status and error_type, not"
    " message text (CONTRACT-ERROR-MESSAGE-TEXT, a SHOULD, is the conformance run's)",
    "filter-users-case-insensitive": "diff's stream asks users as the tasks hold them, never in"
    " another case (FILTER-USERS-EXACT, a SHOULD, is the conformance run's)",
}


def reason_not_observable(name: str) -> str | None:
    if name in NOT_OBSERVABLE_BY_DIFF:
        return NOT_OBSERVABLE_BY_DIFF[name]
    if MUTANTS[name].modes == {"controlled"}:
        return "shows only on an armed fault (POST {control}/faults): controlled mode only"
    return None


#: Mutants whose deviation concerns a principal with a restricted view: diffed as that one.
AS_LIMITED = {"cap-counts-invisible", "auth-visibility-leak", "auth-visibility-leak-under-users"}


def principal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAPCONFORM_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.setenv("SNAPCONFORM_UNPRIVILEGED_PASSWORD", NOPRIVS_PASSWORD)


@pytest.fixture(scope="module")
def reference() -> Iterator[ServerHandle]:
    with serve_in_thread(ServerConfig(control=False)) as handle:
        yield handle


@pytest.fixture(scope="module")
def replay(reference: ServerHandle) -> Iterator[ServerHandle]:
    """A server loaded with the reference server's capture (its passwords filled in)."""
    config = RunConfig(base_url=reference.base_url, credentials=ADMIN, unprivileged=NOPRIVS)
    limited = [(LIMITED, "LIMITED_PASSWORD")]
    document = capture(config, principals=limited).document
    passwords = {
        "${SNAPCONFORM_PASSWORD}": ADMIN_PASSWORD,
        "${SNAPCONFORM_UNPRIVILEGED_PASSWORD}": NOPRIVS_PASSWORD,
        "${LIMITED_PASSWORD}": LIMITED_PASSWORD,
    }
    for principal in document["principals"]:
        principal["password"] = passwords[principal["password"]]
    state = parse_state_document(document)
    with serve_in_thread(ServerConfig(state=state, control=False)) as handle:
        yield handle


def test_reference_against_the_replay_of_its_capture_has_no_difference(
    reference: ServerHandle,
    replay: ServerHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    principal_env(monkeypatch)
    code = cli_main(
        [
            *("diff", "--base-url", reference.base_url, "--against", replay.base_url),
            *("--username", ADMIN_USERNAME, "--unprivileged-username", NOPRIVS_USERNAME),
            *("--report-dir", str(tmp_path), "--seed", "3", "--max-requests", "150"),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "verdict: NO-DIFFERENCE" in printed
    document = json.loads((tmp_path / "diff.json").read_text())
    assert default_contracts().errors("diff", document) == []
    assert document["verdict"] == "no-difference" and document["differences"] == []
    kinds = document["stream"]["by_kind"]
    assert kinds["filter"] > 50 and kinds["credentials"] == 6 and kinds["invalid input"] >= 3
    assert document["a"]["requests"] <= 150 and document["b"]["requests"] <= 150
    results = list((tmp_path / "allure-results").glob(f"{ALLURE_PREFIX}*-result.json"))
    statuses = {json.loads(path.read_text())["status"] for path in results}
    assert results and statuses == {"passed"}
    leaks = scan_report_dir(tmp_path, secret_forms([ADMIN_PASSWORD, NOPRIVS_PASSWORD]))
    assert leaks == []


def test_replay_as_the_limited_principal_has_no_difference(
    reference: ServerHandle, replay: ServerHandle
) -> None:
    config = RunConfig(base_url=reference.base_url, credentials=LIMITED, seed=4)
    result = run_diff(config, replay.base_url, max_requests=60)
    assert result.findings == []


@functools.cache
def _default_universe() -> State:
    """ServerConfig()'s own default universe, generated once for the ~70 mutant pairs below
    (twice per test, ~0.3 CPU s, otherwise); a State is never changed by a server."""
    return default_state(ServerConfig().seed)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_mutants_deviation_appears_as_a_confirmed_difference(
    name: str, tmp_path: Path
) -> None:
    reason = reason_not_observable(name)
    if reason is not None:
        pytest.skip(f"not observable by diff: {reason}")
    mutant = MUTANTS[name]
    credentials = LIMITED if name in AS_LIMITED else ADMIN
    with (
        serve_in_thread(
            ServerConfig(state=_default_universe(), control=False, api_version=mutant.api_version)
        ) as faithful,
        serve_in_thread(
            mutant.server_config(ServerConfig(state=_default_universe(), control=False))
        ) as deviant,
    ):
        config = RunConfig(
            base_url=faithful.base_url,
            credentials=credentials,
            unprivileged=NOPRIVS,
            api_version=mutant.api_version,
            seed=0,
        )
        budget = LONGER_STREAM.get(name, MUTANT_BUDGET)
        result = run_diff(config, deviant.base_url, max_requests=budget)
    assert result.confirmed, f"{name} ({mutant.description}) showed no difference: {result.notes}"


def test_a_faithful_server_against_itself_via_cli_writes_a_diff_section(
    reference: ServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """The Allure section: a failed result per differing request, next to the run's results."""
    principal_env(monkeypatch)
    run_result = tmp_path / "allure-results" / "run-own-result.json"
    run_result.parent.mkdir(parents=True)
    run_result.write_text(json.dumps({"uuid": "x", "name": "a run's check", "status": "passed"}))
    mutant = MUTANTS["filter-ignores-status"]
    with serve_in_thread(mutant.server_config(ServerConfig(control=False))) as deviant:
        code = cli_main(
            [
                *("diff", "--base-url", reference.base_url, "--against", deviant.base_url),
                *("--username", ADMIN_USERNAME, "--unprivileged-username", NOPRIVS_USERNAME),
                *("--report-dir", str(tmp_path), "--seed", "1", "--max-requests", "40"),
            ]
        )
    printed = capsys.readouterr().out
    assert code == 1, printed
    assert "verdict: DIFFERENT" in printed and "DIFF #2" in printed
    document = json.loads((tmp_path / "diff.json").read_text())
    assert default_contracts().errors("diff", document) == []
    assert document["counts"]["by_aspect"].get("status", 0) > 0  # the whole store: over the cap
    results = [
        json.loads(path.read_text())
        for path in (tmp_path / "allure-results").glob(f"{ALLURE_PREFIX}*-result.json")
    ]
    failed = [r for r in results if r["status"] == "failed"]
    assert failed and all(r["statusDetails"]["message"].startswith("[") for r in failed)
    assert {label["value"] for r in failed for label in r["labels"] if label["name"] == "epic"} == {
        "snapconform diff"
    }
    assert run_result.exists()  # the run's own results are left alone


def test_usage_and_target_errors_exit_2_in_one_line(
    reference: ServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    principal_env(monkeypatch)
    common = ["--username", ADMIN_USERNAME, "--unprivileged-username", NOPRIVS_USERNAME]
    common += ["--report-dir", str(tmp_path)]
    code = cli_main(["diff", "--base-url", reference.base_url, "--against", "http://127.0.0.1:9"])
    assert code == 2
    code = cli_main(
        ["diff", "--base-url", reference.base_url, "--against", "http://127.0.0.1:9", *common]
    )
    err = capsys.readouterr().err
    assert code == 2 and "B (http://127.0.0.1:9)" in err and "Traceback" not in err
    code = cli_main(["diff", "--base-url", reference.base_url, "--against", "ftp://x", *common])
    assert code == 2 and "--against" in capsys.readouterr().err
    monkeypatch.setenv("SNAPCONFORM_PASSWORD", "wrong-password-123")
    code = cli_main(
        ["diff", "--base-url", reference.base_url, "--against", reference.base_url, *common]
    )
    err = capsys.readouterr().err
    assert code == 2 and "refused the login" in err and "wrong-password-123" not in err
    assert not (tmp_path / "diff.json").exists()


# --- confirmation: churn is told from deviation ------------------------------------------------


def item(task_id: str, status: str, **info: Any) -> dict[str, Any]:
    return {"task": task_id, "info": {"status": status, "service": "s", **info}}


def listing(*items: dict[str, Any]) -> Observation:
    return Observation(
        status=200,
        media_type="application/json",
        body_form="list",
        items={i["task"]: i for i in items},
    )


@dataclass
class ScriptedSide:
    """A side that answers from a script (the observations of successive asks)."""

    answers: list[Observation]

    def ask(self, request: DiffRequest) -> Observation:
        return self.answers.pop(0)


REQUEST = DiffRequest(1, "filter", "{} (empty filter)", "")


def confirm(first: tuple[Observation, Observation], again: tuple[Observation, Observation]):
    sides = (ScriptedSide([again[0]]), ScriptedSide([again[1]]))
    return _confirm(REQUEST, compare(*first), sides)  # type: ignore[arg-type]


def test_a_difference_on_terminal_tasks_counts_at_once() -> None:
    a = listing(item("t1", "SUCCEEDED"), item("t2", "FAILED"))
    b = listing(item("t1", "SUCCEEDED"))
    findings = _confirm(REQUEST, compare(a, b), (ScriptedSide([]), ScriptedSide([])))  # type: ignore[arg-type]
    assert [(f.difference.aspect, f.certainty, f.difference.tasks) for f in findings] == [
        ("task_ids", "confirmed", frozenset({"t2"}))
    ]


def test_an_open_task_that_moved_between_answers_is_uncertain_not_a_difference() -> None:
    running, done = item("t1", "RUNNING"), item("t1", "SUCCEEDED")
    findings = confirm((listing(running), listing(done)), (listing(done), listing(done)))
    assert [(f.difference.aspect, f.certainty) for f in findings] == [("task_fields", "uncertain")]


def test_an_open_task_that_differs_again_is_confirmed() -> None:
    a, b = listing(item("t1", "RUNNING", user="x")), listing(item("t1", "RUNNING", user="y"))
    findings = confirm((a, b), (a, b))
    assert [(f.difference.aspect, f.certainty) for f in findings] == [("task_fields", "confirmed")]


def test_a_difference_on_terminal_and_open_tasks_is_reported_once() -> None:
    """One id-set difference holding a terminal task and an open one that differs again: one
    confirmed finding naming both (it was printed twice, once per part, with the same detail)."""
    a = listing(item("t1", "SUCCEEDED"), item("t2", "RUNNING"), item("t3", "PENDING"))
    b = listing(item("t3", "PENDING"))
    findings = confirm((a, b), (a, b))
    assert [(f.difference.aspect, f.certainty, f.difference.tasks) for f in findings] == [
        ("task_ids", "confirmed", frozenset({"t1", "t2"}))
    ]
    # the open task gone on asking again stays apart, as uncertain
    findings = confirm((a, b), (listing(item("t1", "SUCCEEDED"), item("t3", "PENDING")), b))
    assert [(f.difference.aspect, f.certainty, f.difference.tasks) for f in findings] == [
        ("task_ids", "confirmed", frozenset({"t1"})),
        ("task_ids", "uncertain", frozenset({"t2"})),
    ]


def test_a_status_difference_next_to_open_tasks_is_asked_again() -> None:
    over = Observation(status=500, media_type="application/json", error_type="X", body_form="json")
    findings = confirm((listing(item("t1", "PENDING")), over), (over, over))
    assert [(f.difference.aspect, f.certainty) for f in findings] == [("status", "uncertain")]
    findings = confirm(
        (listing(item("t1", "PENDING")), over), (listing(item("t1", "PENDING")), over)
    )
    assert [(f.difference.aspect, f.certainty) for f in findings] == [("status", "confirmed")]


def test_field_differences_are_type_strict_and_name_their_paths() -> None:
    a = listing(item("t1", "SUCCEEDED", progress={"total": 100}))
    b = listing(item("t1", "SUCCEEDED", progress={"total": 100.0}))
    (difference,) = compare(a, b)
    assert difference.aspect == "task_fields" and "info.progress.total" in difference.detail
    assert difference.a == {"t1": {"info.progress.total": 100}}


def test_run_diff_refuses_without_credentials(reference: ServerHandle) -> None:
    with pytest.raises(DiffError, match="no credentials"):
        run_diff(RunConfig(base_url=reference.base_url), reference.base_url)


def test_side_sends_only_what_it_is_asked() -> None:
    """The credential cases authenticate as described (401 for each wrong one)."""
    from snapconform.diff.engine import open_side
    from snapconform.engine.target import Redactor

    cases = ("none", "wrong-password", "bogus-session", "ended-session", "unprivileged")
    answers = {}
    # 8.0.3 has no sessions API (a 404 to the login, Basic on every request); 9.0 has one
    for api_version in ("8.0.3", "9.0"):
        with serve_in_thread(ServerConfig(control=False, api_version=api_version)) as server:
            config = RunConfig(
                base_url=server.base_url,
                credentials=ADMIN,
                unprivileged=NOPRIVS,
                api_version=api_version,
            )
            side: Side = open_side("A", config, server.base_url, Redactor(), 50)
            try:
                answers[api_version] = {
                    auth: side.ask(DiffRequest(1, "credentials", auth, "", auth)).status  # type: ignore[arg-type]
                    for auth in cases
                }
            finally:
                side.close()
    refused = {"none": 401, "wrong-password": 401, "bogus-session": 401, "unprivileged": 403}
    assert answers["9.0"] == {**refused, "ended-session": 401}
    assert answers["8.0.3"] == {**refused, "ended-session": 404}  # the login's own answer


def response_of(body: Any, status: int = 200) -> Any:
    import httpx

    from snapconform.engine.target import Exchange

    text = json.dumps(body)
    headers = httpx.Headers({"content-type": "application/json"})
    return Exchange(status, headers, text, body, None, "GET", "/api/snapservice/tasks", "")


def test_a_hostile_list_over_the_cap_is_compared_in_bounded_form() -> None:
    hostile = [item(f"t-{n}", "SUCCEEDED") for n in range(100_000)]
    a = Observation.of(response_of({"items": hostile[:10]}))
    b = Observation.of(response_of({"items": hostile}))
    assert len(b.items) == 1001 and b.listed == 100_000
    aspects = {d.aspect: d for d in compare(a, b)}
    assert "10 vs 100000 tasks listed" in aspects["task_ids"].detail


def test_a_principal_variable_with_the_snapconform_prefix_is_refused() -> None:
    from snapconform.capture import parse_principal_options
    from snapconform.settings import SettingsError

    with pytest.raises(SettingsError, match="without the SNAPCONFORM_ prefix"):
        parse_principal_options(["op@x=SNAPCONFORM_OP_PASSWORD"], {"SNAPCONFORM_OP_PASSWORD": "p"})
    with pytest.raises(SettingsError, match="is not set"):
        parse_principal_options(["op@x=OP_PASSWORD"], {})
    with pytest.raises(SettingsError, match="USER=VARIABLE"):
        parse_principal_options(["op@x"], {})
    ((credentials, variable),) = parse_principal_options(["a=b@x=OP"], {"OP": "secret"})
    assert (credentials.username, credentials.password, variable) == ("a=b@x", "secret", "OP")


class RequiresTasksOrServices(Behaviour):
    """Refuses a filter naming neither tasks nor services (the bindings allow it)."""

    def build_filter(self, pairs: Any) -> Any:
        spec = super().build_filter(pairs)
        if not spec.tasks and not spec.services:
            raise invalid("tasks_or_services", "Specify tasks or services.")
        return spec


class RequiresTasksOrServicesIgnoringStatus(RequiresTasksOrServices):
    def select(self, store: Any, spec: Any, visible: Any) -> Any:
        from dataclasses import replace

        return super().select(store, replace(spec, status=None), visible)


def test_targets_that_refuse_filters_without_tasks_or_services_are_compared_by_service() -> None:
    with (
        serve_in_thread(ServerConfig(control=False, behaviour=RequiresTasksOrServices())) as a,
        serve_in_thread(ServerConfig(control=False, behaviour=RequiresTasksOrServices())) as b,
        serve_in_thread(
            ServerConfig(control=False, behaviour=RequiresTasksOrServicesIgnoringStatus())
        ) as deviant,
    ):
        config = RunConfig(base_url=a.base_url, credentials=ADMIN, seed=5)
        same = run_diff(config, b.base_url, max_requests=60)
        different = run_diff(config, deviant.base_url, max_requests=60)
    assert same.findings == [] and any("names a service" in note for note in same.notes)
    answered = [o for o in same.outcomes if o.request.kind == "filter" and o.status_a == 200]
    assert len(answered) > 20  # the stream asked questions the targets answer, not 400s
    assert any(f.difference.aspect == "task_ids" for f in different.confirmed)


def test_no_answer_is_an_answer_until_the_target_is_gone() -> None:
    from snapconform.diff.engine import MAX_TRANSPORT_FAILURES
    from snapconform.engine.target import Target, TargetSettings

    gone = Side("B", Target(TargetSettings(base_url="http://127.0.0.1:9", timeout=2)), ADMIN)
    request = DiffRequest(1, "credentials", "no credentials", "", "none")
    try:
        first = gone.ask(request)
        assert first.status == 0 and "cannot connect" in (first.transport_error or "")
        (difference,) = compare(listing(item("t1", "SUCCEEDED")), first)
        assert difference.aspect == "status" and "no answer (cannot connect" in difference.detail
        for _ in range(MAX_TRANSPORT_FAILURES - 2):
            gone.ask(request)
        with pytest.raises(DiffError, match="requests in a row got no answer"):
            gone.ask(request)
    finally:
        gone.close()
