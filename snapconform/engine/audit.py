"""The response audit: every response of GET /api/snapservice/tasks judged once, as it arrives.

The body-level requirements (contract, unique ids, never more than the cap) hold for *every*
response of the run, whichever check caused it. Each is one run-wide check of
:mod:`snapconform.engine.runwide`; the audit feeds them every distinct response
(``after_response``) and the audit requirements' checks report their verdicts at the end of the
run (``after_run``, through :meth:`ResponseAudit.result`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from snapconform.contracts import Contracts, default_contracts
from snapconform.engine import oracle, registry
from snapconform.engine.runwide import (
    EXAMINED_ITEMS,
    KEEP_FINDINGS,
    BindingsVerdicts,
    ContractBindings,
    ContractErrorType,
    Findings,
    Judged,
    RunWideCheck,
)
from snapconform.engine.target import TASKS_PATH, Exchange
from snapconform.engine.verdicts import CheckResult
from snapconform.redaction import Redactor

__all__ = [
    "EXAMINED_ITEMS",
    "KEEP_FINDINGS",
    "BindingsVerdicts",
    "Findings",
    "ResponseAudit",
]


def run_wide_requirements() -> tuple[registry.Requirement, ...]:
    """The requirements judged on every response of the run: those declared with a run-wide
    check class (``@requirement(..., run_wide=...)``), in the catalogue's order."""
    return tuple(r for r in registry.catalogue() if r.run_wide is not None)


def _run_wide_checks(bindings: bool) -> dict[str, RunWideCheck]:
    """One fresh instance per run-wide requirement (CONTRACT-BINDINGS only with the bindings)."""
    return {
        r.id: r.run_wide(r)
        for r in run_wide_requirements()
        if r.run_wide is not None and (bindings or r.run_wide is not ContractBindings)
    }


@dataclass
class ResponseAudit:
    """Feeds every distinct list response to the run-wide checks; ``repro(response)`` renders a
    curl line for a finding, ``redactor`` masks the run's secrets in a finding's evidence.
    ``bindings``: whether CONTRACT-BINDINGS is judged (always in a run: the official bindings
    are required dependencies; a test may turn it off)."""

    repro: Callable[[Exchange], str]
    contracts: Contracts = field(default_factory=default_contracts)
    redactor: Redactor = field(default_factory=Redactor)
    bindings: bool = True
    checks: dict[str, RunWideCheck] = field(init=False)
    _seen: set[bytes] = field(default_factory=set)
    #: 200 lists of the run holding a task its own identity shows does not match the filter
    #: asked (``oracle.unmatched_by_identity``): FILTER-SOUNDNESS's evidence from every check.
    unsound: Findings = field(default_factory=Findings)
    _seen_filtered: set[bytes] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.checks = _run_wide_checks(self.bindings)

    @property
    def findings(self) -> Mapping[str, Findings]:
        """The findings of every requirement that judged at least one response."""
        return {rid: check.findings for rid, check in self.checks.items() if check.findings.judged}

    @property
    def bindings_verdicts(self) -> BindingsVerdicts:
        """CONTRACT-BINDINGS' per-run cache of decoded tasks."""
        return self._bindings_check().verdicts

    @bindings_verdicts.setter
    def bindings_verdicts(self, verdicts: BindingsVerdicts) -> None:
        self._bindings_check().verdicts = verdicts

    def _bindings_check(self) -> ContractBindings:
        for check in self.checks.values():
            if isinstance(check, ContractBindings):
                return check
        raise AttributeError("the bindings' decode is not judged: the bindings are not installed")

    def __call__(self, response: Exchange) -> None:
        if response.path != TASKS_PATH or response.method != "GET":
            return
        digest = hashlib.sha256(
            f"{response.status}\n{response.content_type}\n{response.text}".encode()
        ).digest()
        self._judge_soundness(response, digest)
        if digest in self._seen:
            return  # the very same response was judged already (repeated queries)
        self._seen.add(digest)
        judged = Judged(response, self.contracts, lambda: self.repro(response), self.redactor)
        for check in self.checks.values():
            check.after_response(judged)

    def _judge_soundness(self, response: Exchange, digest: bytes) -> None:
        """Every filtered 200 of the run, whichever check asked it: the tasks listed must match
        the filter by their own identity (a deviation that shows on a few requests only, or
        only under another check's filters, is still seen)."""
        if response.status != 200 or not isinstance(response.body, Mapping):
            return
        items = response.body.get("items")
        spec = oracle.parse_canonical_query(response.query)
        if not isinstance(items, list) or spec is None or not spec.constraints():
            return
        key = hashlib.sha256(digest + response.query.encode()).digest()
        if key in self._seen_filtered:
            return
        self._seen_filtered.add(key)
        self.unsound.judged += 1
        wrong = oracle.unmatched_by_identity(items[:EXAMINED_ITEMS], spec)
        if wrong:
            self.unsound.add(
                f"filter {spec.describe()}: {len(wrong)} listed task(s) do not match it,"
                f" e.g. {wrong[:3]} — reproduce: {self.repro(response)}"
            )

    def first_inaccessible(self) -> Exchange | None:
        """The run's first ResourceInaccessible answer (CONTRACT-ERROR-TYPE holds the rest to its
        status), or None."""
        for check in self.checks.values():
            if isinstance(check, ContractErrorType) and check.first_inaccessible is not None:
                return check.first_inaccessible.exchange
        return None

    def result(self, requirement_id: str, what: str = "") -> CheckResult:
        """The verdict of one audit requirement over the run (``what`` is the check's own);
        raises ``Violation`` with its evidence when a response violated it (``after_run``)."""
        check = self.checks.get(requirement_id)
        if check is None:
            raise KeyError(f"{requirement_id} is not a run-wide requirement the audit judges")
        return check.after_run()
