"""The request plan: how one run divides its request budget (and time box) among the requirements.

Decided before the first request, from the mode and the budget alone:

- every requirement gets the **minimum** it needs for a verdict: its deterministic probes, or
  the first examples of its property (``Cost.minimum``, requests);
- the decisive, cheap probes run first (the early error probe, auth, cap, faults, the cheap
  filter checks), then the exploratory filter properties, fuzzing, and the audit's contract
  probe last (``run_order``, declared by ``engine.checks.order``);
- what the minima leave is shared by the exploratory checks in proportion to their
  ``Cost.weight``; a check that needs less than its share hands the rest to the checks after it.

A budget below the sum of the minima is refused before anything is sent. While the run goes on,
each check gets an *allowance* (``RunPlan.allowance``): its minimum plus its share of what is
left after every later check's minimum is set aside. An exploratory check stops exploring when
its allowance is spent and stands on the examples it ran, provided it ran its minimum
(``Cost.examples``); a check cut short before that ends *not checked*, never passed.

With a time box (``--max-duration``), the measured time per request after the first requests
turns the time left into a number of requests; the allowances shrink to fit it, so that the
verdict is complete in time (and a check the time box cuts short is not checked).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from snapconform.config import Mode, RunConfig, format_duration
from snapconform.engine.registry import (
    Cost,
    catalogue,
    contract_probe,
    run_order as registry_run_order,
)

#: The early error probe (an invalid status, no credentials) is accounted for under this name.
ERROR_PROBE = "error probe"
#: The decisive probes of the documented alternatives (``checks.refusals.learn_choices``): one
#: request per rule, and the same filter without the reason where it was refused.
CHOICE_PROBE = "choice probe"
#: Observed discovery (the empty filter, split where it hits the cap): at least one request.
DISCOVERY = "discovery"
#: Requests per run that are not any check's: the privileged login (and a relogin or two).
OVERHEAD = 3
#: Requests measured before the time box trusts its estimate of the time per request.
TIMEBOX_SAMPLE = 20
#: Part of the time box kept free for the suite's teardown and the reports (at least
#: TIMEBOX_MIN_MARGIN seconds, at most a quarter of the time box).
TIMEBOX_MARGIN = 0.1
TIMEBOX_MIN_MARGIN = 15.0


def _costs(mode: Mode) -> dict[str, Cost]:
    """What each requirement's check needs in ``mode`` (declared with it: ``Cost``), plus the
    early error probe and, in observed mode, discovery."""
    costs = {ERROR_PROBE: Cost(2), CHOICE_PROBE: Cost(14)}
    if mode == "observed":
        costs[DISCOVERY] = Cost(1)
    for requirement in catalogue():
        cost = requirement.cost_in(mode)
        if cost is not None:
            costs[requirement.id] = cost
    return costs


def mode_costs(mode: Mode) -> dict[str, Cost]:
    """Per mode: each planned requirement's Cost (a fresh dict)."""
    return dict(_cached_costs(mode))


@cache
def _cached_costs(mode: Mode) -> dict[str, Cost]:
    return _costs(mode)


@cache
def run_order() -> tuple[str, ...]:
    """The order checks run in: decisive cheap probes first, exploration next (the audits
    after them all). Declared by ``snapconform.engine.checks.order``."""
    decisive, exploration = registry_run_order()
    return (*decisive, *exploration)


@cache
def phases() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Groups the plan is printed in."""
    decisive, exploration = registry_run_order()
    return (
        ("decisive probes", (ERROR_PROBE, CHOICE_PROBE, DISCOVERY, *decisive)),
        ("exploration", exploration),
        ("audit (contract probe)", (contract_probe(),)),
    )


def run_position(requirement_id: str, audit: bool) -> tuple[int, int]:
    """Sort key of a requirement's test: run_order(), then the audits (they judge everything),
    the contract probe first."""
    if audit:
        return (2, 0 if requirement_id == contract_probe() else 1)
    if requirement_id in run_order():
        return (0, run_order().index(requirement_id))
    return (1, 0)


@dataclass
class Share:
    """One line of the plan: a requirement's minimum, planned and spent requests."""

    requirement_id: str
    minimum: int
    planned: int
    spent: int = 0
    allowed: int | None = None

    def document(self) -> dict[str, Any]:
        return {"minimum": self.minimum, "planned": self.planned, "spent": self.spent}


