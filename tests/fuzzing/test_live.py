"""Fuzzing a live uvicorn reference server: the faithful one yields nothing, each broken one
yields the specific finding its deviation deserves, and the fuzzer stays inside its limits."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import httpx
import pytest

from snapconform.engine.fuzzing import (
    DEFAULT_SCENARIOS,
    SESSIONS_PATH,
    TASKS_PATH,
    CredentialSource,
    FuzzConfig,
    FuzzReport,
    FuzzRequest,
    Scenario,
    fuzz_target,
    run_fuzzing,
    scenarios_for,
)
from snapconform.engine.fuzzing.wire import httpx_sender
from snapconform.engine.target import Target, TargetSettings
from snapconform.server.behaviour import JSON, STATUS_VALUES, Behaviour, EndpointError, Reply
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME
from snapconform.server.runner import ServerHandle
from snapconform.server.runtime import Runtime
from tests.fuzzing.conftest import API_VERSION, ServeBehaviour, admin_session

pytestmark = pytest.mark.slow

#: Bounded: about 2.6 x this many requests per run.
EXAMPLES = 25
SEED = 20240915


class CrashOnUnknownStatus(Behaviour):
    """An unknown status value is an unhandled exception: Starlette's bare 500 text page."""

    name = "crash-on-unknown-status"

    def check_status_values(self, values: Sequence[str]) -> None:
        for value in values:
            if value not in STATUS_VALUES:
                raise RuntimeError(f"no such status {value}")


class UndocumentedCrashBody(Behaviour):
    """Invalid filters answer a bare ``500 {"message": ...}``: not an Error of any kind."""

    name = "undocumented-crash-body"

    def error_reply(self, error: EndpointError) -> Reply:
        if error.error_type == "INVALID_ARGUMENT":
            return Reply(500, b'{"message":"Internal Server Error"}', (("content-type", JSON),))
        return super().error_reply(error)


class StringCancelable(Behaviour):
    """A 200 whose tasks carry ``cancelable`` as the string "true"/"false"."""

    name = "string-cancelable"

    def render_list(self, items: Sequence[bytes]) -> bytes:
        fixed = [
            item.replace(b'"cancelable":false', b'"cancelable":"false"').replace(
                b'"cancelable":true', b'"cancelable":"true"'
            )
            for item in items
        ]
        return super().render_list(fixed)


class TextPlain(Behaviour):
    """Every body labelled text/plain."""

    name = "text-plain"

    def media_type(self) -> str:
        return "text/plain"


class AnonymousAdministrator(Behaviour):
    """A request without credentials is served as the administrator."""

    name = "anonymous-administrator"

    def authenticate(self, runtime, headers: Mapping[str, str]):  # type: ignore[no-untyped-def]
        principal = super().authenticate(runtime, headers)
        return principal or runtime.snapshot.principals[ADMIN_USERNAME]


def fuzz(handle: ServerHandle, **options: object) -> FuzzReport:
    return run_fuzzing(
        handle.base_url,
        admin_session(handle.base_url),
        max_examples=EXAMPLES,
        seed=SEED,
        **options,  # type: ignore[arg-type]
    )


def test_the_live_faithful_server_yields_no_finding(faithful_server: ServerHandle) -> None:
    """Issue 3: schemathesis with the contracts' OpenAPI finds nothing on the live server."""
    report = fuzz(faithful_server)
    assert report.findings == ()
    assert report.transport_errors == 0
    assert set(report.per_scenario) == {scenario.label for scenario in DEFAULT_SCENARIOS}
    assert all(count > 0 for count in report.per_scenario.values()), report.per_scenario
    assert report.requests_sent == sum(report.per_scenario.values())


