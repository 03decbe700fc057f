"""The outcome of one requirement's check: passed, failed or skipped, with a detail line.

A failure may carry evidence for the report (``snapconform.report.allure_steps``): the expected
and actual task-id sets of the minimal failing example, that example (filter and universe) as a
counterexample document, and the failing exchange with its curl line (secrets already masked).
The ``detail`` stays a readable one-liner; the evidence is what a reviewer opens next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Outcome = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class Evidence:
    """What a failure showed: id sets, the minimal counterexample, the exchange, a curl line."""

    expected_ids: frozenset[str] | None = None
    actual_ids: frozenset[str] | None = None
    #: The minimal failing input: filter (described and encoded) and the universe it ran on.
    counterexample: Mapping[str, Any] | None = None
    #: The failing exchange as a mapping ``view_exchange`` reads (masked, body capped).
    exchange: Mapping[str, Any] | None = field(default=None, repr=False)
    curl: str | None = None

    @classmethod
    def of(
        cls,
        *,
        expected: Iterable[str] | None = None,
        actual: Iterable[str] | None = None,
        counterexample: Mapping[str, Any] | None = None,
        exchange: Mapping[str, Any] | None = None,
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
    expected_ids: frozenset[str] | None = None
    actual_ids: frozenset[str] | None = None
    counterexample: Mapping[str, Any] | None = None
    exchange: Mapping[str, Any] | None = field(default=None, repr=False)
    curl: str | None = None

    @classmethod
    def passed(cls, detail: str) -> CheckResult:
        return cls("passed", detail)

    @classmethod
    def failed(cls, detail: str, evidence: Evidence = NO_EVIDENCE) -> CheckResult:
        return cls("failed", detail).with_evidence(evidence)

    @classmethod
    def skipped(cls, detail: str) -> CheckResult:
        return cls("skipped", detail)

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


class Violation(AssertionError):  # noqa: N818 - public name
    """Raised inside a Hypothesis property: the requirement does not hold for this example."""

    def __init__(self, message: str, evidence: Evidence = NO_EVIDENCE) -> None:
        super().__init__(message)
        self.evidence = evidence


class Uncertain(Exception):  # noqa: N818 - public name
    """Observed mode could not decide (churn, a part over the cap): reported, never failed."""
