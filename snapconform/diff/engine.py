"""Drive a diff: the same stream to two targets, answers compared, churn told from deviation.

Each side is the engine's Target (GET and the session calls only, its own budget, rate limit,
TLS options and redaction), logged in with the same credentials. A difference about tasks that
are terminal on both sides counts at once (such a task cannot have changed between the two
answers); one that involves an open task, or a status-level difference next to one, is asked
again on both sides and counts only when it shows again, otherwise it is reported as uncertain.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from snapconform.config import Credentials, RunConfig
from snapconform.diff.observe import Difference, Observation, compare
from snapconform.diff.stream import (
    BOGUS_SESSION,
    WRONG_PASSWORD,
    DiffRequest,
    bootstrap,
    cap_probes,
    credential_requests,
    filter_request,
    generated_filters,
    invalid_requests,
    service_candidates,
)
from snapconform.engine.harness import HarnessError
from snapconform.engine.lifecycle import target_settings
from snapconform.engine.target import (
    SESSION_HEADER,
    BudgetExhausted,
    Exchange,
    LoginRefused,
    Redactor,
    Target,
    TargetError,
    basic_authorization,
)
from snapconform.errors import DiffError
from snapconform.filterspec import CAP, FilterSpec, encode_query
from snapconform.run.runner import effective_rate_limit

#: Requests kept back on each side for confirming differences once the stream has used the rest.
CONFIRMATION_RESERVE = 0.1
#: Requests in a row without an HTTP answer after which a side counts as gone.
MAX_TRANSPORT_FAILURES = 5
#: The request budget per side when --max-requests is not given.
DEFAULT_MAX_REQUESTS = 300


@dataclass(frozen=True)
class Finding:
    """A difference as reported: the request, the aspect and whether it is confirmed."""

    request: DiffRequest
    difference: Difference
    certainty: str  # "confirmed" | "uncertain"


@dataclass
class Outcome:
    """One request of the stream: both statuses and what differed."""

    request: DiffRequest
    status_a: int
    status_b: int
    findings: list[Finding] = field(default_factory=list)


@dataclass
class DiffResult:
    base_url_a: str
    base_url_b: str
    seed: int
    principal: str
    unprivileged: str | None
    outcomes: list[Outcome] = field(default_factory=list)
    requests_a: int = 0
    requests_b: int = 0
    stopped: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [finding for outcome in self.outcomes for finding in outcome.findings]

    @property
    def confirmed(self) -> list[Finding]:
        return [f for f in self.findings if f.certainty == "confirmed"]

    @property
    def uncertain(self) -> list[Finding]:
        return [f for f in self.findings if f.certainty == "uncertain"]


@dataclass
class Side:
    """One of the two servers, as the diff's principals see it."""

    label: str
    target: Target
    credentials: Credentials
    unprivileged: Target | None = None
    failures_in_a_row: int = 0

    def ask(self, request: DiffRequest) -> Observation:
        """The answer to ``request``; a transport failure is an answer too (status 0).

        DiffError once MAX_TRANSPORT_FAILURES requests in a row got no answer (the target is
        gone: nothing left to compare).
        """
        try:
            observation = Observation.of(self.send(request))
        except BudgetExhausted:
            raise
        except TargetError as exc:
            self.failures_in_a_row += 1
            if self.failures_in_a_row >= MAX_TRANSPORT_FAILURES:
                raise DiffError(
                    f"{self.label} ({self.target.base_url}): {self.failures_in_a_row} requests"
                    " in a row got no answer,"
                    f" the last: {self.target.redact(str(exc))}"
                ) from None
            return Observation.failed(self.target.redact(str(exc)))
        self.failures_in_a_row = 0
        return observation

    def send(self, request: DiffRequest) -> Exchange:
        query, target = request.query, self.target
        if request.auth == "principal":
            return target.get_tasks(query)
        if request.auth == "unprivileged":
            assert self.unprivileged is not None
            return self.unprivileged.get_tasks(query)
        if request.auth == "none":
            return target.get_tasks(query, authenticated=False)
        if request.auth == "wrong-password":
            wrong = basic_authorization(self.credentials.username, WRONG_PASSWORD)
            return target.get_tasks(query, headers={"Authorization": wrong}, authenticated=False)
        if request.auth == "bogus-session":
            return target.get_tasks(
                query, headers={SESSION_HEADER: BOGUS_SESSION}, authenticated=False
            )
        # ended-session: log in, log out, then use the session; without a session API the
        # login's own answer is what is compared
        created = target.create_session(self.credentials.username, self.credentials.password)
        token = created.body if isinstance(created.body, str) else None
        if created.status not in (200, 201) or not token:
            return created
        target.delete_session(token)
        return target.get_tasks(query, headers={SESSION_HEADER: token}, authenticated=False)

    def close(self) -> None:
        for target in (self.target, self.unprivileged):
            if target is not None:
                target.close()


