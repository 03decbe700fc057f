"""The request budget as one check meets it, and how a check's result is settled from it.

A run's clients (``RunTarget``) leave marks (``FailureMarks``) when the run's budget, the check's
share of the plan or the time box refuses a request, and when the network loses one; the
harness's ``BudgetAccounting`` opens and closes each check's allowance and settles its result
from those marks: a check cut short by the budget or the network is not checked, never failed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from snapconform.engine.audit import ResponseAudit
from snapconform.engine.cleanup import InterruptLatch
from snapconform.engine.target import (
    BudgetExhausted,
    Exchange,
    Stats,
    Target,
    TargetSettings,
)
from snapconform.engine.verdicts import CheckResult
from snapconform.errors import CheckingStopped, ShareSpent, TimeBoxExpired

if TYPE_CHECKING:
    from snapconform.config import RunConfig
    from snapconform.engine.plan import RunPlan

#: Why a request was refused: the budget (or the check's share), the time box, or the run's stop
#: (``stop_when_failed``: what the run waited for was flagged, the check is cut short).
RefusalReason = Literal["budget", "time", "deselected"]


def budget_reason(exc: BudgetExhausted) -> RefusalReason:
    """The not-checked reason a refusal gives: ``time`` for the time box, ``deselected`` for the
    run's stop, else ``budget``."""
    if isinstance(exc, CheckingStopped):
        return "deselected"
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
    #: What the current check's first refusal was: "budget" (budget or plan share), "time" or
    #: "deselected" (the run's stop).
    refused_why: RefusalReason | None = None
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
    #: Requests the current check's block sent for the plan's other lines (``outside_share``):
    #: not the check's, neither its share nor its spent requests.
    apart: int = 0
    #: The run stops checking once the audit flags one of these (``stop_when_failed``): the
    #: current check, when armed, is refused its next request rather than finishing its share.
    stop_when_flagged: frozenset[str] = frozenset()
    #: Whether the stop applies to the current check (a non-audit check; never the pre-flight
    #: nor the error probe, whose requests every later check stands on).
    stop_armed: bool = False
    #: The run's interrupt: once it holds a signal, nothing more is sent (KeyboardInterrupt
    #: again, also when the first one was swallowed). None while the run closes.
    interruption: InterruptLatch | None = None

    def flagged_stop(self) -> str | None:
        """The first of ``stop_when_flagged`` the audit flagged, when the stop is armed."""
        if not self.stop_armed or not self.stop_when_flagged:
            return None
        flagged = self.stop_when_flagged.intersection(self.audit_first)
        return min(flagged) if flagged else None

    def enough_examples(self) -> bool:
        return self.minimum_examples is not None and self.examples >= self.minimum_examples


def transport_not_checked(detail: str) -> CheckResult:
    """A check whose evidence the network lost (after the retry): not checked, never failed
    and never passed; the verdict says incomplete."""
    return CheckResult.not_checked(
        "transport", f"a request was lost to the network (no answer to judge): {detail}"
    )


def stopped_not_checked(detail: str) -> CheckResult:
    """A check the run's stop cut short (``stop_when_failed``): not run to its end, so neither
    passed nor failed; what it had judged before the stop is kept in the detail."""
    return CheckResult.not_checked(
        "deselected", f"not run to its end: the run stopped checking ({detail[:200]})"
    )


def refused_not_checked(exc: BudgetExhausted) -> CheckResult:
    """A check a refused request ended (budget, share, time box or the run's stop): not
    checked, with the refusal's reason."""
    if isinstance(exc, CheckingStopped):
        return stopped_not_checked(str(exc))
    return CheckResult.not_checked(
        budget_reason(exc), f"{exc}: not enough requests left to check this"
    )