@pytest.mark.parametrize(
    ("behaviour", "expected_checks", "expected_status"),
    [
        # A tidy, documented 500 ERROR where 400 InvalidArgument is due.
        (CrashOnUnknownStatus(), {"negative_data_rejection"}, 500),
        (
            UndocumentedCrashBody(),
            {"snapconform_server_error", "snapconform_contract_error_body"},
            500,
        ),
        (
            StringCancelable(),
            {"snapconform_contract_200_body", "response_schema_conformance"},
            200,
        ),
        (TextPlain(), {"snapconform_contract_json", "content_type_conformance"}, None),
        (AnonymousAdministrator(), {"snapconform_unauthenticated_refused"}, None),
    ],
    ids=lambda value: getattr(value, "name", None) if isinstance(value, Behaviour) else None,
)
def test_a_broken_server_yields_the_specific_finding(
    serve_behaviour: ServeBehaviour,
    behaviour: Behaviour,
    expected_checks: set[str],
    expected_status: int | None,
) -> None:
    report = fuzz(serve_behaviour(behaviour))
    assert expected_checks <= report.checks_failed(), [f.as_dict() for f in report.findings]
    if expected_status is not None:
        statuses = {f.status for f in report.findings if f.check in expected_checks}
        assert statuses == {expected_status}, [f.as_dict() for f in report.findings]


def test_the_crash_finding_names_the_request_and_never_the_session(
    serve_behaviour: ServeBehaviour,
) -> None:
    handle = serve_behaviour(UndocumentedCrashBody())
    headers = admin_session(handle.base_url)
    report = run_fuzzing(handle.base_url, headers, max_examples=EXAMPLES, seed=SEED)
    crash = [f for f in report.findings if f.check == "snapconform_server_error"]
    assert crash and all(f.request.startswith("GET /api/snapservice/tasks?") for f in crash)
    assert all("'messages' is a required property" in f.message for f in crash)
    text = json.dumps(report.as_dict())
    assert headers["vmware-api-session-id"] not in text
    assert "vmware-api-session-id: ***" in text


def test_only_get_and_unauthenticated_session_calls_are_sent(
    faithful_server: ServerHandle,
) -> None:
    headers = admin_session(faithful_server.base_url)
    session_id = headers["vmware-api-session-id"]
    sent: list[FuzzRequest] = []
    send, close = httpx_sender(faithful_server.base_url, timeout=30.0)

    def recording(request: FuzzRequest) -> httpx.Response:
        sent.append(request)
        return send(request)

    try:
        report = run_fuzzing(
            faithful_server.base_url, headers, max_examples=10, seed=SEED, send=recording
        )
    finally:
        close()
    assert len(sent) == report.requests_sent
    for request in sent:
        assert (request.method, request.path) in {
            ("GET", TASKS_PATH),
            ("GET", SESSIONS_PATH),
            ("POST", SESSIONS_PATH),
            ("DELETE", SESSIONS_PATH),
        }
        assert request.url.startswith(faithful_server.base_url + request.path)
        if request.method in ("POST", "DELETE"):
            assert session_id not in request.headers.values()
    # The run's own session survived every DELETE the fuzzer sent.
    assert faithful_server.runtime.sessions.touch(session_id, faithful_server.runtime.clock())


def test_the_budget_stops_the_run(faithful_server: ServerHandle) -> None:
    allowance = iter(range(7))

    def budget() -> bool:
        return next(allowance, None) is not None

    report = fuzz(faithful_server, budget=budget)
    assert report.requests_sent == 7
    assert report.budget_exhausted


def test_fuzzing_through_the_engine_target_counts_against_its_budget(
    faithful_server: ServerHandle,
) -> None:
    settings = TargetSettings(faithful_server.base_url, max_requests=40)
    with Target(settings) as target:
        target.login(ADMIN_USERNAME, ADMIN_PASSWORD, api_version=API_VERSION)
        before = target.stats.requests
        recorded_before = len(target.exchanges)
        report = fuzz_target(target, max_examples=EXAMPLES, seed=SEED, api_version=API_VERSION)
        assert report.budget_exhausted
        assert report.findings == ()
        assert target.stats.requests == 40  # the whole budget, login included
        # The Target may retry a GET's 5xx once (the cap's 500s): wire requests >= fuzzed ones.
        assert 0 < report.requests_sent <= 40 - before
        fuzzed = target.exchanges[recorded_before:]
        assert len(fuzzed) == report.requests_sent
        recorded = json.dumps([exchange.to_document() for exchange in fuzzed])
        assert target.session_id is not None and target.session_id not in recorded


