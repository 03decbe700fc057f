"""Harness: everything one conformance run shares — target, universe source, audit, settings.

Built once per run from a RunConfig (``Harness.open``); every check receives it. Opening it is
the pre-flight: it reaches the target, logs in the privileged principal and learns the universe,
and raises HarnessError with one clear line when no verdict is possible.
"""

from __future__ import annotations

import re
import secrets
import time
import zlib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from hypothesis import (
    HealthCheck,
    Phase,
    given,
    seed as hypothesis_seed,
    settings,
    strategies as st,
)
from hypothesis.errors import Flaky

from snapconform.config import Credentials, RunConfig
from snapconform.contracts import Contracts, default_contracts
from snapconform.engine.alternatives import ChoiceLog
from snapconform.engine.audit import ResponseAudit
from snapconform.engine.oracle import FilterSpec, curl_line
from snapconform.engine.plan import RunPlan
from snapconform.engine.safety import RetryPolicy
from snapconform.engine.target import (
    RECORDED_BODY_LIMIT,
    SESSION_HEADER,
    TASKS_PATH,
    BudgetExhausted,
    ControlClient,
    LoginRefused,
    Redactor,
    Response,
    Stats,
    Target,
    TargetError,
    TargetSettings,
)
from snapconform.engine.universe import (
    ControlledSource,
    FixedSource,
    ObservedSource,
    Universe,
    UniverseSource,
    discover,
)
from snapconform.engine.verdicts import CheckResult, Evidence, Uncertain, Violation
from snapconform.errors import ConnectionLostError, HarnessError, ShareSpent, TimeBoxExpired
from snapconform.redaction import MASK
from snapconform.strategies.states import HarnessPrincipals, principals_document

T = TypeVar("T")

#: Property runs allowed after the first failure (shrinking against a live server).
SHRINK_BUDGET = 30
SHRINK_SECONDS = 6.0


class _StopShrinking(BaseException):
    """Ends Hypothesis' shrinking early (a BaseException, so Hypothesis does not catch it)."""


class _Stopped(BaseException):
    """Ends an exploration that the budget or the target stopped, at once.

    A BaseException, so Hypothesis neither shrinks it (a stop is not a failure: shrinking it
    drew example after example, each raising the stop again, for nothing) nor replays it.
    """


def budget_reason(exc: BudgetExhausted) -> Literal["budget", "time"]:
    """The not-checked reason a refusal gives: ``time`` for the time box, else ``budget``."""
    return "time" if isinstance(exc, TimeBoxExpired) else "budget"


@dataclass
class FailureMarks:
    """When things happened, as the run's request count: budget refusals and first failures.

    ``refused_at``: the request count when the budget first refused a request (None: never);
    ``violation_at``: when the current check first saw a violation (reset per check);
    ``audit_first``: when the audit first flagged each requirement (the whole run).
    """

    refused: int = 0
    refused_at: int | None = None
    #: What the current check's first refusal was: "budget" (budget or plan share) or "time".
    refused_why: Literal["budget", "time"] | None = None
    violation_at: int | None = None
    audit_first: dict[str, int] = field(default_factory=dict)
    #: The plan's limit for the current check: the run's request count it may not reach.
    share_limit: int | None = None
    share_allowed: int | None = None
    #: time.monotonic() after which nothing is sent (the time box)
    deadline: float | None = None
    #: Examples the current check completed (its deterministic first case counts as one).
    examples: int = 0
    #: Examples that make the current check's minimum (None: the check must finish).
    minimum_examples: int | None = None
    #: The current check's exploration ended at its share after its minimum.
    share_ended: bool = False
    #: The request count when the current check first lost a request to the network
    #: (connection closed before any response, also on the retry): None if it never did.
    lost_at: int | None = None

    def enough_examples(self) -> bool:
        return self.minimum_examples is not None and self.examples >= self.minimum_examples


