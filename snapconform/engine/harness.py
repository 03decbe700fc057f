"""Harness: everything one conformance run shares — target, universe source, audit, settings.

Built once per run from a RunConfig (``Harness.open``); every check receives it. Its jobs live in
modules of their own, composed here: opening (the pre-flight) and closing a run
(``engine.lifecycle``), each check's share of the request budget (``engine.budget``), and driving
Hypothesis (``engine.explorer``). What stays here is the run's state, its principals and
clients, and the evidence a failing check reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import strategies as st

from snapconform.config import Credentials, RunConfig
from snapconform.contracts import Contracts
from snapconform.engine.alternatives import ChoiceLog
from snapconform.engine.audit import ResponseAudit
from snapconform.engine.budget import (
    BudgetAccounting,
    FailureMarks,
    RunTarget,
    budget_reason,
    refused_not_checked,
    stopped_not_checked,
    transport_not_checked,
)
from snapconform.engine.explorer import Explorer
from snapconform.engine.lifecycle import Lifecycle
from snapconform.engine.oracle import FilterSpec, curl_line
from snapconform.engine.plan import RunPlan
from snapconform.engine.target import (
    ControlClient,
    Exchange,
    Redactor,
    Stats,
    Target,
)
from snapconform.engine.universe import Universe
from snapconform.engine.universe_sources import UniverseSource
from snapconform.engine.verdicts import Evidence
from snapconform.errors import HarnessError, TimeBoxExpired
from snapconform.strategies.states import HarnessPrincipals

#: What the run's front ends import from here (the harness's jobs are in their own modules).
__all__ = [
    "Harness",
    "HarnessError",
    "TimeBoxExpired",
    "budget_reason",
    "refused_not_checked",
    "stopped_not_checked",
    "transport_not_checked",
]

T = TypeVar("T")


@dataclass
class Harness(Lifecycle, BudgetAccounting, Explorer):
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
    #: Why logouts of ``close`` failed (session ids masked): sessions the run may have left.
    cleanup_failures: list[str] = field(default_factory=list)
    _memo: dict[str, Any] = field(default_factory=dict)

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
            limiter=self.target.limiter,
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

    def install(self, universe: Universe) -> None:
        self.source.install(universe)

    def universes(self, **options: Any) -> st.SearchStrategy[Universe]:
        return self.source.universes(**options)

    # -- reporting helpers ---------------------------------------------------------------------

    def repro(self, response: Exchange) -> str:
        return curl_line(self.base_url, response.path, self.redactor(response.query), response.auth)

    def evidence(
        self,
        response: Exchange,
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
            exchange=response.recorded(self.redactor),
            curl=self.repro(response),
        )

    def note_uncertain(self, requirement_id: str, detail: str) -> None:
        self.uncertain.setdefault(requirement_id, []).append(detail)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]
