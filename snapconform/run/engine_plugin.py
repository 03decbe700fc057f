"""The engine's pytest plugin: options, the run's Harness, per-requirement outcomes.

Loaded by ``snapconform run`` (``-p snapconform.run.engine_plugin``) or by the
``snapconform`` entry-point plugin when a ``--snapconform-*`` option is given. Secrets come from
the environment only (SNAPCONFORM_PASSWORD, SNAPCONFORM_UNPRIVILEGED_PASSWORD), never argv.
Without ``--snapconform-base-url`` it starts the embedded reference server (controlled mode).

``--snapconform-outcomes FILE`` receives one JSON document at the end: the run's context
(target, mode, seed, requests, notes) and each requirement's outcome and detail; the runner
turns it into summary.json. A harness that cannot open (no verdict possible) writes
``{"error": reason}`` and ends the session with exit status 2.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from snapconform.config import API_VERSIONS, Credentials, RunConfig
from snapconform.engine.harness import (
    Harness,
    HarnessError,
    TimeBoxExpired,
    budget_reason,
    transport_not_checked,
)
from snapconform.engine.plan import DISCOVERY, ERROR_PROBE, RunPlan, run_position
from snapconform.engine.requirements import CATALOGUE, EPIC, SPEC_URL, Requirement
from snapconform.engine.safety import interrupts_deferred
from snapconform.engine.target import BudgetExhausted, ConnectionLostError, TargetError
from snapconform.engine.universe import within_discovery
from snapconform.engine.verdicts import CheckResult, Violation, outcome_label
from snapconform.report.allure_steps import attach_check_result, recorded_exchanges

HARNESS_KEY = pytest.StashKey["HarnessHolder"]()
ORDER = {requirement.id: index for index, requirement in enumerate(CATALOGUE)}


class HarnessHolder:
    """The session's harness (opened on first use) and everything recorded for the outcomes file."""

    def __init__(self, config: RunConfig, outcomes: Path | None) -> None:
        self.config = config
        self.outcomes_path = outcomes
        self.harness: Harness | None = None
        self.error: str | None = None
        #: controlled mode: whether the mock's state was put back (Harness.mock_state)
        self.mock_state: dict[str, Any] | None = None
        self.requests_before_error = 0
        self.results: dict[str, dict[str, Any]] = {}
        #: Why the run stopped checking (``--snapconform-stop-when-failed``), if it did.
        self.stopped: str | None = None
        #: The run's request plan, decided before the first request (snapconform.engine.plan).
        self.plan = RunPlan.make(
            config.mode,
            config.max_requests,
            max_duration=config.max_duration,
            unprivileged=config.unprivileged is not None or config.mode == "controlled",
        )
        self.plan.start_clock(started_at=config.started_at)
        self.server: Any = None
        self.target_label = config.base_url or "embedded reference server"
        self.started = time.monotonic()
        self.seed = (
            config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
        )

    def open(self) -> Harness:
        if self.harness is not None:
            return self.harness
        if self.error is not None:
            raise HarnessError(self.error)
        config = self.config
        base_url, control_url = config.base_url, config.control_url
        try:
            refusal = self.plan.refusal()
            if refusal is not None:
                raise HarnessError(refusal)  # before anything is sent
            if base_url is None:
                from snapconform.server.app import ServerConfig
                from snapconform.server.runner import serve_in_thread

                self.server = serve_in_thread(
                    ServerConfig(api_version=config.api_version, seed=self.seed), "127.0.0.1", 0
                )
                base_url, control_url = self.server.base_url, self.server.control_url
                self.target_label = f"embedded reference server ({base_url})"
            self.harness = Harness.open(
                config, base_url=base_url, control_url=control_url, seed=self.seed
            )
            self.harness.plan = self.plan
            self.harness.marks.deadline = self.plan.deadline
            if self.harness.mode == "observed":  # discovery: every request after the login
                self.plan.record(DISCOVERY, max(0, self.harness.stats.requests - 1))
        except HarnessError as exc:
            self.error = str(exc)
            self.mock_state = exc.mock_state
            self.requests_before_error = exc.requests
            raise
        except BaseException as exc:
            # Ctrl-C during Harness.open: it closed the harness, which put the mock's state
            # back; the summary still says so
            self.mock_state = getattr(exc, "mock_state", None)
            raise
        return self.harness

    def close(self) -> None:
        try:
            if self.harness is not None:
                self.harness.close()
                self.mock_state = self.harness.mock_state
        finally:
            if self.server is not None:
                self.server.stop()

    def document(self) -> dict[str, Any]:
        h = self.harness
        return {
            "error": self.error,
            "target": self.target_label,
            "mode": h.mode if h else self.config.mode,
            "api_version": self.config.api_version,
            "seed": self.seed,
            "requests": h.stats.requests if h else self.requests_before_error,
            "distinct_filters": len(h.stats.distinct_queries) if h else 0,
            "filter_cases": len(h.stats.filter_cases) if h else 0,
            "control_requests": h.control.requests if h and h.control else 0,
            "transport": h.stats.transport_document() if h else None,
            "elapsed_seconds": round(time.monotonic() - self.started, 2),
            "notes": [*(h.all_notes() if h else []), *self.plan.notes],
            "mock_state": self.mock_state,
            "variants": h.variants_document() if h else {},
            "discovery": getattr(getattr(h.source, "universe", None), "discovery", None)
            if h
            else None,
            "requirements": self.results,
            "plan": self.plan.document(),
        }

    def write(self, document: dict[str, Any] | None = None) -> None:
        if self.outcomes_path is None:
            return
        self.outcomes_path.parent.mkdir(parents=True, exist_ok=True)
        document = self.document() if document is None else document
        self.outcomes_path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("snapconform-engine", "snapconform conformance run")

    def add(name: str, **kwargs: Any) -> None:
        group.addoption(
            f"--snapconform-{name}", dest=f"snapconform_{name.replace('-', '_')}", **kwargs
        )

    add("base-url", default=None, help="server under test (absent: embedded reference server)")
    add("control-url", default=None, help="control protocol of the server (controlled mode)")
    add(
        "state-file", default=None, help="state document the server was loaded with (declared mode)"
    )
    add(
        "username",
        default=None,
        help="privileged principal (or SNAPCONFORM_USERNAME); password: SNAPCONFORM_PASSWORD",
    )
    add(
        "unprivileged-username",
        default=None,
        help="principal without System.Read; password: SNAPCONFORM_UNPRIVILEGED_PASSWORD",
    )
    add("auth", default="session", choices=("session", "basic"))
    add("api-version", default="8.0.3", choices=API_VERSIONS)
    add("seed", default=None, type=int)
    add("max-examples", default=None, type=int)
    add("max-requests", default=None, type=int)
    add("rate-limit", default=None, type=float)
    add("insecure", action="store_true", default=False)
    add("ca-bundle", default=None)
    add("timeout", default=None, type=float)
    add("max-duration", default=None, type=float, help="time box of the run, in seconds")
    add("started-at", default=None, type=float, help="when the time box started (epoch seconds)")
    add("outcomes", default=None, help="write per-requirement outcomes (JSON) to this file")
    add(
        "stop-when-failed",
        default=None,
        help="comma-separated requirement ids: end the run once one of them has failed (the"
        " verdict is then non-conformant whatever follows; selftest --until-caught uses it)",
    )


