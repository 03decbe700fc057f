"""A check the budget cut short says which limit refused it: its plan share, or the budget."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from snapconform.engine.budget import BudgetAccounting, FailureMarks
from snapconform.engine.verdicts import CheckResult


class _Accounting(BudgetAccounting):
    def __init__(self, *, refused_at: int, share_limit: int | None, why: str = "budget") -> None:
        self.config = SimpleNamespace(max_requests=1000)  # type: ignore[assignment]
        self.stats = SimpleNamespace(requests=refused_at)  # type: ignore[assignment]
        self.plan = None
        self.marks = FailureMarks()
        self.marks.refused, self.marks.refused_at = 1, refused_at
        self.marks.refused_why = why  # type: ignore[assignment]
        self.marks.share_limit, self.marks.share_allowed = share_limit, 3


@pytest.mark.parametrize(
    ("share_limit", "limit"),
    [
        (506, "its share of the plan (3 requests)"),
        (None, "the request budget of 1000"),
        (600, "the request budget of 1000"),
    ],
)
def test_no_evidence_names_the_limit_that_refused(share_limit: int | None, limit: str) -> None:
    accounting = _Accounting(refused_at=506, share_limit=share_limit)
    result = CheckResult.not_checked("no_evidence", "no list showed the user")
    settled = accounting.settle(result, "FILTER-USERS-EXACT", audit=False)
    assert (settled.outcome, settled.reason) == ("not_checked", "budget")
    assert settled.detail == f"no list showed the user: {limit} ran out first"


@pytest.mark.parametrize(
    ("share_limit", "limit"),
    [(506, "its share of the plan (3 requests)"), (None, "the request budget of 1000")],
)
def test_a_failure_after_a_refusal_names_the_limit_that_refused(
    share_limit: int | None, limit: str
) -> None:
    accounting = _Accounting(refused_at=506, share_limit=share_limit)
    settled = accounting.settle(
        CheckResult.failed("a half-run scenario"), "FILTER-SOUNDNESS", audit=False
    )
    assert (settled.outcome, settled.reason) == ("not_checked", "budget")
    assert settled.detail.startswith(f"{limit} ran out during this check")
