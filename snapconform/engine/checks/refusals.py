"""Documented refusals and choices: whether a refusal is one a documented alternative allows
(shown by the server's own answers), the decisive probes that learn the target's choices once per
run, and holding the target to the choices it made (a violation naming both requests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from snapconform.engine import oracle, plan
from snapconform.engine.alternatives import REFUSED, Reason, refusal_reasons
from snapconform.engine.checks.common import filter_violation
from snapconform.engine.checks.responses import (
    is_list,
    is_refused,
    is_too_many,
    listed_ids,
    listed_items,
)
from snapconform.engine.oracle import FilterSpec
from snapconform.engine.registry import Requirement
from snapconform.engine.target import BudgetExhausted, Exchange, Target, TargetError
from snapconform.engine.universe import Universe, over_cap
from snapconform.strategies.filters import Vocabulary

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


def refusal_reasons_of(universe: Universe, spec: FilterSpec) -> list[Reason]:
    """Every documented reason a server may refuse ``spec`` for (400), as far as ``universe``
    tells: the filter's own (``refusal_reasons``) and, per field, a value no visible task holds."""
    values = universe.vocabulary.values
    unknown = [
        Reason("unknown-identifiers", name)
        for name, chosen in spec.constraints().items()
        if name != "status" and any(value not in values.get(name, ()) for value in chosen)
    ]
    return [*map(Reason, refusal_reasons(spec)), *unknown]


#: A service named to a filter that names neither tasks nor services when the universe knows
#: none (an empty universe): the bindings' own service id (a value no task needs to hold).
ANY_SERVICE = "com.vmware.snapservice.tasks"


def without_reasons(
    h: Harness, universe: Universe, spec: FilterSpec, reasons: list[Reason]
) -> FilterSpec | None:
    """``spec`` without ``reasons``: repeats dropped, values outside the status enum and unknown
    identifiers dropped, and (when it names neither tasks nor services and the target may
    require them) every service of the universe named. None when no such filter can be made
    (no service known, and the target's answer to a service no task holds not known)."""
    keys = {reason.key for reason in reasons}
    unknown_in = {r.field for r in reasons if r.key == "unknown-identifiers"}
    known = universe.vocabulary.values
    enum = oracle.status_enum()
    out: dict[str, tuple[str, ...]] = {}
    for name, chosen in spec.constraints().items():
        kept = tuple(dict.fromkeys(chosen)) if "repeated-values" in keys else chosen
        if name == "status" and "unknown-status" in keys:
            kept = tuple(v for v in kept if v in enum)
        if name in unknown_in:
            kept = tuple(v for v in kept if v in known.get(name, ()))
        if kept:
            out[name] = kept
    fixed = FilterSpec(**out)
    if fixed.tasks or fixed.services:
        return fixed
    if h.choices.chosen_for("filter-without-tasks-or-services") == "listed":
        return fixed
    services = tuple(sorted(known.get("services", ())))
    if not services:
        if h.choices.chosen_for("unknown-identifiers", "services") != "omitted":
            return None
        services = (ANY_SERVICE,)
    return fixed.with_field("services", services)


@dataclass(frozen=True)
class Refusal:
    """A refusal shown to be documented: the same filter without its reasons (``spec``) was
    accepted (``response``: a list, or the cap error); both None when it could not be asked."""

    reasons: tuple[Reason, ...]
    spec: FilterSpec | None = None
    response: Exchange | None = None