def run_config_from(config: pytest.Config) -> RunConfig:
    """The RunConfig these options and the environment describe (secrets from the environment)."""

    def opt(name: str) -> Any:
        return config.getoption(f"snapconform_{name}")

    environ = os.environ
    username = opt("username") or environ.get("SNAPCONFORM_USERNAME")
    unprivileged = opt("unprivileged_username") or environ.get("SNAPCONFORM_UNPRIVILEGED_USERNAME")
    defaults = RunConfig()
    return RunConfig(
        base_url=opt("base_url") or environ.get("SNAPCONFORM_BASE_URL"),
        credentials=Credentials(username, environ.get("SNAPCONFORM_PASSWORD", ""))
        if username
        else None,
        unprivileged=Credentials(unprivileged, environ.get("SNAPCONFORM_UNPRIVILEGED_PASSWORD", ""))
        if unprivileged
        else None,
        auth=opt("auth"),
        control_url=opt("control_url"),
        state_file=Path(opt("state_file")) if opt("state_file") else None,
        api_version=opt("api_version"),
        seed=opt("seed"),
        max_examples=opt("max_examples") or defaults.max_examples,
        max_requests=opt("max_requests") or defaults.max_requests,
        rate_limit=opt("rate_limit"),
        insecure=bool(opt("insecure")),
        ca_bundle=Path(opt("ca_bundle")) if opt("ca_bundle") else None,
        timeout=opt("timeout") or defaults.timeout,
        session_id=environ.get("SNAPCONFORM_SESSION_ID") or None,
        max_duration=opt("max_duration"),
        started_at=opt("started_at"),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(req): the snapconform requirement a test checks"
    )
    outcomes = config.getoption("snapconform_outcomes")
    config.stash[HARNESS_KEY] = HarnessHolder(
        run_config_from(config), Path(outcomes) if outcomes else None
    )
    if outcomes and threading.current_thread() is threading.main_thread():
        # The runner's child. The runner stops it with SIGINT, so SIGINT must interrupt it
        # even when it was started ignored (a command run with `&` from a script, a CI job
        # runner: ignored signals stay ignored across exec, and the child then ran on, past
        # the interrupt, until it was killed with its sessions open). Terminated (the runner's
        # last resort, 30 s after a Ctrl-C it forwarded), it still unwinds like an interrupt.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _terminated_as_interrupt)


