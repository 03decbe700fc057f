"""One conformance run in this process: the engine session, the events it emits, its outcomes.

:class:`RunSession` holds what one run needs from its configuration to its verdict: the
``RunConfig``, the seed, the request plan, the embedded reference server when no target is given,
and the engine's :class:`~snapconform.engine.harness.Harness`. :meth:`RunSession.run` judges the
requirements in the plan's order and tells its handlers what happens as typed events
(:class:`RunStarted`, :class:`CheckStarted`, :class:`RequestsSent`, :class:`RequirementFinished`,
:class:`RunFinished`): the terminal progress, the Allure results, JUnit and the summary are
handlers (as schemathesis' engine emits events that its handlers render). ``snapconform run``
drives it directly; the pytest plugin drives the same session one requirement per test.

Closing is a ``try/finally``: every session the run created on the target is deleted and a
mock's state is put back, with Ctrl-C held back meanwhile (``interrupts_deferred``), whatever
ended the run.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from snapconform.config import RunConfig
from snapconform.engine.cleanup import InterruptLatch
from snapconform.engine.discovery import within_discovery
from snapconform.engine.harness import (
    Harness,
    HarnessError,
    TimeBoxExpired,
    refused_not_checked,
    stopped_not_checked,
    transport_not_checked,
)
from snapconform.engine.plan import DISCOVERY, ERROR_PROBE, RunPlan, run_position
from snapconform.engine.requirements import CATALOGUE, Requirement
from snapconform.engine.safety import interrupts_deferred
from snapconform.engine.target import BudgetExhausted, ConnectionLostError, TargetError
from snapconform.engine.verdicts import CheckResult

LOG = logging.getLogger("snapconform.run")
#: The catalogue's position of each requirement (the last key of the run order).
CATALOGUE_POSITION = {requirement.id: index for index, requirement in enumerate(CATALOGUE)}

# ---------------------------------------------------------------------------------------------
# events


@dataclass(frozen=True)
class RunStarted:
    """The run is about to send its first request; *total* requirements will be judged."""

    config: RunConfig
    seed: int
    total: int


@dataclass(frozen=True)
class CheckStarted:
    requirement: Requirement


@dataclass(frozen=True)
class RequestsSent:
    """*count* more requests reached the target (a delta)."""

    count: int


@dataclass(frozen=True)
class RequirementFinished:
    """One requirement judged: its result and everything the reports show about it."""

    requirement: Requirement
    result: CheckResult
    #: the run's request count when the check first saw its failure (failed results only)
    first_failure_request: int | None
    #: the requests of the run when the check started (what it sent is after this)
    started_at_request: int
    #: the exchanges the check recorded (the Target's, secrets already masked)
    exchanges: tuple[Any, ...]
    base_url: str | None
    seed: int
    #: wall-clock bounds of the check, epoch milliseconds
    start_ms: int
    stop_ms: int


@dataclass(frozen=True)
class RunFinished:
    """The run ended (the target's sessions are deleted): its outcomes document."""

    outcomes: dict[str, Any]


Event = RunStarted | CheckStarted | RequestsSent | RequirementFinished | RunFinished


class EventHandler(Protocol):
    """Something that turns a run's events into output (the terminal, a report)."""

    def handle(self, event: Event) -> None: ...


# ---------------------------------------------------------------------------------------------
# the session


def run_plan(config: RunConfig) -> RunPlan:
    """The plan a run of ``config`` follows, decided before the first request."""
    return RunPlan.make(
        config.mode,
        config.max_requests,
        max_duration=config.max_duration,
        unprivileged=config.unprivileged is not None or config.mode == "controlled",
    )


def run_order(requirements: Iterable[Requirement]) -> list[Requirement]:
    """The plan's order (engine.plan.RUN_ORDER): decisive cheap probes first, exploration next,
    audit checks last (they report on every response of the run)."""
    return sorted(
        requirements,
        key=lambda r: (*run_position(r.id, r.audit), CATALOGUE_POSITION.get(r.id, 0)),
    )


@dataclass
class RunSession:
    """One run: configuration, seed, plan, target (opened on first use) and outcomes so far.

    ``requirements`` narrows the run to a subset (the plan divides the budget among them);
    ``stop_when_failed`` ends the checking once one of those requirements failed (or the audit
    flagged it): only the audits run after it, and they report it.
    """

    config: RunConfig
    seed: int
    requirements: Sequence[Requirement] = tuple(CATALOGUE)
    stop_when_failed: frozenset[str] = frozenset()
    plan: RunPlan = field(init=False)
    harness: Harness | None = field(default=None, init=False)
    error: str | None = field(default=None, init=False)
    #: controlled mode: whether the mock's state was put back (Harness.mock_state)
    mock_state: dict[str, Any] | None = field(default=None, init=False)
    results: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)
    #: why the run stopped checking (stop_when_failed), if it did
    stopped: str | None = field(default=None, init=False)
    interrupted: bool = field(default=False, init=False)
    #: the signal that interrupts the run (set by the runner's handler; read at each request)
    interruption: InterruptLatch = field(default_factory=InterruptLatch, init=False)
    target_label: str = field(default="", init=False)
    _server: Any = field(default=None, init=False)
    _requests_before_error: int = field(default=0, init=False)
    _started: float = field(default_factory=time.monotonic, init=False)

    def __post_init__(self) -> None:
        self.requirements = run_order(self.requirements)
        self.plan = run_plan(self.config)
        if len(self.requirements) < len(CATALOGUE):
            self.plan.restrict(
                (r.id for r in self.requirements), [r.id for r in self.requirements if r.audit]
            )
        self.plan.start_clock(started_at=self.config.started_at)
        self.target_label = self.config.base_url or "embedded reference server"

    # -- the target --------------------------------------------------------------------------

    def open(self) -> Harness:
        """The run's harness: pre-flight, login, mode (the embedded server started if needed).

        Raises :class:`HarnessError` when no verdict is possible; the reason is kept.
        """
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

                self._server = serve_in_thread(
                    ServerConfig(api_version=config.api_version, seed=self.seed), "127.0.0.1", 0
                )
                base_url, control_url = self._server.base_url, self._server.control_url
                self.target_label = f"embedded reference server ({base_url})"
            harness = Harness.open(
                config, base_url=base_url, control_url=control_url, seed=self.seed
            )
            harness.plan = self.plan
            harness.marks.deadline = self.plan.deadline
            harness.marks.stop_when_flagged = self.stop_when_failed
            harness.marks.interruption = self.interruption
            if harness.mode == "observed":  # discovery: every request after the login
                self.plan.record(DISCOVERY, max(0, harness.stats.requests - 1))
            self.harness = harness
        except HarnessError as exc:
            self.error = str(exc)
            self.mock_state = exc.mock_state
            self._requests_before_error = exc.requests
            raise
        except BaseException as exc:
            # Ctrl-C during Harness.open: it closed the harness, which put the mock's state
            # back; the summary still says so
            self.mock_state = getattr(exc, "mock_state", None)
            raise
        return harness

    def close(self) -> None:
        """Delete the run's sessions and put a mock's state back (Ctrl-C held back meanwhile)."""
        with interrupts_deferred(deliver=False):
            try:
                if self.harness is not None:
                    # the logouts and the state's restore are sent, interrupted or not
                    self.harness.marks.interruption = None
                    self.harness.close()
                    self.mock_state = self.harness.mock_state
            finally:
                if self._server is not None:
                    self._server.stop()
                    self._server = None

    @property
    def requests(self) -> int:
        return self.harness.stats.requests if self.harness else self._requests_before_error

    # -- judging -----------------------------------------------------------------------------

    def judge(self, requirement: Requirement) -> RequirementFinished:
        """Run ``requirement``'s check against the open harness and settle its outcome."""
        harness = self.open()
        start_ms = int(time.time() * 1000)
        if self.stopped is not None and not requirement.audit:
            result = CheckResult.not_checked("deselected", f"not run: {self.stopped}")
            return self._finished(requirement, result, None, harness.stats.requests, (), start_ms)
        before = harness.stats.requests
        with _recorded_exchanges(harness.target) as exchanges:
            result = judge(harness, requirement)
        # an interrupt the check swallowed (Hypothesis turns one raised before its engine exists
        # into an AssertionError): its outcome may be the interrupt's doing and is not kept (the
        # requirement: interrupted)
        self.interruption.reraise()
        first = (
            harness.first_failure_request(requirement.id, audit=requirement.audit)
            if result.outcome == "failed"
            else None
        )
        return self._finished(requirement, result, first, before, tuple(exchanges), start_ms)

    def _finished(
        self,
        requirement: Requirement,
        result: CheckResult,
        first_failure: int | None,
        started_at_request: int,
        exchanges: tuple[Any, ...],
        start_ms: int,
    ) -> RequirementFinished:
        harness = self.harness
        self.results[requirement.id] = {
            "outcome": result.outcome,
            "reason": result.reason,
            "detail": result.detail,
            "first_failure_request": first_failure,
            # where the check's requests lie in the run's count: what it sent is between
            "started_at_request": started_at_request,
            "ended_at_request": harness.stats.requests if harness else started_at_request,
        }
        self._note_stop()
        return RequirementFinished(
            requirement=requirement,
            result=result,
            first_failure_request=first_failure,
            started_at_request=started_at_request,
            exchanges=exchanges,
            base_url=harness.base_url if harness else None,
            seed=self.seed,
            start_ms=start_ms,
            stop_ms=int(time.time() * 1000),
        )

    def _note_stop(self) -> None:
        """Whether a requirement of ``stop_when_failed`` failed, or the audit flagged it."""
        if self.stopped is not None or not self.stop_when_failed:
            return
        failed = [
            rid
            for rid in self.stop_when_failed
            if self.results.get(rid, {}).get("outcome") == "failed"
        ]
        flagged = [
            rid
            for rid in self.stop_when_failed
            if self.harness is not None and rid in self.harness.marks.audit_first
        ]
        if failed:
            self.stopped = f"{min(failed)} failed"
        elif flagged:
            self.stopped = f"the response audit flagged {min(flagged)}"

    # -- the whole run -----------------------------------------------------------------------

    def run(self, handlers: Sequence[EventHandler] = ()) -> dict[str, Any]:
        """Judge every requirement in order; close; return the outcomes document.

        A :class:`HarnessError` (no verdict possible) ends the run with its reason; Ctrl-C ends
        it as interrupted. Either way the target is closed before the outcomes are final.
        """

        def emit(event: Event) -> None:
            for handler in handlers:
                handler.handle(event)

        try:
            self.open()
            emit(RunStarted(self.config, self.seed, len(self.requirements)))
            emit(RequestsSent(self.requests))  # the pre-flight's
            for requirement in self.requirements:
                emit(CheckStarted(requirement))
                before = self.requests
                finished = self.judge(requirement)
                emit(RequestsSent(self.requests - before))
                emit(finished)
        except HarnessError:
            pass  # self.error holds the reason
        except KeyboardInterrupt:
            self.interrupted = True
        finally:
            # The run's figures are those of its checks; closing then deletes the sessions and
            # puts the mock's state back, and says whether it could.
            outcomes = self.document()
            try:
                self.close()
            finally:
                outcomes["mock_state"] = self.mock_state
                outcomes["notes"] = [*outcomes["notes"], *self.cleanup_notes()]
                # the logouts of closing, sent after the figures above were taken
                outcomes["closing_requests"] = max(0, self.requests - outcomes["requests"])
        emit(RunFinished(outcomes))
        return outcomes

    def cleanup_notes(self) -> list[str]:
        """A note when closing could not delete every session the run created."""
        failures = self.harness.cleanup_failures if self.harness is not None else []
        if not failures:
            return []
        return [
            f"{len(failures)} session(s) this run created could not be deleted when it ended"
            f" (first: {failures[0]}): they stay on the target until they expire"
        ]

    def document(self) -> dict[str, Any]:
        """The outcomes so far: the run's context and each requirement's outcome."""
        h = self.harness
        universe = getattr(h.source, "universe", None) if h else None
        return {
            "error": self.error,
            "target": self.target_label,
            "mode": h.mode if h else self.config.mode,
            "api_version": self.config.api_version,
            "seed": self.seed,
            "requests": self.requests,
            "distinct_filters": len(h.stats.distinct_queries) if h else 0,
            "filter_cases": len(h.stats.filter_cases) if h else 0,
            "control_requests": h.control.requests if h and h.control else 0,
            "transport": h.stats.transport_document() if h else None,
            "elapsed_seconds": round(time.monotonic() - self._started, 2),
            "notes": [*(h.all_notes() if h else []), *self.plan.notes],
            "mock_state": self.mock_state,
            "variants": h.variants_document() if h else {},
            "discovery": getattr(universe, "discovery", None),
            "requirements": self.results,
            "plan": self.plan.document(),
        }


