"""The outcome of one requirement's check, with a detail line, and the run's verdict.

Every requirement ends in one of four outcomes (:data:`OUTCOMES`):

- ``passed`` / ``failed``: the check decided;
- ``not_applicable``: the target cannot show it, and that is no gap in the verdict. ``reason``
  says why: ``mode`` (e.g. fault injection needs controlled mode) or ``target`` (the target's
  data or setup cannot show it: "the target has 300 visible tasks: the cap cannot be reached");
- ``not_checked``: it applies but was not decided. ``reason`` says why (:data:`NOT_CHECKED`):
  budget, time, interrupted, deselected, configuration, uncertain, prerequisite, no_evidence,
  transport, discovery, error.

The verdict (:func:`verdict_of`) is ``conformant`` only when every applicable MUST passed;
``non-conformant`` when a MUST failed (whatever else happened); else ``incomplete`` when a MUST
was not checked. SHOULD-level requirements never change the verdict, checked or not.

A failure may carry evidence for the report (``snapconform.report.allure_steps``): the expected
and actual task-id sets of the minimal failing example, that example (filter and universe) as a
counterexample document, and the failing exchange with its curl line (secrets already masked).
The ``detail`` stays a readable one-liner; the evidence is what a reviewer opens next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from snapconform.engine.exchange import Exchange

Outcome = Literal["passed", "failed", "not_applicable", "not_checked"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "not_applicable", "not_checked")

NotApplicableReason = Literal["mode", "target"]
NotCheckedReason = Literal[
    "budget",
    "time",
    "interrupted",
    "deselected",
    "configuration",
    "uncertain",
    "prerequisite",
    "no_evidence",
    "transport",
    "discovery",
    "error",
]
#: Why a requirement does not apply (outcome ``not_applicable``).
NOT_APPLICABLE: dict[str, str] = {
    "mode": "the run's mode cannot show it (e.g. fault injection needs controlled mode)",
    "target": "the target's data or setup cannot show it (e.g. too few tasks to reach the cap)",
}
#: Why an applicable requirement was not decided (outcome ``not_checked``).
NOT_CHECKED: dict[str, str] = {
    "budget": "the request budget (--max-requests) ran out before the check could decide",
    "time": "the time box (--max-duration) ran out before the check could decide",
    "interrupted": "the run was interrupted (Ctrl-C, SIGTERM) before the check ran or ended",
    "deselected": "the check was not run (deselected or not collected)",
    "configuration": "the run lacks what the check needs (credentials, an optional package)",
    "uncertain": "the target's data changed under the check (observed mode): no decision",
    "prerequisite": "another requirement's failure left nothing to check",
    "no_evidence": "no response of the kind the check judges was seen during the run",
    "transport": "the network lost a request the check needed (connection closed before any"
    " response, also on the retry): no answer to judge",
    "discovery": "observed discovery could not list every part of the filter space (a part"
    " over the cap with no value left to split it by, or discovery's share of the plan spent):"
    " what the check judged rests on a partial universe",
    "error": "the harness could not run the check (an internal error or no verdict possible)",
}
Verdict = Literal["conformant", "non-conformant", "incomplete"]


@dataclass(frozen=True)
class Evidence:
    """What a failure showed: id sets, the minimal counterexample, the exchange, a curl line."""

    expected_ids: frozenset[str] | None = None
    actual_ids: frozenset[str] | None = None
    #: The minimal failing input: filter (described and encoded) and the universe it ran on.
    counterexample: Mapping[str, Any] | None = None
    #: The failing exchange, its recorded copy (``Exchange.recorded``: masked, body capped).
    exchange: Exchange | None = field(default=None, repr=False)
    curl: str | None = None

    @classmethod
    def of(
        cls,
        *,
        expected: Iterable[str] | None = None,
        actual: Iterable[str] | None = None,
        counterexample: Mapping[str, Any] | None = None,
        exchange: Exchange | None = None,
        curl: str | None = None,
    ) -> Evidence:
        return cls(
            expected_ids=None if expected is None else frozenset(expected),
            actual_ids=None if actual is None else frozenset(actual),
            counterexample=counterexample,
            exchange=exchange,
            curl=curl,
        )


NO_EVIDENCE = Evidence()


@dataclass(frozen=True)
class CheckResult:
    outcome: Outcome
    detail: str
    #: Why not applicable / not checked (a key of NOT_APPLICABLE / NOT_CHECKED); else None.
    reason: str | None = None
    expected_ids: frozenset[str] | None = None
    actual_ids: frozenset[str] | None = None
    counterexample: Mapping[str, Any] | None = None
    exchange: Exchange | None = field(default=None, repr=False)
    curl: str | None = None

    @classmethod
    def passed(cls, detail: str) -> CheckResult:
        return cls("passed", detail)

    @classmethod
    def failed(cls, detail: str, evidence: Evidence = NO_EVIDENCE) -> CheckResult:
        return cls("failed", detail).with_evidence(evidence)

    @classmethod
    def not_applicable(cls, reason: NotApplicableReason, detail: str) -> CheckResult:
        """The requirement cannot be shown by this mode or target (no gap in the verdict)."""
        if reason not in NOT_APPLICABLE:
            raise ValueError(f"unknown not-applicable reason {reason!r}")
        return cls("not_applicable", detail, reason)

    @classmethod
    def not_checked(cls, reason: NotCheckedReason, detail: str) -> CheckResult:
        """The requirement applies but was not decided (a MUST: the verdict is incomplete)."""
        if reason not in NOT_CHECKED:
            raise ValueError(f"unknown not-checked reason {reason!r}")
        return cls("not_checked", detail, reason)

    @property
    def decided(self) -> bool:
        return self.outcome in ("passed", "failed")

    def with_evidence(self, evidence: Evidence) -> CheckResult:
        return replace(
            self,
            expected_ids=evidence.expected_ids,
            actual_ids=evidence.actual_ids,
            counterexample=evidence.counterexample,
            exchange=evidence.exchange,
            curl=evidence.curl,
        )

    @property
    def evidence(self) -> Evidence:
        return Evidence(
            self.expected_ids, self.actual_ids, self.counterexample, self.exchange, self.curl
        )


def outcome_label(outcome: str, reason: str | None) -> str:
    """``not checked (budget)``, ``not applicable (mode)``, ``passed``: for people."""
    text = outcome.replace("_", " ")
    return f"{text} ({reason.replace('_', ' ')})" if reason else text


def verdict_of(requirements: Iterable[Mapping[str, Any]]) -> Verdict:
    """The verdict of per-requirement outcomes (mappings with ``level`` and ``outcome``).

    ``non-conformant`` when a MUST failed; else ``conformant`` when every MUST passed or is not
    applicable; else (a MUST not checked, or any outcome this module does not know)
    ``incomplete``. SHOULDs never decide.
    """
    musts = [r["outcome"] for r in requirements if r["level"] == "MUST"]
    if "failed" in musts:
        return "non-conformant"
    if all(outcome in ("passed", "not_applicable") for outcome in musts):
        return "conformant"
    return "incomplete"


class Violation(AssertionError):  # noqa: N818 - public name
    """Raised by a check: the requirement does not hold (a fixed case or a property's example).

    The one way a check fails: ``Requirement.check`` turns it into the failed result, with its
    evidence and its message redacted.
    """

    def __init__(self, message: str, evidence: Evidence = NO_EVIDENCE) -> None:
        super().__init__(message)
        self.evidence = evidence


class Uncertain(Exception):  # noqa: N818 - public name
    """Observed mode could not decide (churn, a part over the cap): reported, never failed."""


def outcomes_markdown() -> str:
    """The section of docs/requirements.md that explains outcomes, reasons and the verdict."""
    lines = [
        "## Outcomes and the verdict",
        "",
        "Every requirement of a run ends in one of four outcomes (`summary.json`:"
        " `requirements[].outcome` and `.reason`):",
        "",
        "| outcome | meaning |",
        "|---|---|",
        "| `passed` | the check decided: the requirement holds |",
        "| `failed` | the check decided: the target violates it (evidence in the report) |",
        "| `not_applicable` | this mode or the target's data cannot show it; no gap in the"
        " verdict |",
        "| `not_checked` | it applies but was not decided; a MUST makes the verdict `incomplete` |",
        "",
        "| outcome | reason | when |",
        "|---|---|---|",
    ]
    lines += [f"| `not_applicable` | `{k}` | {v} |" for k, v in NOT_APPLICABLE.items()]
    lines += [f"| `not_checked` | `{k}` | {v} |" for k, v in NOT_CHECKED.items()]
    lines += [
        "",
        "The verdict (exit code of `snapconform run`):",
        "",
        "- **`conformant`** (0): every applicable MUST requirement was checked and passed.",
        "- **`non-conformant`** (1): a MUST requirement failed. It wins over everything else:"
        " requirements not checked are listed as well.",
        "- **`incomplete`** (3): no MUST failed, but at least one applicable MUST was not checked"
        " (budget, time, ...). It certifies nothing; the terminal, `summary.json`"
        " (`not_checked`), `summary.md`, `junit.xml` and the Allure report list every such"
        " requirement and why.",
        "- `error` (2): no verdict was possible (`reason` says why).",
        "",
        "SHOULD-level requirements never change the verdict: a SHOULD that failed or was not"
        " checked is listed (in `not_checked`, the table and the report) and leaves a"
        " `conformant` verdict conformant. A run stopped by Ctrl-C or SIGTERM exits 130; its"
        " summary says `incomplete` (or `non-conformant` if a MUST failed before the stop).",
    ]
    return "\n".join(lines) + "\n"