def documented_refusal(
    h: Harness,
    universe: Universe,
    spec: FilterSpec,
    response: Exchange,
    req: Requirement | None = None,
    *,
    target: Target | None = None,
) -> Refusal | None:
    """Whether ``response`` refuses ``spec`` the way a documented alternative may, with the
    reason shown by the server's own answers (the choice held for the rest of the run).

    400 InvalidArgument for a filter naming neither tasks nor services (bindings), with a
    repeated value (sets), an unknown status value or an identifier the universe does not hold;
    500 ResourceInaccessible for an unknown task id ("a task's state cannot be accessed"). A
    reason counts only if the target did not choose otherwise for it earlier in the run (else
    the refusal contradicts that choice: a violation naming both requests), and only when the
    same filter without the reasons is accepted (a list, or the cap error): a 400 there too
    means the reason is not what the server refused (a violation). None: not a documented
    refusal (the caller judges it).
    """
    target = target or h.target
    learn_choices(h, universe)
    if is_refused(response):
        reasons = refusal_reasons_of(universe, spec)
        if not reasons:
            return None
        open_reasons = [
            r for r in reasons if h.choices.chosen_for(r.key, r.field) in (None, REFUSED)
        ]
        if not open_reasons:
            earlier = h.choices.chosen[reasons[0].rule]
            raise filter_violation(
                h,
                spec,
                response,
                f"HTTP 400 although no documented reason applies: the one this filter has"
                f" ({reasons[0].describe()}) the target accepts, its choice '{earlier.choice}'"
                f" shown by {earlier.example} (GET ?{earlier.request}); a server makes each"
                " documented choice once",
                universe=universe,
                expected_status=200,
                earlier_request=earlier.request,
            )
        return confirm_refusal(h, universe, spec, response, open_reasons, req, target)
    if is_too_many(response) and universe.unknown_task_ids(spec):
        reason = Reason("unknown-identifiers", "tasks")
        if h.choices.chosen_for(reason.key, "tasks") not in (None, "inaccessible"):
            fixed = without_reasons(h, universe, spec, [reason])
            if fixed is None or over_cap(universe, fixed) is not False:
                return Refusal((reason,))  # the known ids alone may be over the cap
        hold(h, universe, spec, response, reason, "inaccessible")
        return Refusal((reason,))
    return None


def confirm_refusal(
    h: Harness,
    universe: Universe,
    spec: FilterSpec,
    response: Exchange,
    reasons: list[Reason],
    req: Requirement | None,
    target: Target,
) -> Refusal | None:
    """Ask ``spec`` without ``reasons``: accepted, the refusal is documented (recorded when one
    reason alone explains it); refused again, it is not (a violation); else uncertain."""
    fixed = without_reasons(h, universe, spec, reasons)
    why = "; ".join(reason.describe() for reason in reasons)
    if fixed is None:
        if req is not None:
            h.note_uncertain(req.id, f"{spec.describe()}: HTTP 400 ({why}); cannot be shown")
        return Refusal(tuple(reasons))
    again = target.list_tasks(fixed)
    accepted = is_list(again) or is_too_many(again)
    if accepted:
        if len(reasons) == 1:
            hold(h, universe, spec, response, reasons[0], REFUSED)
        return Refusal(tuple(reasons), fixed, again if is_list(again) else None)
    if is_refused(again):
        raise filter_violation(
            h,
            spec,
            response,
            f"HTTP 400, and the same filter without what a documented alternative may refuse"
            f" ({why}), {fixed.describe()}, is refused too (HTTP 400): the refusal's reason is"
            f" not shown — reproduce the second: {h.repro(again)}",
            universe=universe,
            expected_status=200,
            without_reasons=fixed.describe(),
        )
    if req is not None:
        h.note_uncertain(
            req.id,
            f"{spec.describe()}: HTTP 400 ({why}); without it HTTP {again.status}: not shown",
        )
    return Refusal(tuple(reasons))


def hold(
    h: Harness,
    universe: Universe,
    spec: FilterSpec,
    response: Exchange,
    reason: Reason,
    choice: str,
) -> None:
    """Record ``choice`` for ``reason``'s rule; a violation when the target chose otherwise
    earlier in the run (both requests named)."""
    learn_choices(h, universe)
    earlier = h.choices.record(
        reason.key, choice, spec.describe(), field=reason.field, request=response.query
    )
    if earlier is None:
        return
    raise filter_violation(
        h,
        spec,
        response,
        f"answered as '{choice}' for {reason.rule} ({reason.describe()}), but the target chose"
        f" '{earlier.choice}' for the same question earlier: {earlier.describe()}; a server"
        " makes each documented choice once",
        universe=universe,
        earlier_request=earlier.request,
    )