def judge(harness: Harness, requirement: Requirement) -> CheckResult:
    """Run ``requirement``'s check against ``harness`` and settle its outcome.

    What the check raises becomes its result: running out of budget or time, or a lost
    connection, leaves it not checked; a target error or a :class:`Violation` with its evidence
    fails it; a crash of the check is no evidence against the target (not checked), unless the
    target's refusal caused it.
    """
    if harness.plan is not None:
        _early_error_probe(harness)
    before = harness.stats.requests
    harness.begin_check(requirement.id)
    # the run's stop (stop_when_failed) may cut a check short, never an audit (sends nothing)
    harness.marks.stop_armed = not requirement.audit
    try:
        result = _check(harness, requirement)
        # Audit and fuzzing findings are responses already judged, whatever the budget did later.
        judged = requirement.audit or requirement.feature == "fuzzing"
        result = harness.settle(result, requirement.id, audit=judged)
        stopped = harness.marks.refused_why == "deselected"
        if stopped and result.outcome != "failed" and result.reason != "deselected":
            # a check cut short by the run's stop: what it judged before is no complete check
            result = stopped_not_checked(result.detail)
        source = harness.source
        if source is not None and source.live:
            result = within_discovery(getattr(source, "universe", None), requirement, result)
    finally:
        harness.end_check()
    if result.outcome == "passed" and harness.marks.share_ended:
        result = CheckResult.passed(result.detail + harness.exploration_note())
    if harness.plan is not None:
        harness.plan.record(requirement.id, harness.stats.requests - before - harness.marks.apart)
    return result