def transport_not_checked(detail: str) -> CheckResult:
    """A check whose evidence the network lost (after the retry): not checked, never failed
    and never passed; the verdict says incomplete."""
    return CheckResult.not_checked(
        "transport", f"a request was lost to the network (no answer to judge): {detail}"
    )


class RunTarget(Target):
    """A Target of the run that tells the harness when the budget refuses a request.

    A check cut short by the budget must end not checked, never failed; the harness can only tell
    the two apart if it knows whether (and when) a refusal happened during the check.
    """

    def __init__(self, settings: TargetSettings, *, marks: FailureMarks, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self._marks = marks

    def send(self, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().send(*args, **kwargs)
        except ConnectionLostError:
            # what follows in the check stands on a missing answer (settle decides)
            if self._marks.lost_at is None:
                self._marks.lost_at = self.stats.requests
            raise

    def _send_once(self, method: str, path: str, url: str, headers: Any, **kwargs: Any) -> Any:
        if kwargs.get("resend") and self._marks.share_limit is not None:
            # a request the network lost, sent again: the network's cost, not the check's (its
            # share stays what the plan gave it; the run's budget still counts the send)
            self._marks.share_limit += 1
        try:
            marks = self._marks
            if marks.deadline is not None and time.monotonic() >= marks.deadline:
                raise TimeBoxExpired("the time box (--max-duration) is over")
            if marks.share_limit is not None and self.stats.requests >= marks.share_limit:
                raise ShareSpent(
                    f"its share of the request budget ({marks.share_allowed} requests) is spent"
                )
            return super()._send_once(method, path, url, headers, **kwargs)
        except BudgetExhausted as exc:
            self._marks.refused += 1
            if self._marks.refused_at is None:
                self._marks.refused_at = self.stats.requests
                self._marks.refused_why = budget_reason(exc)
            raise


class _AuditFirstFindings:
    """Observer after the audit: the request count at each requirement's first finding."""

    def __init__(self, audit: ResponseAudit, stats: Stats, marks: FailureMarks) -> None:
        self.audit, self.stats, self.marks = audit, stats, marks

    def __call__(self, response: Response) -> None:
        for requirement_id, findings in self.audit.findings.items():
            if findings.count and requirement_id not in self.marks.audit_first:
                self.marks.audit_first[requirement_id] = self.stats.requests


def _failure(violation: Violation, how: str) -> CheckResult:
    """The failed result of the smallest violation seen, with that example's evidence."""
    evidence = getattr(violation, "evidence", None) or Evidence()
    return CheckResult.failed(f"{violation} [{how}]", evidence)


#: Statuses the endpoint documents for GET /api/snapservice/tasks (with an error body).
DOCUMENTED_ERROR_STATUSES = frozenset({400, 401, 403, 500, 503})
_HTML_HIDDEN = re.compile(r"<(head|script|style)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_HTML_TAG = re.compile(r"<[^>]*>")


def endpoint_answered(response: Response) -> bool:
    """Whether ``response`` is the endpoint's answer (right or wrong), not some other server's."""
    if response.status != 200 and response.status not in DOCUMENTED_ERROR_STATUSES:
        return False
    if isinstance(response.body, dict):
        return True
    # a body labelled JSON that does not parse is the endpoint answering badly (CONTRACT-JSON)
    declared = (response.content_type or "").split(";")[0].strip().lower()
    return response.json_error is not None and (
        declared == "application/json" or declared.endswith("+json")
    )


def harness_principals() -> HarnessPrincipals:
    """Controlled mode's own principals; passwords are fresh per run and never printed."""

    def password() -> str:
        return "Sc-" + secrets.token_urlsafe(18)

    return HarnessPrincipals(
        privileged=("snapconform-privileged@harness.local", password()),
        unprivileged=("snapconform-noprivs@harness.local", password()),
        limited=("snapconform-limited@harness.local", password()),
    )


def target_settings(config: RunConfig, base_url: str) -> TargetSettings:
    """The Target settings of ``config``: auth, TLS, timeout, budget and rate limit as ``run``
    applies them (also used by ``capture`` and ``diff``). Raises HarnessError for a missing CA
    bundle.
    """
    verify: bool | str = (
        False if config.insecure else (str(config.ca_bundle) if config.ca_bundle else True)
    )
    if config.ca_bundle is not None and not config.ca_bundle.is_file():
        raise HarnessError(f"CA bundle {config.ca_bundle} does not exist")
    # A documented 500 (over the cap) or an injected fault is an answer to judge, not a
    # transient failure: never retried (throttling 429/503 with Retry-After still is).
    no_5xx_retry: dict[str, Any] = (
        {"retry": RetryPolicy(transient_retries=0)}
        if "retry" in TargetSettings.__dataclass_fields__
        else {}
    )
    return TargetSettings(
        **no_5xx_retry,
        base_url=base_url,
        auth=config.auth,
        verify=verify,
        timeout=config.timeout,
        max_requests=config.max_requests,
        rate_limit=config.rate_limit,
    )


@dataclass
class Harness:
    config: RunConfig
    base_url: str
    seed: int
    target: Target
    source: UniverseSource
    audit: ResponseAudit
    stats: Stats
    redactor: Redactor
    contracts: Contracts
    control: ControlClient | None = None
    principals: HarnessPrincipals | None = None
    #: Declared mode: another principal of the state file with a visible_tasks list.
    limited: tuple[Credentials, frozenset[str] | None] | None = None
    notes: list[str] = field(default_factory=list)
    #: Controlled mode: the mock's state before the first push (None: the mock offers no GET).
    saved_state: dict[str, Any] | None = None
    #: Controlled mode, after close(): {"restored": bool, "detail": str}.
    mock_state: dict[str, Any] | None = None
    uncertain: dict[str, list[str]] = field(default_factory=dict)
    #: The documented alternatives the target was seen to choose (summary ``variants``).
    choices: ChoiceLog = field(default_factory=ChoiceLog)
    marks: FailureMarks = field(default_factory=FailureMarks)
    #: The run's request plan (set by the suite's plugin; None: no shares, only the budget).
    plan: RunPlan | None = None
    #: Clients of other principals this run opened (``new_target``): closed again by ``close``.
    other_targets: list[Target] = field(default_factory=list)
    _memo: dict[str, Any] = field(default_factory=dict)

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def open(
        cls, config: RunConfig, *, base_url: str, control_url: str | None, seed: int
    ) -> Harness:
        contracts = default_contracts()
        try:
            contracts.profile(config.api_version)
        except ValueError as exc:
            raise HarnessError(str(exc)) from None
        stats = Stats()
        redactor = Redactor()
        audit = ResponseAudit(repro=lambda response: "")
        settings_ = target_settings(config, base_url)
        marks = FailureMarks()
        observers = [audit, _AuditFirstFindings(audit, stats, marks)]
        try:
            target = RunTarget(
                settings_, marks=marks, stats=stats, redactor=redactor, observers=observers
            )
        except TargetError as exc:
            raise HarnessError(str(exc)) from None
        harness = cls(
            config=config,
            base_url=base_url.rstrip("/"),
            seed=seed,
            target=target,
            source=FixedSource(Universe(items=())),
            audit=audit,
            stats=stats,
            redactor=redactor,
            contracts=contracts,
            marks=marks,
        )
        audit.repro = harness.repro
        try:
            harness._prepare(control_url)
        except (TargetError, LoginRefused, HarnessError) as exc:
            harness.close()
            error = HarnessError(redactor(str(exc)))
            error.mock_state = harness.mock_state
            error.requests = harness.stats.requests
            raise error from None
        except BaseException as exc:
            # Ctrl-C during the pre-flight (a long discovery): the sessions opened so far are
            # deleted and the mock's state put back, as at the end of a run; what became of
            # the mock travels with the interrupt, for the summary (HarnessHolder.open)
            harness.close()
            exc.mock_state = harness.mock_state  # type: ignore[attr-defined]
            raise
        return harness

    def _prepare(self, control_url: str | None) -> None:
        config = self.config
        if control_url is not None:
            self.control = ControlClient(control_url, timeout=max(config.timeout, 60.0))
            self.principals = harness_principals()
            for _, password in (
                self.principals.privileged,
                self.principals.unprivileged,
                self.principals.limited,
            ):
                self.redactor.add(password)
            self.source = ControlledSource(self.control, self.principals, self._relogin)
            # Leave the mock as found: its state is saved before the first push, put back in
            # close() (also after a failure or Ctrl-C).
            self.saved_state = self.control.saved_state()
            # Pre-flight: an empty universe with our principals, then the privileged login.
            self.control.put_state(
                {"tasks": [], "principals": principals_document(self.principals, [])}
            )
            self.login(self.target, self.privileged)
            self._probe_endpoint()
            return
        if config.credentials is None and config.session_id is None:
            raise HarnessError(
                "no credentials: give --username and SNAPCONFORM_PASSWORD (privileged principal),"
                " or SNAPCONFORM_SESSION_ID (a session obtained elsewhere)"
            )
        if config.state_file is not None:
            self.source = FixedSource(self._declared_universe())
            self._login_privileged()
            self._probe_endpoint()
            return
        self._login_privileged()
        self._probe_endpoint()
        universe = discover(self.target)
        self.source = ObservedSource(universe)
        if universe.notes:
            self.notes.extend(f"discovery: {note}" for note in universe.notes)

    def _login_privileged(self) -> None:
        """The run's own client: a session given in SNAPCONFORM_SESSION_ID, else a login.

        A given session is used as it is (never logged, never deleted: it is not ours); one GET
        makes sure the target accepts it before anything else runs.
        """
        session_id = self.config.session_id
        if session_id is None:
            self.login(self.target, self.privileged)
            return
        self.redactor.add(session_id)
        self.target.adopt_session(session_id)
        note = (
            "authenticated with the session given in SNAPCONFORM_SESSION_ID (not created by"
            " snapconform, so never deleted by it)"
        )
        if note not in self.notes:
            self.notes.append(note)
        if self.target.remaining_budget == 0:
            return
        response = self.target.list_tasks(FilterSpec(tasks=("snapconform-session-check",)))
        if response.status == 401:
            raise HarnessError(
                "the session given in SNAPCONFORM_SESSION_ID was refused (HTTP 401): it has"
                " expired or belongs to another server"
            )

    @property
    def has_password(self) -> bool:
        """Whether the privileged principal's user name and password are known (not only a
        session): the wrong-password and session checks need them."""
        return self.principals is not None or self.config.credentials is not None

    def _probe_endpoint(self) -> None:
        """Pre-flight: does the target serve the endpoint at all? One GET, the privileged login.

        A 200 or a documented error status, with a JSON object (or a body labelled JSON that
        does not parse), is the endpoint answering, rightly or not: the checks judge it. Anything
        else (a 404, an HTML page, a proxy's 502) means a wrong URL or not the endpoint, and no
        verdict about it would be meaningful.
        """
        if self.target.remaining_budget == 0:
            return  # nothing may be sent; the checks will say the budget is spent
        response = self.target.list_tasks()
        if (
            response.status == 401
            and self.target.auth_scheme == "basic"
            and self.config.session_id is None
        ):
            # HTTP Basic has no login call (8.0.3 has no sessions API): this GET is the login.
            raise HarnessError(
                f"the target refused the login of {self.privileged.username!r} (HTTP 401 to HTTP"
                " Basic credentials): check --username and SNAPCONFORM_PASSWORD"
            )
        if endpoint_answered(response):
            return
        kind = (response.content_type or "no content type").split(";")[0]
        shown = response.text
        if "html" in kind:  # what a person would read on the page, not its markup
            shown = _HTML_TAG.sub(" ", _HTML_HIDDEN.sub(" ", shown))
        shown = " ".join(shown.split())
        if len(shown) > 100:
            shown = shown[:97].rsplit(" ", 1)[0] + " ..."
        answered = f"HTTP {response.status} ({kind}" + (f": {shown!r})" if shown else ")")
        raise HarnessError(
            self.redactor(
                f"GET {self.base_url}{TASKS_PATH} answered {answered}: not the snapservice "
                "tasks endpoint; check --base-url"
            )
        )

    def _declared_universe(self) -> Universe:
        from snapconform.state import (
            StateDocumentError,
            is_password_placeholder,
            load_state_file,
        )

        assert self.config.state_file is not None
        if self.config.credentials is None:
            raise HarnessError(
                "declared mode needs --username and SNAPCONFORM_PASSWORD: they name the principal"
                " of the state file whose tasks the run may see"
            )
        try:
            # a captured state names passwords as ${VARIABLE}: only ours need to be set
            state = load_state_file(self.config.state_file, strict=False)
        except StateDocumentError as exc:
            raise HarnessError(str(exc)) from None
        principal = state.principal(self.config.credentials.username)
        if principal is None or principal.password != self.config.credentials.password:
            raise HarnessError(
                f"the credentials of {self.config.credentials.username!r} do not match a principal"
                f" in {self.config.state_file}"
            )
        for candidate in state.principals:
            if (
                candidate.visible_tasks is not None
                and "System.Read" in candidate.privileges
                and not is_password_placeholder(candidate.password)
            ):
                self.redactor.add(candidate.password)
                self.limited = (
                    Credentials(candidate.username, candidate.password),
                    candidate.visible_tasks,
                )
                break
        return Universe(items=tuple(state.tasks), visible=principal.visible_tasks)

    # -- principals and targets ----------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self.source.mode if self.control is None else "controlled"

    @property
    def privileged(self) -> Credentials:
        if self.principals is not None:
            return Credentials(*self.principals.privileged)
        if self.config.credentials is None:
            # Only a session was given (SNAPCONFORM_SESSION_ID): no name, no password; the
            # checks that need them skip (``has_password``).
            return Credentials("", "")
        return self.config.credentials

    @property
    def unprivileged(self) -> Credentials | None:
        if self.principals is not None:
            return Credentials(*self.principals.unprivileged)
        return self.config.unprivileged

    def new_target(self) -> Target:
        """Another client of the same run (another principal): shared budget, redaction, audit.

        Its user closes it (``with``); ``close`` closes it again at the end of the run, so a
        Ctrl-C that cuts that ``with`` short still leaves none of its sessions behind.
        """
        target = RunTarget(
            self.target.settings,
            marks=self.marks,
            stats=self.stats,
            redactor=self.redactor,
            observers=list(self.target.observers),
        )
        self.other_targets.append(target)
        return target

    def variants_document(self) -> dict[str, Any]:
        """``variants`` of the summary: the choices the checks recorded, and the status the
        target's ResourceInaccessible answers carried (seen by the audit, whichever check asked)."""
        first = self.audit.first_inaccessible()
        if first is not None:
            self.choices.record(
                "inaccessible-status",
                str(first.status),
                "the run's first ResourceInaccessible answer",
                request=first.query,
            )
        return self.choices.document()

    def all_notes(self) -> list[str]:
        """The run's notes and every client's (retries, lost connections, redirects), each
        once: a client's notes after its login are only here (``login`` copies earlier ones)."""
        notes = list(self.notes)
        for target in (self.target, *self.other_targets):
            notes.extend(note for note in target.notes if note not in notes)
        return notes

    def login(self, target: Target, credentials: Credentials) -> None:
        self.redactor.add(credentials.password)
        target.login(
            credentials.username, credentials.password, api_version=self.config.api_version
        )
        for note in target.notes:
            if note not in self.notes:
                self.notes.append(note)

    def _relogin(self) -> None:
        # PUT {control}/state ends every session: the privileged client logs in again. Outside
        # the current check's share of the plan (the run's budget and time box still apply):
        # a share spent just after a push would leave the client with an ended session, and
        # every later check would meet 401 (a retried request spends the share sooner).
        self.stats.universe += 1
        marks = self.marks
        share_limit, marks.share_limit = marks.share_limit, None
        try:
            self.login(self.target, self.privileged)
        finally:
            marks.share_limit = share_limit

    def install(self, universe: Universe) -> None:
        self.source.install(universe)

    def universes(self, **options: Any) -> st.SearchStrategy[Universe]:
        return self.source.universes(**options)

    # -- reporting helpers ---------------------------------------------------------------------

    def repro(self, response: Response) -> str:
        return curl_line(self.base_url, response.path, self.redactor(response.query), response.auth)

    def exchange_of(self, response: Response) -> dict[str, Any]:
        """``response`` as an exchange the report renders: secrets masked, body capped."""
        request_headers = {
            "session": {SESSION_HEADER: MASK},
            "basic": {"Authorization": "Basic ***"},
            "none": {},
        }[response.auth]
        body = response.text
        if len(body) > RECORDED_BODY_LIMIT:
            body = body[:RECORDED_BODY_LIMIT] + f"... ({len(response.text)} characters)"
        return {
            "method": response.method,
            "path": response.path,
            "query": self.redactor(response.query),
            "request_headers": request_headers,
            "status": response.status,
            "response_headers": self.redactor.headers(response.headers.multi_items()),
            "body": self.redactor(body),
        }

    def evidence(
        self,
        response: Response,
        *,
        spec: FilterSpec | None = None,
        universe: Universe | None = None,
        expected: frozenset[str] | None = None,
        actual: frozenset[str] | None = None,
        **facts: Any,
    ) -> Evidence:
        """The evidence of a failing response: id sets, the counterexample, exchange, curl."""
        counterexample: dict[str, Any] = {}
        if spec is not None:
            counterexample["filter"] = spec.describe()
        counterexample["query"] = self.redactor(response.query)
        if universe is not None:
            counterexample["universe"] = universe.summary(self.mode)
        counterexample.update(facts)
        return Evidence.of(
            expected=expected,
            actual=actual,
            counterexample=counterexample,
            exchange=self.exchange_of(response),
            curl=self.repro(response),
        )

    # -- one check's outcome ---------------------------------------------------------------

    def begin_check(self, requirement_id: str | None = None) -> None:
        """Forget the previous check's marks; with a plan, set this check's allowance."""
        marks = self.marks
        marks.refused_at = None
        marks.refused_why = None
        marks.violation_at = None
        marks.lost_at = None
        marks.examples = 0
        marks.share_ended = False
        marks.share_limit = marks.share_allowed = marks.minimum_examples = None
        if self.plan is not None and requirement_id is not None:
            allowed = self.plan.allowance(requirement_id, self.stats.requests)
            marks.share_allowed = allowed
            marks.share_limit = self.stats.requests + allowed
            marks.minimum_examples = self.plan.cost(requirement_id).examples
            marks.deadline = self.plan.deadline

    def end_check(self) -> None:
        """The check's allowance ends with it (other users of the target are not limited)."""
        self.marks.share_limit = None

    def minimum_cases(self, requirement_id: str) -> int:
        """Cases ``requirement_id``'s check must judge to pass: the plan's (1 without a plan),
        at most ``--max-examples`` (a run asked for one example cannot judge two)."""
        planned = self.plan.minimum_cases(requirement_id) if self.plan is not None else 1
        return max(1, min(planned, self.max_examples))

    def minimum_requests(self, requirement_id: str) -> int:
        """The plan's minimum for ``requirement_id`` (1 without a plan)."""
        return max(1, self.plan.cost(requirement_id).minimum) if self.plan is not None else 1

    def exploration_note(self) -> str:
        """How the current check's exploration ended, when its share ended it ("" otherwise)."""
        if not self.marks.share_ended:
            return ""
        return (
            f" (explored {self.marks.examples} example(s); exploration ended at its planned share"
            f" of {self.marks.share_allowed} requests)"
        )

    def settle(self, result: CheckResult, requirement_id: str, *, audit: bool) -> CheckResult:
        """``result`` unless the budget cut the check short: then not checked, never failed.

        A failure stands when it was seen before the budget first refused a request (a
        violation found, then shrinking ran out of requests), and always for an audit
        requirement (its findings are responses already judged). Otherwise a failure that
        follows a refusal is the refusal's doing (an aborted login, a half-run scenario).
        An audit that saw nothing to judge in a run whose budget ran out was cut short too.
        """
        if (
            result.outcome == "not_checked"
            and result.reason == "no_evidence"
            and self.marks.refused > 0
        ):
            deadline = self.marks.deadline
            if deadline is not None and time.monotonic() >= deadline:
                return CheckResult.not_checked(
                    "time", f"{result.detail}: the time box (--max-duration) ended first"
                )
            return CheckResult.not_checked(
                "budget",
                f"{result.detail}: the request budget of {self.config.max_requests} ran out first",
            )
        lost_at = self.marks.lost_at
        if result.outcome == "failed" and not audit and lost_at is not None:
            violation_at = self.marks.violation_at
            if violation_at is None or violation_at > lost_at:
                # the failure followed a request the network lost (a login that never got
                # its answer, a scenario cut short): no answer of the server shows it
                return transport_not_checked(f"it was cut short: {result.detail[:200]}")
        refused_at = self.marks.refused_at
        if result.outcome != "failed" or audit or refused_at is None:
            return result
        violation_at = self.marks.violation_at
        if violation_at is not None and violation_at <= refused_at:
            return result
        share_limit = self.marks.share_limit
        limit = (
            f"its share of the plan ({self.marks.share_allowed} requests)"
            if share_limit is not None and refused_at >= share_limit
            else f"request budget of {self.config.max_requests}"
        )
        if self.marks.refused_why == "time":
            limit = "the time box (--max-duration)"
        return CheckResult.not_checked(
            self.marks.refused_why or "budget",
            f"{limit} ran out during this check: not enough"
            f" requests left to check this (it was cut short: {result.detail[:200]})",
        )

    def first_failure_request(self, requirement_id: str, *, audit: bool) -> int | None:
        """The run's request count when ``requirement_id`` first failed (call after a failure).

        Audit requirements: the response the audit first flagged. Property checks: the first
        violation (before shrinking). Other checks fail where they end.
        """
        if audit:
            return self.marks.audit_first.get(requirement_id, self.stats.requests)
        if self.marks.violation_at is not None:
            return self.marks.violation_at
        return self.stats.requests

    def note_uncertain(self, requirement_id: str, detail: str) -> None:
        self.uncertain.setdefault(requirement_id, []).append(detail)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @property
    def max_examples(self) -> int:
        return self.config.max_examples

    # -- property exploration ------------------------------------------------------------------

    def explore(
        self,
        strategy: st.SearchStrategy[T],
        prop: Callable[[T], None],
        *,
        max_examples: int | None = None,
        salt: str | None = None,
    ) -> CheckResult | None:
        """Run ``prop`` on examples of ``strategy`` (seeded); None when every example held.

        A Violation shrinks to a minimal example, and the result names the seed; budget
        exhaustion and transport errors end the exploration with a clear detail. ``salt``
        derives another example sequence from the run's seed (still reproducible by it), so
        two checks drawing from the same strategy do not send the same requests.
        """
        problems: list[BaseException] = []
        violations: list[Violation] = []
        shrink_calls = 0

        @settings(
            max_examples=max_examples or self.max_examples,
            database=None,
            deadline=None,
            derandomize=False,
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
            phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
            print_blob=False,
        )
        @hypothesis_seed(self.seed if salt is None else self.seed + zlib.crc32(salt.encode()))
        @given(strategy)
        def run(example: T) -> None:
            nonlocal shrink_calls
            if violations:
                # Shrinking against a live server costs requests: after a bounded number of
                # attempts, stop trying (the smallest real failure so far is reported).
                shrink_calls += 1
                if shrink_calls > SHRINK_BUDGET or time.monotonic() > shrink_deadline[0]:
                    raise _StopShrinking
            try:
                prop(example)
                self.marks.examples += 1
            except Violation as violation:
                if self.marks.violation_at is None:
                    self.marks.violation_at = self.stats.requests
                if not violations:
                    shrink_deadline[0] = time.monotonic() + SHRINK_SECONDS
                violations.append(violation)
                raise
            except TargetError as exc:  # BudgetExhausted included
                problems.append(exc)
                raise _Stopped from exc

        shrink_deadline = [0.0]
        try:
            run()
        except _StopShrinking:
            return _failure(violations[-1], f"seed {self.seed}; shrinking stopped at its budget")
        except Violation as violation:
            return _failure(violation, f"seed {self.seed}; minimal example after shrinking")
        except _Stopped:
            return self._stopped_by(problems[0], violations)
        except Flaky as exc:
            if violations:
                return _failure(violations[-1], f"seed {self.seed}; shrinking stopped early")
            return CheckResult.failed(
                f"the outcome was not reproducible (flaky): {self.redactor(str(exc))[:300]}"
            )
        except Uncertain as exc:
            return CheckResult.not_checked("uncertain", f"uncertain: {exc}")
        if violations:  # every later attempt "passed" because the shrink budget ran out
            return _failure(violations[-1], f"seed {self.seed}; shrinking stopped early")
        return None

    def _stopped_by(self, exc: BaseException, violations: list[Violation]) -> CheckResult | None:
        """The outcome of an exploration that the budget or the target stopped with ``exc``."""
        if violations:
            return _failure(violations[-1], f"seed {self.seed}")
        if isinstance(exc, ConnectionLostError):
            return transport_not_checked(self.redactor(str(exc)))
        if isinstance(exc, BudgetExhausted):
            if isinstance(exc, ShareSpent) and self.marks.enough_examples():
                # The plan's share ends exploration after the minimum: the check stands on the
                # examples it ran (a check cut short before its minimum is not checked).
                self.marks.share_ended = True
                return None
            return CheckResult.not_checked(
                budget_reason(exc), f"{exc}: not enough requests left to check this"
            )
        return CheckResult.failed(f"the target failed while checking: {self.redactor(str(exc))}")

    def draw(self, strategy: st.SearchStrategy[T]) -> T:
        """One example of ``strategy``, reproducible from the run's seed."""
        drawn: list[T] = []
        self.explore(strategy, drawn.append, max_examples=1)
        return drawn[0]

    def close(self) -> None:
        try:
            for other in self.other_targets:
                with suppress(TargetError):
                    other.close()  # a second close finds no session left: nothing is sent
            self.other_targets.clear()
            self.target.close()
        finally:
            if self.control is not None:
                try:
                    self.mock_state = self._restore_mock_state(self.control)
                finally:
                    self.control.close()

    def _restore_mock_state(self, control: ControlClient) -> dict[str, Any]:
        """PUT the state saved before the run back; what happened, for the summary."""
        where = f"{control.control_url}/state"
        if control.fault_armed:  # a fault the run armed but did not consume: disarm it
            with suppress(TargetError):
                control.inject_fault("SERVICE_UNAVAILABLE", 0)
        if not control.state_pushed:
            # nothing was pushed (or every push was refused): the mock is as it was found
            return {
                "restored": True,
                "changed": False,
                "detail": "the run did not change the mock's state",
            }
        if self.saved_state is None:
            return {
                "restored": False,
                "detail": f"the mock offers no GET {where}: its state was not saved, and it "
                "holds the run's last test data",
            }
        try:
            control.put_state(self.saved_state)
        except TargetError as exc:
            return {"restored": False, "detail": f"restoring the mock's state failed: {exc}"}
        tasks = len(self.saved_state.get("tasks") or [])
        principals = len(self.saved_state.get("principals") or [])
        return {
            "restored": True,
            "detail": f"the mock's state saved before the run ({tasks} tasks, {principals} "
            f"principals) was put back with PUT {where}",
        }