class RunTarget(Target):
    """A Target of the run that tells the harness when the budget refuses a request.

    A check cut short by the budget must end not checked, never failed; the harness can only tell
    the two apart if it knows whether (and when) a refusal happened during the check.
    """

    def __init__(self, settings: TargetSettings, *, marks: FailureMarks, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self._marks = marks

    def requests_admitted(self) -> int:
        left = super().requests_admitted()
        limit = self._marks.share_limit
        return left if limit is None else min(left, max(0, limit - self.stats.requests))

    def _connection_lost(self) -> None:
        # what follows in the check stands on a missing answer (settle decides)
        if self._marks.lost_at is None:
            self._marks.lost_at = self.stats.requests

    def _admit(self, *, resend: bool) -> None:
        if resend and self._marks.share_limit is not None:
            # a request the network lost, sent again: the network's cost, not the check's (its
            # share stays what the plan gave it; the run's budget still counts the send)
            self._marks.share_limit += 1
        if self._marks.interruption is not None:
            self._marks.interruption.reraise()
        try:
            marks = self._marks
            if marks.deadline is not None and time.monotonic() >= marks.deadline:
                raise TimeBoxExpired("the time box (--max-duration) is over")
            flagged = marks.flagged_stop()
            if flagged is not None:
                raise CheckingStopped(f"the response audit flagged {flagged}")
            if marks.share_limit is not None and self.stats.requests >= marks.share_limit:
                raise ShareSpent(
                    f"its share of the request budget ({marks.share_allowed} requests) is spent"
                )
            super()._admit(resend=resend)
        except BudgetExhausted as exc:
            self._marks.refused += 1
            if self._marks.refused_at is None:
                self._marks.refused_at = self.stats.requests
                self._marks.refused_why = budget_reason(exc)
            raise


class AuditFirstFindings:
    """Observer after the audit: the request count at each requirement's first finding."""

    def __init__(self, audit: ResponseAudit, stats: Stats, marks: FailureMarks) -> None:
        self.audit, self.stats, self.marks = audit, stats, marks

    def __call__(self, response: Exchange) -> None:
        for requirement_id, findings in self.audit.findings.items():
            if findings.count and requirement_id not in self.marks.audit_first:
                self.marks.audit_first[requirement_id] = self.stats.requests


class BudgetAccounting:
    """The harness's job of opening, closing and settling each check's share of the budget.

    A mixin of ``Harness`` (its ``config``, ``marks``, ``stats`` and ``plan``).
    """

    config: RunConfig
    marks: FailureMarks
    stats: Stats
    plan: RunPlan | None

    def begin_check(self, requirement_id: str | None = None) -> None:
        """Forget the previous check's marks; with a plan, set this check's allowance."""
        marks = self.marks
        marks.refused_at = None
        marks.refused_why = None
        marks.violation_at = None
        marks.lost_at = None
        marks.stop_armed = False
        marks.examples = 0
        marks.share_ended = False
        marks.apart = 0
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

    @contextmanager
    def outside_share(self, planned_as: str | None = None) -> Iterator[None]:
        """Requests sent in the block are not the current check's: its share moves past them.

        ``planned_as``: the plan's line that pays for them (the choice probes, once per run,
        whichever check meets them first), recorded there; None: the run's overhead (a
        relogin). Without this the check that happened to trigger them paid from its own
        share and could end not checked at a budget the plan called enough.
        """
        marks = self.marks
        share_limit, marks.share_limit = marks.share_limit, None
        before = self.stats.requests
        try:
            yield
        finally:
            sent = self.stats.requests - before
            marks.share_limit = None if share_limit is None else share_limit + sent
            marks.apart += sent
            if planned_as is not None and self.plan is not None:
                self.plan.record(planned_as, sent)

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
                "budget", f"{result.detail}: {self._refusing_limit()} ran out first"
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
        if self.marks.refused_why == "deselected":
            return stopped_not_checked(result.detail)
        return CheckResult.not_checked(
            self.marks.refused_why or "budget",
            f"{self._refusing_limit()} ran out during this check: not enough"
            f" requests left to check this (it was cut short: {result.detail[:200]})",
        )

    def _refusing_limit(self) -> str:
        """Which limit refused the check's first refused request, in the words of a verdict:
        its share of the plan (a plan gives each check a share), the time box or the budget."""
        marks = self.marks
        if marks.refused_why == "time":
            return "the time box (--max-duration)"
        refused_at, share_limit = marks.refused_at, marks.share_limit
        if refused_at is not None and share_limit is not None and refused_at >= share_limit:
            return f"its share of the plan ({marks.share_allowed} requests)"
        return f"the request budget of {self.config.max_requests}"

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

    @property
    def max_examples(self) -> int:
        return self.config.max_examples