def open_side(
    label: str, config: RunConfig, base_url: str, redactor: Redactor, max_requests: int
) -> Side:
    """Log the principals of ``config`` in on ``base_url``; DiffError when that fails."""
    assert config.credentials is not None
    side_config = replace(
        config,
        base_url=base_url,
        max_requests=max_requests,
        rate_limit=effective_rate_limit(replace(config, base_url=base_url)),
    )
    try:
        settings = target_settings(side_config, base_url)
    except HarnessError as exc:
        raise DiffError(str(exc)) from None
    targets: list[Target] = []
    try:
        target = Target(settings, redactor=redactor)
        targets.append(target)
        side = Side(label, target, config.credentials)
        _log_in(target, config.credentials, config.api_version)
        if config.unprivileged is not None:
            other = Target(settings, stats=target.stats, redactor=redactor)
            targets.append(other)
            side.unprivileged = other
            # no proof here: a 401 to the unprivileged principal is an answer to compare
            other.login(
                config.unprivileged.username,
                config.unprivileged.password,
                api_version=config.api_version,
            )
        return side
    except (TargetError, LoginRefused) as exc:
        for target in targets:
            with contextlib.suppress(TargetError):
                target.close()
        raise DiffError(f"{label} ({base_url}): {redactor(str(exc))}") from None


#: The task id of the request that proves Basic credentials (no task has it).
CREDENTIALS_PROBE = "snapconform-credentials-check"


def _log_in(target: Target, credentials: Credentials, api_version: str) -> None:
    """Log in; with HTTP Basic (nothing was exchanged) prove the credentials with one list.

    Wrong credentials would otherwise make every request a 401 on both sides: "no difference".
    """
    target.login(credentials.username, credentials.password, api_version=api_version)
    if target.auth_scheme != "basic":
        return
    probe = target.get_tasks(encode_query([("tasks", CREDENTIALS_PROBE)]))
    if probe.status == 401:
        raise LoginRefused(
            f"the target refused the login of {credentials.username!r} (HTTP 401 to a list"
            " with HTTP Basic authentication)"
        )


def run_diff(
    config: RunConfig,
    against: str,
    *,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    on_request: Callable[[Outcome], None] | None = None,
) -> DiffResult:
    """Send the stream to ``config.base_url`` (A) and ``against`` (B) and compare every answer."""
    if config.base_url is None:
        raise DiffError("--base-url is required (server A)")
    if config.credentials is None:
        raise DiffError(
            "no credentials: give --username and SNAPCONFORM_PASSWORD (the same on both sides)"
        )
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
    redactor = Redactor()
    result = DiffResult(
        base_url_a=config.base_url,
        base_url_b=against,
        seed=seed,
        principal=config.credentials.username,
        unprivileged=config.unprivileged.username if config.unprivileged else None,
    )
    side_a = open_side("A", config, config.base_url, redactor, max_requests)
    try:
        side_b = open_side("B", config, against, redactor, max_requests)
    except DiffError:
        side_a.close()
        raise
    sides = (side_a, side_b)
    reserve = max(2, int(max_requests * CONFIRMATION_RESERVE))
    try:
        _drive(result, sides, config, seed, reserve, on_request)
    except BudgetExhausted as exc:
        result.stopped = f"request budget spent ({exc})"
    except TargetError as exc:
        raise DiffError(redactor(str(exc))) from None
    finally:
        result.requests_a = side_a.target.stats.requests
        result.requests_b = side_b.target.stats.requests
        for side in sides:
            for note in side.target.notes:
                text = f"{side.label}: {redactor(note)}"
                if text not in result.notes:
                    result.notes.append(text)
            try:
                side.close()
            except TargetError as exc:
                result.notes.append(f"{side.label}: logout failed: {redactor(str(exc))}")
    return result


