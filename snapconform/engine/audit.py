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
from snapconform.engine import registry
from snapconform.engine.runwide import (
    EXAMINED_ITEMS,
    KEEP_FINDINGS,
    BindingsVerdicts,
    ContractBindings,
    Exchange,
    Findings,
    RunWideCheck,
)
from snapconform.engine.target import TASKS_PATH, Response
from snapconform.engine.verdicts import CheckResult

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
    curl line for a finding. ``bindings``: whether CONTRACT-BINDINGS is judged (always in a run:
    the official bindings are required dependencies; a test may turn it off)."""

    repro: Callable[[Response], str]
    contracts: Contracts = field(default_factory=default_contracts)
    bindings: bool = True
    checks: dict[str, RunWideCheck] = field(init=False)
    _seen: set[bytes] = field(default_factory=set)

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

    def __call__(self, response: Response) -> None:
        if response.path != TASKS_PATH or response.method != "GET":
            return
        digest = hashlib.sha256(
            f"{response.status}\n{response.content_type}\n{response.text}".encode()
        ).digest()
        if digest in self._seen:
            return  # the very same response was judged already (repeated queries)
        self._seen.add(digest)
        exchange = Exchange.of(response, self.contracts, lambda: self.repro(response))
        for check in self.checks.values():
            check.after_response(exchange)

    def result(self, requirement_id: str, what: str = "") -> CheckResult:
        """The verdict of one audit requirement over the run (``what`` is the check's own)."""
        check = self.checks.get(requirement_id)
        if check is None:
            raise KeyError(f"{requirement_id} is not a run-wide requirement the audit judges")
        return check.after_run()