@dataclass
class RunPlan:
    """The plan of one run and, while it goes on, each check's allowance."""

    mode: Mode
    budget: int
    shares: dict[str, Share]
    costs: dict[str, Cost]
    max_duration: float | None = None
    #: time.monotonic() by which the run must be done (max_duration minus a margin)
    deadline: float | None = None
    notes: list[str] = field(default_factory=list)
    _timing_from: tuple[float, int] | None = None
    _started: set[str] = field(default_factory=set)
    _time_capped: int | None = None

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def make(
        cls,
        mode: Mode,
        budget: int,
        *,
        max_duration: float | None = None,
        unprivileged: bool = True,
    ) -> RunPlan:
        costs = mode_costs(mode)
        if not unprivileged:  # not applicable without an unprivileged principal
            costs = {rid: Cost(0) if c.needs_unprivileged else c for rid, c in costs.items()}
        return cls(
            mode=mode,
            budget=budget,
            shares=_shares(costs, budget),
            costs=costs,
            max_duration=max_duration,
        )

    def restrict(self, selected: Iterable[str], audits: Iterable[str]) -> None:
        """Plan only the ``selected`` requirements (``-k``, a group marker): a deselected check
        holds no share. ``audits`` (in run order): the first selected one runs the contract
        probe, whose cost is declared on one audit requirement (``contract_probe``)."""
        chosen = set(selected)
        keep = chosen | {ERROR_PROBE, CHOICE_PROBE, DISCOVERY}
        probe = self.costs.get(contract_probe())
        first_audit = next((rid for rid in audits if rid in chosen), None)
        costs = {rid: c for rid, c in self.costs.items() if rid in keep}
        if probe is not None and first_audit is not None:
            costs[first_audit] = probe
        self.costs = costs
        self.shares = _shares(costs, self.budget)

    @property
    def minimum(self) -> int:
        return OVERHEAD + sum(s.minimum for s in self.shares.values())

    def refusal(self) -> str | None:
        """Why the budget cannot give a verdict (None: it can)."""
        if self.budget >= self.minimum:
            return None
        return (
            f"the request budget of {self.budget} is below the minimum of {self.minimum}"
            f" requests {'an' if self.mode[0] in 'aeiou' else 'a'} {self.mode} run needs for a"
            f" complete verdict: give --max-requests"
            f" {self.minimum} or more"
        )

    def start_clock(self, now: float | None = None, *, started_at: float | None = None) -> None:
        """Start the time box: at ``now`` (monotonic), or at the wall-clock ``started_at`` (the
        moment ``snapconform run`` started, so the suite's start-up counts too)."""
        if self.max_duration is not None:
            now = time.monotonic() if now is None else now
            if started_at is not None:
                now -= max(0.0, time.time() - started_at)
            margin = max(
                self.max_duration * TIMEBOX_MARGIN, min(TIMEBOX_MIN_MARGIN, self.max_duration / 4)
            )
            self.deadline = now + self.max_duration - margin

    def expired(self, now: float | None = None) -> bool:
        """Whether the time box is over (nothing more may be sent)."""
        now = time.monotonic() if now is None else now
        return self.deadline is not None and now >= self.deadline

    # -- while running ---------------------------------------------------------------------------

    def cost(self, requirement_id: str) -> Cost:
        return self.costs.get(requirement_id, Cost(0))

    def affordable(self, requests: int, now: float | None = None) -> int | None:
        """Requests the time left allows at the measured pace (None: no time box or no pace yet)."""
        if self.deadline is None:
            return None
        now = time.monotonic() if now is None else now
        if self._timing_from is None:
            self._timing_from = (now, requests)
            return None
        since, first = self._timing_from
        measured = requests - first
        if measured < TIMEBOX_SAMPLE:
            return None
        per_request = (now - since) / measured
        return max(0, int((self.deadline - now) / per_request)) if per_request > 0 else None

    def minimum_cases(self, requirement_id: str) -> int:
        """Cases ``requirement_id``'s check must judge before it may pass: one per planned
        minimum example (``Cost.examples``; at least one). Fewer: not checked, never passed."""
        return max(1, self.cost(requirement_id).examples or 1)

    def allowance(self, requirement_id: str, requests: int, now: float | None = None) -> int:
        """Requests ``requirement_id``'s check may send, starting at the run's count ``requests``.

        Its minimum plus its weight's part of what is left once every later check's minimum is
        set aside (the budget, or what the time box still allows at the measured pace).
        """
        self._started.add(requirement_id)
        cost = self.cost(requirement_id)
        in_budget = self.budget - requests
        remaining = in_budget
        affordable = self.affordable(requests, now)
        if affordable is not None and affordable < in_budget:
            remaining = affordable
            if self._time_capped is None:
                self._time_capped = requests
                self.notes.append(
                    f"time box: at the measured pace, {affordable} more requests fit in the time"
                    f" left (of {in_budget} in the budget); the remaining checks' exploration is"
                    f" scaled down to fit"
                )
        later = [s for rid, s in self.shares.items() if rid not in self._started]
        later_minimum = sum(s.minimum for s in later)
        # fsum: exactly rounded, so the shares do not depend on the order requirements are listed
        later_weight = math.fsum(self.cost(s.requirement_id).weight for s in later)
        # The time box shrinks exploration only: every check keeps its minimum (within the
        # budget); if even the minima do not fit, the deadline ends what is left, not checked.
        spare = max(0, remaining - later_minimum - cost.minimum)
        if cost.exploratory:
            extra = int(spare * cost.weight / (cost.weight + later_weight))
        else:
            extra = min(spare, max(10, cost.minimum))  # room for re-asks and re-checks
        allowed = max(0, min(in_budget - later_minimum, cost.minimum + extra))
        share = self.shares.get(requirement_id)
        if share is not None:
            share.allowed = allowed
        return allowed

    def record(self, requirement_id: str, spent: int) -> None:
        self._started.add(requirement_id)
        share = self.shares.setdefault(requirement_id, Share(requirement_id, 0, 0))
        share.spent += spent

    # -- reporting -------------------------------------------------------------------------------

    def lines(self) -> list[str]:
        """The plan as printed on a run's first lines."""
        head = (
            f"plan: {self.budget} requests; {self.minimum} are the minimum for a complete"
            f" verdict, the rest goes to exploration (planned requests per requirement:)"
        )
        if self.max_duration is not None:
            head += f"; time box {format_duration(self.max_duration)}"
        out = [head]
        for title, ids in phases():
            parts = [
                f"{rid} {self.shares[rid].planned}"
                for rid in dict.fromkeys(ids)
                if rid in self.shares and self.shares[rid].planned > 0
            ]
            if parts:
                out.append(f"  {title}: " + ", ".join(parts))
        return out

    def document(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "minimum": self.minimum,
            "max_duration_seconds": self.max_duration,
            "shares": {rid: s.document() for rid, s in self.shares.items()},
            "notes": list(self.notes),
        }