#: Values no task holds, one per field, for the decisive probes (plain: no percent-encoding).
PROBE_UNKNOWN = {
    "tasks": "snapconform-unknown-task",
    "operations": "snapconform-unknown-operation",
    "services": "snapconform-unknown-service",
    "users": "snapconform-unknown-user",
}
CHOICE_PROBE = "choice-probe"


def learn_choices(h: Harness, universe: Universe) -> None:
    """The decisive probes, once per run: for each documented alternative a request whose only
    possible refusal reason is that question, so the target's choice is known before any later
    answer is judged (and held to it).

    Each needs a service (and for the unknown service a task) the universe holds, matching at
    most the cap; a probe the universe cannot make yet waits for a universe that can (controlled
    mode pushes many). Plain GETs; planned apart from the checks (``plan.CHOICE_PROBE``).
    """
    done: set[str] = h.memo(CHOICE_PROBE, set)
    if len(done) == len(PROBE_UNKNOWN) + 3:
        return
    service = _small_value(universe, "services")
    if service is None:
        return
    probes: dict[str, tuple[Reason, FilterSpec, FilterSpec]] = {}
    others = [n for n in ("operations", "users", "status") if _small_value(universe, n)]
    if others:
        name = others[0]
        value = _small_value(universe, name)
        assert value is not None
        probes["no-tasks-or-services"] = (
            Reason("filter-without-tasks-or-services"),
            FilterSpec(**{name: (value,)}),
            FilterSpec(**{name: (value,), "services": (service,)}),
        )
    base = FilterSpec(services=(service,))
    probes["repeats"] = (Reason("repeated-values"), FilterSpec(services=(service, service)), base)
    probes["status"] = (
        Reason("unknown-status"),
        FilterSpec(services=(service,), status=("snapconform-unknown-status",)),
        base,
    )
    task = _small_value(universe, "tasks")
    for name, value in PROBE_UNKNOWN.items():
        reason = Reason("unknown-identifiers", name)
        if name == "services":
            if task is None:
                continue
            probes[name] = (
                reason,
                FilterSpec(tasks=(task,), services=(value,)),
                FilterSpec(tasks=(task,)),
            )
        else:
            probes[name] = (reason, FilterSpec(services=(service,), **{name: (value,)}), base)
    with h.outside_share(plan.CHOICE_PROBE):
        try:
            for key, (reason, spec, plain) in probes.items():
                if key in done:
                    continue
                done.add(key)
                _probe(h, universe, reason, spec, plain)
        except (BudgetExhausted, TargetError):
            pass  # the checks meet the same condition and report it


def _probe(
    h: Harness, universe: Universe, reason: Reason, spec: FilterSpec, plain: FilterSpec
) -> None:
    """Ask ``spec`` (refusable only for ``reason``) and record the target's choice."""
    response = h.target.list_tasks(spec)
    record = partial(
        h.choices.record,
        reason.key,
        example=spec.describe(),
        field=reason.field,
        request=response.query,
        probe=True,
    )
    if is_list(response):
        listed = {
            "filter-without-tasks-or-services": "listed",
            "repeated-values": "deduplicated",
            "unknown-status": "matches-none",
            "unknown-identifiers": "omitted",
        }
        record(listed[reason.key])
    elif is_refused(response) and is_list(h.target.list_tasks(plain)):
        record(REFUSED)  # refused, and accepted without the reason: decisive
    elif reason.field == "tasks" and is_too_many(response) and is_list(h.target.list_tasks(plain)):
        record("inaccessible")