def _terminated_as_interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM becomes a SIGINT: held back like one while the sessions are being deleted."""
    os.kill(os.getpid(), signal.SIGINT)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _one_item_per_requirement(config, items)

    # The plan's order (snapconform.engine.plan.RUN_ORDER): decisive cheap probes first,
    # exploration next, audit checks last (they report on every response of the run).
    def key(item: pytest.Item) -> tuple[int, int, int]:
        requirement = _requirement_of(item)
        if requirement is None:
            return (3, 0, 0)
        return (*run_position(requirement.id, requirement.audit), ORDER[requirement.id])

    items.sort(key=key)


def pytest_collection_finish(session: pytest.Session) -> None:
    # The plan divides the budget among the requirements this session runs (-k, a marker).
    holder = session.config.stash.get(HARNESS_KEY, None)
    selected = [r for r in map(_requirement_of, session.items) if r is not None]
    if holder is None or not selected or holder.harness is not None:
        return
    holder.plan.restrict((r.id for r in selected), [r.id for r in selected if r.audit])


def _one_item_per_requirement(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each requirement runs once, even when a second copy of the suite was collected (e.g. a
    checkout's tests/conformance next to the installed snapconform/_suite): the first stays."""
    seen: set[str] = set()
    duplicates = []
    for item in items:
        marker = item.get_closest_marker("requirement")
        rid = getattr(marker.args[0], "id", None) if marker is not None and marker.args else None
        if rid is None:
            continue
        if rid in seen:
            duplicates.append(item)
        seen.add(rid)
    if duplicates:
        config.hook.pytest_deselected(items=duplicates)
        dropped = set(map(id, duplicates))
        items[:] = [item for item in items if id(item) not in dropped]


def _requirement_of(item: pytest.Item) -> Requirement | None:
    marker = item.get_closest_marker("requirement")
    if marker is None or not marker.args or not isinstance(marker.args[0], Requirement):
        return None
    return marker.args[0]


@pytest.fixture(scope="session")
def snapconform_harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    holder = request.config.stash[HARNESS_KEY]
    try:
        harness = holder.open()
    except HarnessError as exc:
        pytest.exit(f"snapconform: no verdict possible: {exc}", returncode=2)
    yield harness


@pytest.fixture
def snapconform_check(request: pytest.FixtureRequest, snapconform_harness: Harness) -> Any:
    """``snapconform_check(requirement)``: run its check as this test (outcome, detail, labels)."""

    def run(requirement: Requirement) -> None:
        before = snapconform_harness.stats.requests
        try:
            verify(snapconform_harness, requirement, request.node)
        finally:
            _report_requests(request.config, snapconform_harness.stats.requests - before)

    return run


def _report_requests(config: pytest.Config, count: int) -> None:
    try:
        from snapconform.pytest_plugin import progress_reporter
    except ImportError:
        return
    reporter = progress_reporter(config)
    if reporter is not None and count > 0:
        reporter.requests(count)


