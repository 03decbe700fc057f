"""Observed mode's discovery: the visible universe of a live server, learned by listing.

The empty filter first; when it hits the 1000-task cap, the filter space is partitioned
(``SPLIT_ORDER``) until every part is under it, or a server that refuses repeated values is
read through ``services=`` one service at a time (``discover_through_services``). What could
not be listed is recorded as uncertain, and :func:`within_discovery` keeps a pass that rests
on an incomplete discovery from counting as checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from snapconform.engine.oracle import (
    CAP,
    FILTER_FIELDS,
    TERMINAL_STATUSES,
    FilterSpec,
    encode_query,
    is_cap_error,
    is_refusal,
    matches,
)
from snapconform.engine.target import Exchange, Target
from snapconform.engine.verdicts import CheckResult
from snapconform.strategies.contract_data import statuses

if TYPE_CHECKING:
    from snapconform.engine.registry import Requirement

from snapconform.engine.universe import Universe

T = TypeVar("T")

#: Order in which observed discovery splits a part that hits the cap.
SPLIT_ORDER: tuple[str, ...] = ("status", "services", "operations", "users")


def plain_locator(item: Mapping[str, Any] | None) -> FilterSpec | None:
    """A filter on ``item``'s status, service and operation, if none of them needs encoding.

    None when ``item`` is unknown, or its task id needs no encoding either (then ``tasks=``
    already asked the question plainly).
    """
    if item is None or _plain(str(item.get("task"))):
        return None
    info = item.get("info") or {}
    values = {
        "status": info.get("status"),
        "services": info.get("service"),
        "operations": info.get("operation"),
    }
    if not all(isinstance(v, str) and v and _plain(v) for v in values.values()):
        return None
    return FilterSpec(**{name: (value,) for name, value in values.items()})


def _plain(value: str) -> bool:
    """Whether ``value`` goes on the wire as it is (no percent-encoding)."""
    return encode_query([("v", value)]) == f"v={value}"


def items_by_id(response: Exchange) -> dict[str, Mapping[str, Any]]:
    if response.status != 200 or not isinstance(response.body, Mapping):
        return {}
    items = response.body.get("items")
    if not isinstance(items, list):
        return {}
    return {
        i["task"]: i for i in items if isinstance(i, Mapping) and isinstance(i.get("task"), str)
    }


def _is_too_many(response: Exchange) -> bool:
    return is_cap_error(response.status, response.body)


@dataclass
class Discovery:
    """The result of observed discovery: items, what was uncertain, requests spent."""

    items: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    #: task id -> the (normalised) discovery filters whose answers listed it
    sources: dict[str, set[FilterSpec]] = field(default_factory=dict)
    uncertain: list[str] = field(default_factory=list)
    #: Wrong-looking answers discovery worked around (listed by parts): noted, still complete.
    answers: list[str] = field(default_factory=list)
    parts: int = 0
    #: Parts answered with the cap error: evidence that the cap is reachable on this target.
    cap_errors: list[str] = field(default_factory=list)
    #: Fields a part over the cap was split by beyond status (an open set of values: only the
    #: values the bindings or the listed tasks name were asked).
    open_splits: set[str] = field(default_factory=set)


#: The snapservice service identifiers the official bindings define (the ``_VAPI_SERVICE_ID`` of
#: every interface of vmware-vsan-data-protection 9.1.1.0; tests/contracts checks the list
#: against the installed bindings). Candidates of discovery through ``services=``.
BINDINGS_SERVICES: tuple[str, ...] = (
    "com.vmware.snapservice.capability",
    "com.vmware.snapservice.cluster_pairs",
    "com.vmware.snapservice.clusters.protection_groups",
    "com.vmware.snapservice.clusters.protection_groups.snapshots",
    "com.vmware.snapservice.clusters.virtual_machines",
    "com.vmware.snapservice.clusters.virtual_machines.disks.snapshots",
    "com.vmware.snapservice.clusters.virtual_machines.snapshots",
    "com.vmware.snapservice.info.about",
    "com.vmware.snapservice.protection_groups",
    "com.vmware.snapservice.protection_groups.capabilities",
    "com.vmware.snapservice.reports.clusters.protection_groups",
    "com.vmware.snapservice.reports.clusters.protection_groups.snapshots",
    "com.vmware.snapservice.reports.clusters.virtual_machines",
    "com.vmware.snapservice.reports.clusters.virtual_machines.snapshots",
    "com.vmware.snapservice.sessions",
    "com.vmware.snapservice.sites",
    "com.vmware.snapservice.sites.capabilities",
    "com.vmware.snapservice.sites.clusters",
    "com.vmware.snapservice.sites.clusters.capabilities",
    "com.vmware.snapservice.sites.datastores",
    "com.vmware.snapservice.sites.datastores.capabilities",
    "com.vmware.snapservice.sites.licenses",
    "com.vmware.snapservice.snapshots.labels",
    "com.vmware.snapservice.tasks",
    "com.vmware.snapservice.virtual_machines.protection_configuration",
    "com.vmware.snapservice.virtual_machines.snapshots",
)


class _Explorer:
    """Lists the parts of the filter space, splitting wherever a part hits the cap."""

    def __init__(self, target: Target, max_parts: int) -> None:
        self.target = target
        self.max_parts = max_parts
        self.found = Discovery()
        self.learned: dict[str, set[str]] = {name: set() for name in FILTER_FIELDS}
        #: Filters listed by their status parts as well, even under the cap: no answer is its
        #: own oracle (the empty filter; each service of a discovery through services=).
        self.always_split: set[FilterSpec] = {FilterSpec()}

    def learn(self, spec: FilterSpec, items: Iterable[Mapping[str, Any]]) -> None:
        source = spec.normalised()
        for item in items:
            self.found.items[item["task"]] = item
            self.found.sources.setdefault(item["task"], set()).add(source)
            info = item.get("info") or {}
            for name, key in (
                ("services", "service"),
                ("operations", "operation"),
                ("users", "user"),
            ):
                value = info.get(key)
                if isinstance(value, str):
                    self.learned[name].add(value)

    def visit(self, spec: FilterSpec, response: Exchange | None = None) -> Exchange | None:
        """List ``spec`` (or judge its ``response``) and its parts; None once out of parts.

        A part over the cap is split by status (its whole enum), then by services (the
        bindings' service ids and every service a listed task holds), then by the operations
        and users the listed tasks hold. Services and operations are open sets, so such a
        split is checked against the cap error that caused it: its parts together must list
        more than CAP tasks, else tasks with another value exist and the part is uncertain.
        Users cannot list tasks without a user (system tasks): a users split is uncertain.
        """
        found = self.found
        if found.parts >= self.max_parts:
            found.uncertain.append(
                f"{spec.describe()}: discovery stopped after {self.max_parts} parts (its share"
                f" of the plan)"
            )
            return None
        found.parts += 1
        if response is None:
            response = self.target.list_tasks(spec)
        if response.status == 200:
            listed = list(items_by_id(response).values())
            if len(listed) > CAP:
                # A 200 over the cap breaks CAP-NEVER-MORE (the audit reports it). CAP + 1 of
                # its tasks keep the part known to be over the cap; learning a hostile
                # 100 000-item list whole would make every later check scan all of it.
                found.uncertain.append(
                    f"{spec.describe()}: HTTP 200 with {len(listed)} tasks (over the cap);"
                    f" only the first {CAP + 1} were learned"
                )
                listed = listed[: CAP + 1]
            self.learn(spec, listed)
            if len(listed) != CAP and spec.normalised() not in self.always_split:
                return response
            # The empty filter (and each service of a discovery through services=) is always
            # split by status as well (a handful of requests): the oracle that judges its
            # answer is the union of the status partition's answers, never its own answer.
            # Exactly CAP tasks: every match, or a server that truncates instead of refusing.
            # The parts tell: their union over the cap makes the cap checks judge this filter.
        elif _is_too_many(response):
            found.cap_errors.append(spec.describe())
        elif response.status == 400 and self._names_unheld(spec):
            # A value no listed task holds may be refused (documented: unknown identifiers);
            # the part was asked only as a candidate, and no task of it was seen anywhere.
            found.answers.append(f"{spec.describe()}: HTTP 400 for a value no task holds")
            return response
        elif response.status == 400 or response.status >= 500:
            # A valid filter refused (400) or failed (a 500 of another type): its parts may
            # still list its tasks, and the cap checks then judge this answer by their count.
            found.answers.append(f"{spec.describe()}: HTTP {response.status}; listed by parts")
        else:
            found.uncertain.append(f"{spec.describe()}: HTTP {response.status}")
            return response
        constrained = spec.constraints()
        split = next((name for name in SPLIT_ORDER if name not in constrained), None)
        if split is None:
            if response.status != 200:
                found.uncertain.append(f"{spec.describe()}: cannot be split further")
            return response
        values = self._split_values(split)
        if not values:
            found.uncertain.append(f"{spec.describe()}: over the cap, no {split} value learned yet")
            return response
        for value in values:
            if self.visit(spec.with_field(split, (value,))) is None:
                return None
        if split == "users":
            found.uncertain.append(
                f"{spec.describe()}: split by the users seen so far; tasks of other users, and"
                f" tasks without a user (system tasks), may be missed"
            )
        elif split != "status":
            found.open_splits.add(split)
            if _is_too_many(response):
                listed = self._listed_under(spec)
                if listed <= CAP:
                    found.uncertain.append(
                        f"{spec.describe()}: answered the cap error, but its parts by {split}"
                        f" list only {listed} task(s): tasks with a {split} value neither the"
                        f" bindings nor any listed task names exist"
                    )
        return response

    def _split_values(self, split: str) -> tuple[str, ...]:
        """The values a part is split by: the Status enum, the bindings' service ids plus the
        services seen, or the operations or users seen."""
        if split == "status":
            return tuple(statuses())
        if split == "services":
            return tuple(sorted(set(BINDINGS_SERVICES) | self.learned["services"]))
        return tuple(sorted(self.learned[split]))

    def _names_unheld(self, spec: FilterSpec) -> bool:
        """Whether ``spec`` names a services, operations or users value no listed task holds."""
        return any(
            value not in self.learned[name]
            for name in ("services", "operations", "users")
            for value in spec.constraints().get(name, ())
        )

    def _listed_under(self, spec: FilterSpec) -> int:
        """How many of the tasks listed so far match ``spec``."""
        return sum(1 for item in self.found.items.values() if matches(item, spec))

    def universe(self, discovery: dict[str, Any], notes: Iterable[str] = ()) -> Universe:
        found = self.found
        items = tuple(found.items.values())
        stable = frozenset(
            item["task"]
            for item in items
            if (item.get("info") or {}).get("status") in TERMINAL_STATUSES
        )
        discovery = {
            **discovery,
            "parts": found.parts,
            "tasks": len(items),
            "terminal": len(stable),
            "complete": not found.uncertain,
            "uncertain": list(found.uncertain[:20]),
            "cap_errors": len(found.cap_errors),
        }
        if found.open_splits:
            discovery["open_splits"] = (
                f"parts over the cap were split by {', '.join(sorted(found.open_splits))}: only"
                " the values the bindings or the listed tasks name were asked (each split's parts"
                " list more than 1000 tasks, as the cap error said); tasks with a value none of"
                " them names cannot be found this way"
            )
        return Universe(
            items=items,
            exact=False,
            complete=not found.uncertain,
            stable=stable,
            notes=(*notes, *found.answers, *found.uncertain),
            sources={task: frozenset(keys) for task, keys in found.sources.items()},
            discovery=discovery,
        )


def discover(target: Target, *, max_parts: int = 200) -> Universe:
    """List every visible task, splitting the filter space wherever the cap is hit.

    Status is split over its whole enum (exhaustive); services, operations and users over the
    values learned from the parts already seen (not exhaustive: a part split that way is noted
    as uncertain). A part that cannot be split further is uncertain too. A target that refuses
    the empty filter with 400 (the bindings allow a server to require tasks or services) is
    discovered through ``services=`` instead (``discover_through_services``).
    """
    first = target.list_tasks(FilterSpec())
    if is_refusal(first.status, first.body):
        return discover_through_services(
            target,
            max_parts=max_parts,
            why="the empty filter was refused with HTTP 400 (the bindings allow a server to"
            " require tasks or services)",
        )
    explorer = _Explorer(target, max_parts)
    explorer.visit(FilterSpec(), first)
    return explorer.universe(
        {
            "method": "empty filter",
            "how": "the empty filter, split wherever a part hit the cap: by status, then by"
            " the bindings' service ids and the services seen, then by the operations and"
            " users seen",
            "certain": "every visible task, when complete"
            if not explorer.found.uncertain
            else "only the parts listed whole (see uncertain)",
        }
    )


def discover_through_services(
    target: Target,
    services: Iterable[str] = BINDINGS_SERVICES,
    *,
    max_parts: int = 200,
    why: str = "asked for",
) -> Universe:
    """List the visible tasks service by service: one ``services=<id>`` query per candidate.

    For a target that refuses filters naming neither ``tasks`` nor ``services`` (bindings,
    ``Tasks.FilterSpec``: "Currently at least one of tasks or services must be specified and
    not empty"). The candidates are ``services`` (default: the snapservice service identifiers
    the official bindings define, ``BINDINGS_SERVICES``) plus every service a task listed on
    the way names. A part over the cap is split by status, operations and users as in
    ``discover``; a candidate answered with 400 is taken as a service no task holds (unknown
    identifiers may be refused). What is certain: every visible task of the candidate
    services when ``complete``; a task of a service neither the candidates nor any task seen
    name cannot be found this way, and the universe's ``discovery`` says so.
    """
    explorer = _Explorer(target, max_parts)
    given = list(dict.fromkeys(services))
    queue = list(given)
    asked: set[str] = set()
    refused: list[str] = []
    while queue:
        service = queue.pop(0)
        if service in asked:
            continue
        asked.add(service)
        spec = FilterSpec(services=(service,))
        response = target.list_tasks(spec)
        if items_by_id(response):
            explorer.always_split.add(spec)  # a service with tasks: its status parts too
        if is_refusal(response.status, response.body):
            refused.append(service)  # unknown to the target (or refused): no task listed
            explorer.found.parts += 1
        elif explorer.visit(spec, response) is None:
            break
        queue += sorted(explorer.learned["services"] - asked)
    learned = sorted(set(explorer.learned["services"]) - set(given))
    with_tasks = sorted(explorer.learned["services"])
    return explorer.universe(
        {
            "method": "services",
            "how": f"one services= query per candidate service ({len(asked)} asked:"
            f" {len(given)} given, {len(learned)} learned from the tasks seen);"
            f" why: {why}",
            "services_with_tasks": with_tasks,
            "services_learned": learned,
            "services_refused": len(refused),
            "certain": "every visible task of the candidate services"
            + ("" if not explorer.found.uncertain else ", except the uncertain parts")
            + "; tasks of any other service cannot be found through services= and may be"
            " missing",
        },
        notes=(
            f"discovered through services=: {why}; {len(asked)} services asked, tasks found in"
            f" {len(with_tasks)}; tasks of a service no candidate names would be missed",
        ),
    )


#: Features whose observed-mode checks judge against the discovered universe: what a filter
#: must list, what counts as unknown, how many tasks a filter matches. A pass on a partial
#: universe says nothing about the tasks discovery could not list. (The run-wide audits judge
#: each response on its own and do not depend on it.)
NEEDS_COMPLETE_DISCOVERY: frozenset[str] = frozenset({"filter semantics", "cap"})


def within_discovery(
    universe: Universe | None, requirement: Requirement, result: CheckResult
) -> CheckResult:
    """``result``, unless it is a pass that rests on an incomplete observed discovery: then the
    requirement is not checked, and the discovery's uncertain parts say why."""
    if (
        universe is None
        or universe.complete
        or result.outcome != "passed"
        or requirement.audit
        or requirement.feature not in NEEDS_COMPLETE_DISCOVERY
    ):
        return result
    parts = (universe.discovery or {}).get("uncertain", [])
    return CheckResult.not_checked(
        "discovery",
        f"discovery was incomplete ({'; '.join(parts[:2]) or 'parts not listed'}), so this"
        f" judged only the tasks it listed: {result.detail}",
    )


__all__ = [
    "BINDINGS_SERVICES",
    "NEEDS_COMPLETE_DISCOVERY",
    "Discovery",
    "discover",
    "discover_through_services",
    "items_by_id",
    "plain_locator",
    "within_discovery",
]
