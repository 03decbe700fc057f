"""The outcome of one requirement's check: passed, failed or skipped, with a detail line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class CheckResult:
    outcome: Outcome
    detail: str

    @classmethod
    def passed(cls, detail: str) -> CheckResult:
        return cls("passed", detail)

    @classmethod
    def failed(cls, detail: str) -> CheckResult:
        return cls("failed", detail)

    @classmethod
    def skipped(cls, detail: str) -> CheckResult:
        return cls("skipped", detail)


class Violation(AssertionError):  # noqa: N818 - public name
    """Raised inside a Hypothesis property: the requirement does not hold for this example."""


class Uncertain(Exception):  # noqa: N818 - public name
    """Observed mode could not decide (churn, a part over the cap): reported, never failed."""