def test_no_case_is_drawn_that_the_budget_would_not_let_out(
    faithful_server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scenario draws at most one case more than the Target admits (the one the budget
    refuses): drawing all 25 of a scenario for a budget of a few requests wasted ~10 ms of CPU
    per negative case (issue 27)."""
    from snapconform.engine.fuzzing import runner

    drawn: list[int] = []
    real_drive = runner.drive

    def counting_drive(strategy: object, body: object, **options: object) -> None:
        def counted(case: object) -> None:
            drawn.append(1)
            body(case)  # type: ignore[operator]

        real_drive(strategy, counted, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "drive", counting_drive)
    settings = TargetSettings(faithful_server.base_url, max_requests=12)
    with Target(settings) as target:
        target.login(ADMIN_USERNAME, ADMIN_PASSWORD, api_version=API_VERSION)
        report = fuzz_target(target, max_examples=EXAMPLES, seed=SEED, api_version=API_VERSION)
    assert report.budget_exhausted
    assert 0 < report.requests_sent <= len(drawn) <= report.requests_sent + 1


def test_an_answer_the_target_decoded_is_not_decoded_again_to_judge_it(
    faithful_server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fuzzing judges each answer from the decode the Target made of its bytes
    (``Target.bodies``): a hostile 100 000-item list decoded a second time for every fuzzed
    read cost a quarter of the run's CPU (issue 27)."""
    from snapconform.engine import exchange

    decoded_apart: list[int] = []
    real_parse_json = exchange.parse_json

    def counting_parse_json(content: bytes, max_depth: int) -> object:
        decoded_apart.append(len(content))
        return real_parse_json(content, max_depth)

    # Exchange.parse decodes with this name only when no shared decodes are given
    monkeypatch.setattr(exchange, "parse_json", counting_parse_json)
    settings = TargetSettings(faithful_server.base_url, max_requests=40)
    with Target(settings) as target:
        target.login(ADMIN_USERNAME, ADMIN_PASSWORD, api_version=API_VERSION)
        hits_before = target.bodies.hits
        report = fuzz_target(target, max_examples=EXAMPLES, seed=SEED, api_version=API_VERSION)
        hits = target.bodies.hits - hits_before
    assert report.requests_sent > 0
    assert decoded_apart == []
    assert hits > 0  # the large lists fuzzing read were judged from the Target's decodes


def test_no_session_calls_before_9_0() -> None:
    paths = {scenario.path for scenario in scenarios_for("8.0.3")}
    assert paths == {TASKS_PATH}
    assert scenarios_for("9.0") == DEFAULT_SCENARIOS


def test_with_basic_auth_the_callers_session_get_owes_401() -> None:
    """Issue 23: Basic credentials carry no session id, so GET of the session is refused."""
    basic = scenarios_for("9.1", auth="basic")
    owing = [
        s for s in basic if s.path == SESSIONS_PATH and s.credentials is CredentialSource.CALLER
    ]
    assert owing and all(s.owes_401 for s in owing)
    assert not any(
        s.owes_401 for s in scenarios_for("9.1") if s.credentials is CredentialSource.CALLER
    )


class SessionInfoForBasic(Behaviour):
    """GET of the session answers 200 to Basic credentials (no session id sent)."""

    name = "session-info-for-basic"

    def session_info(self, runtime: Runtime, headers: Mapping[str, str]) -> Reply:
        credentials = self.basic_credentials(headers)
        principal = self.login(runtime.snapshot, *credentials) if credentials else None
        if principal is None:
            return super().session_info(runtime, headers)
        stamp = "2026-01-15T12:00:00.000Z"
        document = {"user": principal.username, "created_time": stamp, "last_accessed_time": stamp}
        return self.json_reply(200, document)


@pytest.mark.parametrize(
    ("behaviour", "caught"),
    [(None, set()), (SessionInfoForBasic(), {"snapconform_unauthenticated_refused"})],
    ids=["faithful", "session-info-for-basic"],
)
def test_fuzzing_with_basic_auth_follows_the_auth_mode(
    serve_behaviour: ServeBehaviour, behaviour: Behaviour | None, caught: set[str]
) -> None:
    """Issue 23: the reference server with ``--auth basic`` was NON-CONFORMANT (the fuzzer sent
    GET of the session with Basic credentials and demanded 200); now 401 is owed there."""
    handle = serve_behaviour(behaviour or Behaviour())
    settings = TargetSettings(handle.base_url, auth="basic")
    with Target(settings) as target:
        target.login(ADMIN_USERNAME, ADMIN_PASSWORD, api_version=API_VERSION)
        assert target.auth_scheme == "basic"
        report = fuzz_target(target, max_examples=EXAMPLES, seed=SEED, api_version=API_VERSION)
    assert report.checks_failed() == caught, [f.as_dict() for f in report.findings]
    labels = [label for label in report.per_scenario if "no session id" in label]
    assert labels and all(report.per_scenario[label] > 0 for label in labels)


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario("DELETE", SESSIONS_PATH, DEFAULT_SCENARIOS[0].mode, CredentialSource.CALLER),
        Scenario("POST", SESSIONS_PATH, DEFAULT_SCENARIOS[0].mode, CredentialSource.CALLER),
        Scenario("PUT", TASKS_PATH, DEFAULT_SCENARIOS[0].mode, CredentialSource.CALLER),
        Scenario("GET", "/control/state", DEFAULT_SCENARIOS[0].mode, CredentialSource.GENERATED),
    ],
    ids=lambda scenario: scenario.label,
)
def test_a_scenario_outside_the_allowed_requests_is_refused(scenario: Scenario) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        FuzzConfig(scenarios=(scenario,))