def verify(harness: Harness, requirement: Requirement, node: pytest.Item | None = None) -> None:
    """Run ``requirement``'s check; its result becomes a pytest outcome (with allure labels)."""
    result = judge(harness, requirement)
    if node is not None:
        node.stash[RESULT_KEY] = result
        if result.outcome == "failed":
            node.stash[FIRST_FAILURE_KEY] = harness.first_failure_request(
                requirement.id, audit=requirement.audit
            )
    if result.outcome == "failed":
        pytest.fail(f"{requirement.id}: {result.detail}", pytrace=False)
    if not result.decided:
        # JUnit and Allure show these as skipped: the message says which kind, and why.
        label = outcome_label(result.outcome, result.reason)
        pytest.skip(f"{requirement.id}: {label}: {result.detail}")


def judge(harness: Harness, requirement: Requirement) -> CheckResult:
    """Run ``requirement``'s check and settle its outcome (what ``verify`` records)."""
    _label(requirement)
    # report hook (snapconform.report): the check's exchanges and evidence become Allure steps
    # Audit and fuzzing findings are responses already judged, whatever the budget did later.
    judged_responses = requirement.audit or requirement.feature == "fuzzing"
    if harness.plan is not None:
        _early_error_probe(harness)
    before = harness.stats.requests
    harness.begin_check(requirement.id)
    with recorded_exchanges(harness.target) as exchanges:
        try:
            if harness.plan is not None and harness.plan.expired() and not requirement.audit:
                # nothing can be sent any more; the audits still judge what was seen
                raise TimeBoxExpired("the time box (--max-duration) is over")
            result = requirement.check(harness)
        except BudgetExhausted as exc:
            result = CheckResult.not_checked(
                budget_reason(exc), f"{exc}: not enough requests left to check this"
            )
        except ConnectionLostError as exc:
            result = transport_not_checked(harness.redactor(str(exc)))
        except TargetError as exc:
            result = CheckResult.failed(f"the target failed: {harness.redactor(str(exc))}")
        except Violation as violation:
            # A violation with its evidence raised outside an exploration (a fixed case, a
            # documented refusal contradicting the target's recorded choice) is a failure of the
            # target, not a crash of the check.
            result = CheckResult.failed(harness.redactor(str(violation)), violation.evidence)
        except Exception as exc:
            if harness.marks.refused_at is None:
                # A bug of the harness is no evidence against the target: never a failure.
                result = CheckResult.not_checked(
                    "error",
                    f"the check crashed: {type(exc).__name__}: {harness.redactor(str(exc))[:300]}",
                )
            else:
                # e.g. a scenario that could not be set up because the budget refused its login
                result = CheckResult.failed(f"{type(exc).__name__}: {harness.redactor(str(exc))}")
        result = harness.settle(result, requirement.id, audit=judged_responses)
        source = getattr(harness, "source", None)
        if source is not None and source.live:
            result = within_discovery(getattr(source, "universe", None), requirement, result)
        harness.end_check()
    if result.outcome == "passed" and harness.marks.share_ended:
        result = CheckResult.passed(result.detail + harness.exploration_note())
    if harness.plan is not None:
        harness.plan.record(requirement.id, harness.stats.requests - before)
    attach_check_result(result, exchanges, base_url=harness.base_url, seed=harness.seed)
    return result


def _early_error_probe(harness: Harness) -> None:
    """The plan's first probe, once per run: a 400 and a 401 for the error-body audits."""
    if "error-probe" in harness._memo:
        return
    from snapconform.engine.checks.common import probe_errors as _probe_errors

    before = harness.stats.requests
    harness.begin_check(ERROR_PROBE)
    try:
        _probe_errors(harness)
    finally:
        harness.end_check()
    assert harness.plan is not None
    harness.plan.record(ERROR_PROBE, harness.stats.requests - before)