def _drive(
    result: DiffResult,
    sides: tuple[Side, Side],
    config: RunConfig,
    seed: int,
    reserve: int,
    on_request: Callable[[Outcome], None] | None,
) -> None:
    side_a, side_b = sides
    index = 0
    learnt: dict[str, Mapping[str, Any]] = {}

    def room() -> bool:
        left = min(side.target.remaining_budget for side in sides)
        return left > reserve

    def step(request: DiffRequest) -> tuple[Observation, Observation] | None:
        nonlocal index
        if not room():
            result.stopped = (
                result.stopped or "request budget reached (the rest is kept for confirmations)"
            )
            return None
        index += 1
        a, b = side_a.ask(request), side_b.ask(request)
        outcome = Outcome(request, a.status, b.status)
        differences = compare(a, b)
        if differences:
            outcome.findings = _confirm(request, differences, sides)
        result.outcomes.append(outcome)
        if on_request is not None:
            on_request(outcome)
        return a, b

    over_cap = False
    for spec in bootstrap():
        answers = step(filter_request(index + 1, spec))
        if answers is None:
            return
        for observation in answers:
            learnt.update(observation.items)
            if not spec.constraints():
                over_cap |= observation.body_form != "list" or len(observation.items) >= CAP
    if over_cap:
        for spec in cap_probes(list(learnt.values())):
            if step(filter_request(index + 1, spec)) is None:
                return
    refused = result.outcomes[0].status_a == 400 and result.outcomes[0].status_b == 400
    if refused:
        result.notes.append(
            "both targets refuse filters naming neither tasks nor services (HTTP 400, allowed by"
            " the bindings): every filter of the stream names a service"
        )
        for service in service_candidates(list(learnt.values())):
            answers = step(filter_request(index + 1, FilterSpec(services=(service,))))
            if answers is None:
                return
            for observation in answers:
                learnt.update(observation.items)
    unprivileged = config.unprivileged is not None
    for description, query, auth in credential_requests(unprivileged=unprivileged):
        if step(DiffRequest(index + 1, "credentials", description, query, auth)) is None:
            return
    for description, query in invalid_requests(seed):
        if step(DiffRequest(index + 1, "invalid input", description, query)) is None:
            return
    budget = min(side.target.remaining_budget for side in sides)
    stream = generated_filters(list(learnt.values()), seed, max(0, budget), name_a_service=refused)
    for spec in stream:
        if step(filter_request(index + 1, spec)) is None:
            # the generated filters are open-ended: the budget is their normal end
            result.stopped = None
            return


def _confirm(
    request: DiffRequest, differences: list[Difference], sides: tuple[Side, Side]
) -> list[Finding]:
    """Split ``differences`` into confirmed and uncertain findings (asking again if needed).

    A difference is reported at most once per certainty: its terminal tasks (confirmed at once)
    and its open tasks that differ again (confirmed on asking again) are one confirmed finding,
    not two with the same detail; the open tasks that moved are one uncertain finding.
    """
    findings: list[Finding] = []
    doubtful: list[Difference] = []
    for difference in differences:
        if difference.churn_possible or difference.open_tasks:
            doubtful.append(difference)
        else:
            findings.append(Finding(request, difference, "confirmed"))
    if not doubtful:
        return findings
    side_a, side_b = sides
    again = {d.aspect: d for d in compare(side_a.ask(request), side_b.ask(request))}
    for difference in doubtful:
        repeated = again.get(difference.aspect)
        if not difference.tasks:  # a status-level difference
            same = repeated is not None and (repeated.a, repeated.b) == (difference.a, difference.b)
            findings.append(Finding(request, difference, "confirmed" if same else "uncertain"))
            continue
        firm = difference.tasks - difference.open_tasks
        still = difference.open_tasks & (repeated.tasks if repeated is not None else frozenset())
        if firm or still:
            findings.append(Finding(request, difference.restricted(firm | still), "confirmed"))
        gone = difference.open_tasks - still
        if gone:
            findings.append(Finding(request, difference.restricted(gone), "uncertain"))
    return findings