@pytest.mark.parametrize(
    ("mutant", "expected_check"),
    [
        # A valid filter answered with an error: only the positive-acceptance check sees it.
        ("filter-unknown-task-id-500", "snapconform_valid_request_served"),
        # (cap-invalid-argument answers 400 to the empty filter, which the bindings allow to be
        # refused: fuzzing cannot tell it from the documented variant; CAP-OVER-LIMIT can.)
        # An invalid status value dropped: 200 with tasks of every status.
        ("filter-lenient-status", "negative_data_rejection"),
    ],
)
def test_library_mutants_are_caught_by_the_named_check(
    serve_behaviour: ServeBehaviour, mutant: str, expected_check: str
) -> None:
    from snapconform.mutants import get

    report = fuzz(serve_behaviour(get(mutant).behaviour()))
    assert expected_check in report.checks_failed(), [f.as_dict() for f in report.findings]


@pytest.mark.parametrize(
    "variant",
    [
        "requires-tasks-or-services",
        "refuses-repeated-values",
        "unknown-status-matches-none",
        "unknown-task-id-inaccessible",
        "refuses-unknown-identifiers",
    ],
)
def test_documented_variants_are_not_findings(
    serve_behaviour: ServeBehaviour, variant: str
) -> None:
    """A 400 a documented alternative allows, or an unknown status matching no task, is no
    deviation (issue 15: the fuzzer and FILTER-UNKNOWN-IDS/-INVALID-STATUS agree)."""
    from snapconform.server.variants import behaviour_with

    report = fuzz(serve_behaviour(behaviour_with([variant])))
    assert report.requests_sent > 0
    assert not report.findings, [f.as_dict() for f in report.findings]
