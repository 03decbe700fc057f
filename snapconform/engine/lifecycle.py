"""Opening and closing a run's harness: pre-flight, login, mode choice, cleanup.

``Lifecycle.open`` is the pre-flight: it reaches the target, logs in the privileged principal,
chooses the mode (controlled with a control URL, declared with a state file, observed otherwise)
and learns the universe, and raises HarnessError with one clear line when no verdict is
possible. ``Lifecycle.close`` deletes every session the run opened and puts a mock's state back,
on every way out (a failure, Ctrl-C).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from typing import TYPE_CHECKING, Any

from snapconform.config import Credentials, RunConfig
from snapconform.contracts import default_contracts
from snapconform.engine.audit import ResponseAudit
from snapconform.engine.budget import AuditFirstFindings, FailureMarks, RunTarget
from snapconform.engine.discovery import discover
from snapconform.engine.oracle import FilterSpec
from snapconform.engine.safety import RetryPolicy
from snapconform.engine.target import (
    TASKS_PATH,
    ControlClient,
    Exchange,
    LoginRefused,
    Redactor,
    Stats,
    Target,
    TargetError,
    TargetSettings,
)
from snapconform.engine.universe import Universe
from snapconform.engine.universe_sources import (
    ControlledSource,
    FixedSource,
    ObservedSource,
    UniverseSource,
)
from snapconform.errors import HarnessError
from snapconform.strategies.states import HarnessPrincipals, principals_document

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness

#: Statuses the endpoint documents for GET /api/snapservice/tasks (with an error body).
DOCUMENTED_ERROR_STATUSES = frozenset({400, 401, 403, 500, 503})
_HTML_HIDDEN = re.compile(r"<(head|script|style)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_HTML_TAG = re.compile(r"<[^>]*>")


def endpoint_answered(response: Exchange) -> bool:
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
    return TargetSettings(
        retry=RetryPolicy(transient_retries=0),
        base_url=base_url,
        auth=config.auth,
        verify=verify,
        timeout=config.timeout,
        max_requests=config.max_requests,
        rate_limit=config.rate_limit,
        concurrency=config.concurrency,
    )


class Lifecycle:
    """The harness's job of opening (the pre-flight) and closing a run.

    A mixin of ``Harness``: ``open`` builds one; the rest reads and sets its fields.
    """

    config: RunConfig
    base_url: str
    target: Target
    source: UniverseSource
    redactor: Redactor
    stats: Stats
    control: ControlClient | None
    principals: HarnessPrincipals | None
    limited: tuple[Credentials, frozenset[str] | None] | None
    notes: list[str]
    saved_state: dict[str, Any] | None
    mock_state: dict[str, Any] | None
    marks: FailureMarks
    other_targets: list[Target]
    cleanup_failures: list[str]
    privileged: Credentials
    outside_share: Callable[[], AbstractContextManager[None]]  # BudgetAccounting's

    @classmethod
    def open(
        cls: type[Harness],
        config: RunConfig,
        *,
        base_url: str,
        control_url: str | None,
        seed: int,
    ) -> Harness:
        """The harness of a run, after its pre-flight (HarnessError: no verdict is possible)."""
        contracts = default_contracts()
        try:
            contracts.profile(config.api_version)
        except ValueError as exc:
            raise HarnessError(str(exc)) from None
        stats = Stats()
        redactor = Redactor()
        audit = ResponseAudit(repro=lambda response: "", redactor=redactor)
        settings_ = target_settings(config, base_url)
        marks = FailureMarks()
        observers = [audit, AuditFirstFindings(audit, stats, marks)]
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
        with self.outside_share():
            self.login(self.target, self.privileged)

    def close(self) -> None:
        targets = [*self.other_targets, self.target]
        try:
            for other in self.other_targets:
                with suppress(TargetError):
                    other.close()  # a second close finds no session left: nothing is sent
            self.other_targets.clear()
            self.target.close()
        finally:
            # a logout that failed is a session left on the target: the summary says so
            self.cleanup_failures = [f for t in targets for f in t.sessions.failures]
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