def _label(requirement: Requirement) -> None:
    try:
        import allure
    except ImportError:  # allure-pytest is a dependency; tolerate its absence all the same
        return
    allure.dynamic.epic(EPIC)
    allure.dynamic.feature(requirement.feature)
    allure.dynamic.story(requirement.title)
    allure.dynamic.title(f"{requirement.id}: {requirement.title}")
    allure.dynamic.severity(requirement.severity)
    allure.dynamic.label("requirement_id", requirement.id)
    allure.dynamic.label("level", requirement.level)
    allure.dynamic.link(SPEC_URL, name="spec")
    allure.dynamic.description(
        f"{requirement.source}\n\nCheck: snapconform.engine.checks.{requirement.check_name}"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    requirement = _requirement_of(item)
    if requirement is None:
        return
    holder = item.config.stash[HARNESS_KEY]
    if report.when == "call" or (report.when == "setup" and not report.passed):
        result = _result_of(item, report, requirement)
        holder.results[requirement.id] = {
            "outcome": result.outcome,
            "reason": result.reason,
            "detail": result.detail,
            "first_failure_request": item.stash.get(FIRST_FAILURE_KEY, None)
            if result.outcome == "failed"
            else None,
        }
        _note_stop(holder, _stop_ids(item.config))


def _stop_ids(config: pytest.Config) -> frozenset[str]:
    value = config.getoption("snapconform_stop_when_failed")
    return frozenset(v.strip() for v in value.split(",") if v.strip()) if value else frozenset()


def _note_stop(holder: HarnessHolder, stop_ids: frozenset[str]) -> None:
    """Whether a requirement of ``--snapconform-stop-when-failed`` failed, or its audit flagged."""
    if holder.stopped is not None or not stop_ids:
        return
    failed = [rid for rid in stop_ids if holder.results.get(rid, {}).get("outcome") == "failed"]
    flagged = [
        rid for rid in stop_ids if holder.harness and rid in holder.harness.marks.audit_first
    ]
    if failed:
        holder.stopped = f"{min(failed)} failed"
    elif flagged:
        holder.stopped = f"the response audit flagged {min(flagged)}"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """After a ``--snapconform-stop-when-failed`` detection only the audits run (they report it)."""
    holder = item.config.stash.get(HARNESS_KEY, None)
    requirement = _requirement_of(item)
    if holder is None or holder.stopped is None or requirement is None or requirement.audit:
        return
    pytest.skip(f"not run: {holder.stopped} (--snapconform-stop-when-failed)")


def _result_of(item: pytest.Item, report: pytest.TestReport, requirement: Requirement) -> Any:
    """The requirement's outcome: the check's own result when it ran to the end (``verify``).

    Anything else is no decision about the target: a skip from outside the check (a marker, a
    foreign plugin) is ``not_checked/deselected``; a setup error or a crash outside the check
    is ``not_checked/error``. Only the check itself can fail a requirement.
    """
    message = _message(report).removeprefix(f"{requirement.id}: ")
    result: CheckResult | None = item.stash.get(RESULT_KEY, None)
    if report.when == "call" and result is not None:
        if report.failed and result.outcome != "failed":  # broke after the check decided
            return CheckResult.not_checked("error", f"the test broke after its check: {message}")
        return result
    if report.skipped:
        return CheckResult.not_checked("deselected", f"skipped outside its check: {message}")
    if report.passed:  # a test that never called its check
        return CheckResult.not_checked("error", "the test ended without running its check")
    return CheckResult.not_checked("error", f"the check could not run: {message}")


RESULT_KEY = pytest.StashKey[CheckResult]()
#: The run's request count when the requirement's check first saw its failure.
FIRST_FAILURE_KEY = pytest.StashKey[int | None]()


def _message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # skip: (path, line, message)
        return str(longrepr[2]).removeprefix("Skipped: ")
    if hasattr(longrepr, "reprcrash") and longrepr.reprcrash is not None:  # type: ignore[union-attr]
        return str(longrepr.reprcrash.message).removeprefix("Failed: ")  # type: ignore[union-attr]
    return str(longrepr).strip().splitlines()[-1] if longrepr else "failed"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Delete the run's sessions and write its outcomes, before any report is written.

    First among the plugins (a report writer's work is not allowed to delay the logout), and
    with Ctrl-C held back and dropped: after an interrupt, the runner sends one more SIGINT if
    the child is still running 10 s later, which must not cut this short and leave a session
    open, nor stop the report writers that follow (the run is ending either way).
    """
    holder = session.config.stash.get(HARNESS_KEY, None)
    if holder is None:
        return
    with interrupts_deferred(deliver=False):
        # The run's figures are those of its checks (what the progress line counted); closing
        # then deletes the sessions and puts the mock's state back, and says whether it could.
        document = holder.document()
        try:
            holder.close()
        finally:
            document["mock_state"] = holder.mock_state
            holder.write(document)


__all__ = ["HarnessHolder", "judge", "run_config_from", "verify"]