def _check(harness: Harness, requirement: Requirement) -> CheckResult:
    """The check's own result (``Requirement.check`` turns its raised Violation into the failure,
    with the evidence); what else it raises becomes one."""
    try:
        if harness.plan is not None and harness.plan.expired() and not requirement.audit:
            # nothing can be sent any more; the audits still judge what was seen
            raise TimeBoxExpired("the time box (--max-duration) is over")
        return requirement.check(harness)
    except BudgetExhausted as exc:
        return refused_not_checked(exc)
    except ConnectionLostError as exc:
        return transport_not_checked(harness.redactor(str(exc)))
    except TargetError as exc:
        return CheckResult.failed(f"the target failed: {harness.redactor(str(exc))}")
    except Exception as exc:
        # the traceback, for whoever debugs the harness (REPORT_DIR/harness.log)
        LOG.error(
            "%s: the check raised\n%s", requirement.id, harness.redactor(traceback.format_exc())
        )
        if harness.marks.refused_at is None:
            # A bug of the harness is no evidence against the target: never a failure.
            return CheckResult.not_checked(
                "error",
                f"the check crashed: {type(exc).__name__}: {harness.redactor(str(exc))[:300]}",
            )
        # e.g. a scenario that could not be set up because the budget refused its login
        return CheckResult.failed(f"{type(exc).__name__}: {harness.redactor(str(exc))}")


def _early_error_probe(harness: Harness) -> None:
    """The plan's first probe, once per run: a 400 and a 401 for the error-body audits."""
    if "error-probe" in harness._memo:
        return
    from snapconform.engine.checks.common import probe_errors

    before = harness.stats.requests
    harness.begin_check(ERROR_PROBE)
    try:
        probe_errors(harness)
    finally:
        harness.end_check()
    assert harness.plan is not None
    harness.plan.record(ERROR_PROBE, harness.stats.requests - before)


@contextmanager
def _recorded_exchanges(target: Any) -> Iterator[list[Any]]:
    """Collect the exchanges ``target`` records inside the block (its ``exchanges`` list).

    The target keeps a bounded list and drops its oldest entries, so the block's exchanges are
    found after the last one seen on entry (by identity), not by index.
    """
    recorded: list[Any] = []
    before = list(getattr(target, "exchanges", ()))
    last = before[-1] if before else None
    try:
        yield recorded
    finally:
        after = list(getattr(target, "exchanges", ()))
        start = 0
        if last is not None:
            for index in range(len(after) - 1, -1, -1):
                if after[index] is last:
                    start = index + 1
                    break
        recorded.extend(after[start:])