def _small_value(universe: Universe, name: str) -> str | None:
    """A value of ``name`` that visible tasks hold, matching the fewest (at most the cap)."""
    counts = universe.vocabulary.counts.get(name, {})
    held = [v for v in universe.vocabulary.held(name) if 0 < counts[v] <= oracle.CAP // 2]
    # The first that needs no percent-encoding, else the first: encoding stops at the first
    # plain one (a universe holds ~1500 task ids, encoding them all was 2% of a run's CPU).
    plain = (v for v in held if oracle.encode_query([("v", v)]) == f"v={v}")
    return next(plain, held[0] if held else None)


def every_value(h: Harness, universe: Universe) -> Mapping[str, tuple[str, ...]]:
    """Per field, every value a task of ``universe`` holds, visible or not.

    Made once per universe (the run keeps the last one): every 200 list asks, and a declared
    or observed universe holds about 1500 tasks (computing it per answer was a fifth of a
    declared run's CPU).
    """
    slot: list[Any] = h.memo("every-value", lambda: [None, None])
    if slot[0] is not universe:
        slot[:] = [universe, Vocabulary.of(universe.items).values]
    return slot[1]


def note_listed(h: Harness, universe: Universe, spec: FilterSpec, response: Exchange) -> None:
    """Record the documented alternatives a 200 list to ``spec`` shows the target chose, and
    hold the target to the choices it made earlier (a violation naming both requests)."""
    learn_choices(h, universe)
    if not spec.tasks and not spec.services:
        hold(h, universe, spec, response, Reason("filter-without-tasks-or-services"), "listed")
    if any(len(set(v)) != len(v) for v in spec.constraints().values()):
        hold(h, universe, spec, response, Reason("repeated-values"), "deduplicated")
    if universe.exact and not oracle.unknown_status_values(spec):
        # Only an exact universe knows a value no task holds (a live one gains tasks); visible or
        # not: a server refusing unknown values knows the invisible tasks' values.
        every = every_value(h, universe)
        for name, chosen in spec.constraints().items():
            if name != "status" and any(v not in every.get(name, ()) for v in chosen):
                hold(h, universe, spec, response, Reason("unknown-identifiers", name), "omitted")
    if spec.users and universe.known_expected(spec) is not None:
        choice = users_case_shown(universe, spec, response)
        if choice is not None:
            hold(h, universe, spec, response, Reason("users-case"), choice)


def users_case_shown(universe: Universe, spec: FilterSpec, response: Exchange) -> str | None:
    """How a 200 list to ``spec`` shows users compare: ``case-insensitive`` when it lists a task
    whose user only another case of a filtered user names, ``case-sensitive`` when it lists none
    of those. None when it shows nothing: no such task exists, or the list holds a task that
    matches under neither comparison (invented or unfiltered data, FILTER-SOUNDNESS's finding:
    such a list is no evidence of how users compare).
    """
    folded = universe.allowed(spec) - universe.expected(spec)
    if not folded or not all(oracle.may_match(item, spec) for item in listed_items(response)):
        return None
    return "case-insensitive" if folded & listed_ids(response) else "case-sensitive"


def refused_as_documented(
    h: Harness,
    universe: Universe,
    spec: FilterSpec,
    response: Exchange,
    req: Requirement | None = None,
) -> bool:
    """Neither a list nor the cap error, but a refusal a documented alternative allows."""
    return (
        not is_list(response)
        and not (is_too_many(response) and not universe.unknown_task_ids(spec))
        and documented_refusal(h, universe, spec, response, req)
    )


def with_every_service(universe: Universe, spec: FilterSpec) -> FilterSpec | None:
    """``spec`` naming every service the universe holds: the same tasks, and a filter that a
    server requiring tasks or services (bindings) answers. None: nothing to add."""
    if spec.tasks or spec.services:
        return None
    services = tuple(sorted(universe.vocabulary.values.get("services", ())))
    if not services:
        return None
    return spec.with_field("services", services)