def _shares(costs: dict[str, Cost], budget: int) -> dict[str, Share]:
    """Each requirement's minimum, plus its weight's part of what the minima leave."""
    minimum = OVERHEAD + sum(c.minimum for c in costs.values())
    pool = max(0, budget - minimum)
    weights = math.fsum(c.weight for c in costs.values()) or 1.0
    return {
        rid: Share(rid, c.minimum, c.minimum + int(pool * c.weight / weights))
        for rid, c in costs.items()
    }


def plan_markdown() -> str:
    """docs/requirements.md's plan section: the order, each requirement's minimum and weight."""
    modes: tuple[Mode, ...] = ("controlled", "declared", "observed")
    budget = RunConfig.max_requests
    plans = {mode: RunPlan.make(mode, budget) for mode in modes}
    lines = [
        "## The request plan",
        "",
        "Before the first request, `snapconform run` divides its request budget (`--max-requests`,"
        f" default {budget}) among the requirements (`snapconform/engine/plan.py`) and prints the"
        " plan on its first lines; summary.json records each requirement's `planned_requests` and"
        " `spent_requests`, and `plan` (budget, minimum, time box, the requests outside any"
        " requirement).",
        "",
        "- Each requirement gets the **minimum** it needs for a verdict (below: requests; a"
        " property check's minimum covers its deterministic first case and its first examples)."
        " A budget below the sum of the minima is refused before anything is sent (exit 2,"
        " naming the minimum).",
        "- The decisive, cheap probes run first: the early error probe (one 400, one 401),"
        " authentication, the cap, injected faults, the invalid-status and empty-filter checks."
        " Then the exploratory filter properties, fuzzing, and the audit's contract probe last"
        " (the audit requirements judge every response of the run).",
        "- What the minima leave is shared by the exploratory checks in proportion to their"
        " **weight**; a check that needs less than its share hands the rest to the checks after"
        " it. An exploratory check stops at its share once it ran its minimum examples and stands"
        " on them; a check cut short before its minimum (by its share, the budget or the time"
        " box) is **not checked**, never passed.",
        "- With `--max-duration` (`90s`, `10m`, `1h30m`), the time per request measured over the"
        " first requests turns the time left into a number of requests; exploration shrinks to"
        " fit it, the minima stay, and nothing is sent after the deadline: the time box, counted"
        " from the start of `snapconform run`, less 10% (at least 15 s, at most a quarter) for"
        " the teardown and the reports. A check the deadline cuts short is not checked.",
        "",
        "Minimum requests per mode (planned at the default budget in parentheses); weight in the"
        " exploratory pool:",
        "",
        "| requirement | controlled | declared | observed | weight |",
        "|---|---|---|---|---|",
    ]
    probe = contract_probe()
    order = [ERROR_PROBE, CHOICE_PROBE, DISCOVERY, *run_order(), probe]
    for rid in order:
        cells = []
        for mode in modes:
            share = plans[mode].shares.get(rid)
            cells.append("—" if share is None else f"{share.minimum} ({share.planned})")
        weight = max(plans[mode].cost(rid).weight for mode in modes)
        name = f"{rid} (contract probe)" if rid == probe else rid
        lines.append(f"| {name} | {' | '.join(cells)} | {weight:g} |")
    totals = " | ".join(str(plans[mode].minimum) for mode in modes)
    lines.append(f"| **minimum budget** (incl. {OVERHEAD} for the login) | {totals} | |")
    return "\n".join(lines) + "\n"
