"""Hypothesis driving: a check's property explored on seeded examples, failures shrunk.

``Explorer.explore`` runs a property on examples of a strategy, seeded from the run's seed, with
shrinking bounded against a live server; the budget, the plan's share, the time box and the
network end an exploration as not checked (or, after its minimum, as the share's end).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from typing import TypeVar

from hypothesis import strategies as st
from hypothesis.errors import Flaky

from snapconform.engine.budget import FailureMarks, refused_not_checked, transport_not_checked
from snapconform.engine.driver import drive
from snapconform.engine.target import BudgetExhausted, Redactor, Stats, TargetError
from snapconform.engine.verdicts import CheckResult, Evidence, Uncertain, Violation
from snapconform.errors import ConnectionLostError, ShareSpent

T = TypeVar("T")

#: Property runs allowed after the first failure (shrinking against a live server).
SHRINK_BUDGET = 30
SHRINK_SECONDS = 6.0


class _StopShrinking(BaseException):
    """Ends Hypothesis' shrinking early (a BaseException, so Hypothesis does not catch it)."""


class _Stopped(BaseException):
    """Ends an exploration that the budget or the target stopped, at once.

    A BaseException, so Hypothesis neither shrinks it (a stop is not a failure: shrinking it
    drew example after example, each raising the stop again, for nothing) nor replays it.
    """


def _failure(violation: Violation, how: str) -> Violation:
    """The smallest violation seen, saying how it was found, with that example's evidence."""
    evidence = getattr(violation, "evidence", None) or Evidence()
    return Violation(f"{violation} [{how}]", evidence)


class Explorer:
    """The harness's job of driving Hypothesis for the checks (``explore``, ``draw``).

    A mixin of ``Harness`` (its ``seed``, ``marks``, ``stats``, ``redactor`` and
    ``max_examples``).
    """

    seed: int
    marks: FailureMarks
    stats: Stats
    redactor: Redactor
    max_examples: int

    def explore(
        self,
        strategy: st.SearchStrategy[T],
        prop: Callable[[T], None],
        *,
        max_examples: int | None = None,
        salt: str | None = None,
    ) -> CheckResult | None:
        """Run ``prop`` on examples of ``strategy`` (seeded); None when every example held.

        A Violation shrinks to a minimal example, then is raised again naming the seed (after
        shrinking: raising it ends the check, as a failure of a fixed case does); a target
        error fails the same way. Budget exhaustion and transport errors end the exploration
        as not checked (the result returned), the plan's share after its minimum as None. ``salt``
        derives another example sequence from the run's seed (still reproducible by it), so
        two checks drawing from the same strategy do not send the same requests.
        """
        problems: list[BaseException] = []
        violations: list[Violation] = []
        shrink_calls = 0

        def run(example: T) -> None:
            nonlocal shrink_calls
            if violations:
                # Shrinking against a live server costs requests: after a bounded number of
                # attempts, stop trying (the smallest real failure so far is reported).
                shrink_calls += 1
                if shrink_calls > SHRINK_BUDGET or time.monotonic() > shrink_deadline[0]:
                    raise _StopShrinking
            try:
                prop(example)
                self.marks.examples += 1
            except Violation as violation:
                if self.marks.violation_at is None:
                    self.marks.violation_at = self.stats.requests
                if not violations:
                    shrink_deadline[0] = time.monotonic() + SHRINK_SECONDS
                violations.append(violation)
                raise
            except TargetError as exc:  # BudgetExhausted included
                problems.append(exc)
                raise _Stopped from exc

        shrink_deadline = [0.0]
        seed = self.seed if salt is None else self.seed + zlib.crc32(salt.encode())
        try:
            drive(strategy, run, max_examples=max_examples or self.max_examples, seed=seed)
        except _StopShrinking:
            raise _failure(
                violations[-1], f"seed {self.seed}; shrinking stopped at its budget"
            ) from None
        except Violation as violation:
            raise _failure(
                violation, f"seed {self.seed}; minimal example after shrinking"
            ) from None
        except _Stopped:
            return self._stopped_by(problems[0], violations)
        except Flaky as exc:
            if violations:
                raise _failure(
                    violations[-1], f"seed {self.seed}; shrinking stopped early"
                ) from None
            raise Violation(
                f"the outcome was not reproducible (flaky): {self.redactor(str(exc))[:300]}"
            ) from None
        except Uncertain as exc:
            return CheckResult.not_checked("uncertain", f"uncertain: {exc}")
        if violations:  # every later attempt "passed" because the shrink budget ran out
            raise _failure(violations[-1], f"seed {self.seed}; shrinking stopped early")
        return None

    def _stopped_by(self, exc: BaseException, violations: list[Violation]) -> CheckResult | None:
        """The outcome of an exploration that the budget or the target stopped with ``exc``
        (a violation seen before, or the target's failure, raised)."""
        if violations:
            raise _failure(violations[-1], f"seed {self.seed}")
        if isinstance(exc, ConnectionLostError):
            return transport_not_checked(self.redactor(str(exc)))
        if isinstance(exc, BudgetExhausted):
            if isinstance(exc, ShareSpent) and self.marks.enough_examples():
                # The plan's share ends exploration after the minimum: the check stands on the
                # examples it ran (a check cut short before its minimum is not checked).
                self.marks.share_ended = True
                return None
            return refused_not_checked(exc)
        raise Violation(f"the target failed while checking: {self.redactor(str(exc))}")

    def draw(self, strategy: st.SearchStrategy[T]) -> T:
        """One example of ``strategy``, reproducible from the run's seed."""
        drawn: list[T] = []
        self.explore(strategy, drawn.append, max_examples=1)
        return drawn[0]
