"""How the oracle learns the data: controlled, declared or observed.

- controlled: the harness generates universes (state documents) and pushes them through the
  control protocol; the oracle is exact.
- declared: the server was loaded with a state document the harness read; the oracle is exact
  for the principal the credentials name (its ``visible_tasks`` apply).
- observed: a live server. The visible universe is discovered with the empty filter and, when
  that hits the cap, by partitioning the filter space until every part is under it. Tasks
  appear, change status and are purged while the run goes on (a shared vCenter), so exact
  judgements are made only on *stable* tasks (terminal in the snapshot), and a difference counts
  only when the comparison, asked again, still shows it and a targeted ``tasks=`` query finds the
  task still there, terminal and unchanged (the "after" snapshot); what stays undecided is
  reported as uncertain, never failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from hypothesis import strategies as st

from snapconform.engine.oracle import (
    CAP,
    FILTER_FIELDS,
    TERMINAL_STATUSES,
    FilterSpec,
    allowed_ids,
    encode_query,
    expected_ids,
    is_cap_error,
    is_refusal,
    matches,
    result_ids,
    set_difference,
)
from snapconform.engine.target import ControlClient, Response, Target
from snapconform.engine.verdicts import CheckResult
from snapconform.strategies.contract_data import statuses
from snapconform.strategies.filters import Vocabulary
from snapconform.strategies.states import (
    HarnessPrincipals,
    Pools,
    replicate,
    rich_state_document,
    state_documents,
)

if TYPE_CHECKING:
    from snapconform.engine.registry import Requirement

T = TypeVar("T")

#: Order in which observed discovery splits a part that hits the cap.
SPLIT_ORDER: tuple[str, ...] = ("status", "services", "operations", "users")
#: How many missing tasks observed mode re-checks one by one per query (budget friendly).
MAX_RECHECKS = 5
#: How many ids that appeared in a later answer observed mode looks up before calling them
#: invented (every one must be missing; the first one found ends the search).
MAX_INVENTED_CHECKS = 2
#: A counterexample's universe lists its tasks up to this many (shrunk universes are small).
SUMMARY_ITEMS = 12


@dataclass(frozen=True)
class Universe:
    """The tasks the oracle knows and which of them the principal under test may see."""

    items: tuple[Mapping[str, Any], ...]
    visible: frozenset[str] | None = None  # None: every task
    exact: bool = True
    #: Observed: every part of the filter space was listed under the cap.
    complete: bool = True
    #: Observed: ids safe to judge exactly (terminal in the snapshot); None: all of them.
    stable: frozenset[str] | None = None
    document: Mapping[str, Any] | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()
    #: Observed: the discovery filters (normalised) that listed each task. No answer is its
    #: own oracle: a filter's expected set holds only tasks that *other* filters listed.
    sources: Mapping[str, frozenset[FilterSpec]] | None = field(
        default=None, repr=False, compare=False
    )
    #: Observed: how the universe was discovered and how much of it is certain (summary).
    discovery: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def by_id(self) -> dict[str, Mapping[str, Any]]:
        return {item["task"]: item for item in self.items}

    @cached_property
    def visible_items(self) -> tuple[Mapping[str, Any], ...]:
        if self.visible is None:
            return self.items
        return tuple(item for item in self.items if item["task"] in self.visible)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary.of(self.visible_items)

    def expected(self, spec: FilterSpec) -> frozenset[str]:
        """Visible tasks matching ``spec`` (in observed mode: as of the snapshot).

        Observed: only tasks some filter other than ``spec`` listed during discovery; e.g. the
        empty filter must list the union of the status partition's answers, whatever it
        answered itself during discovery.
        """
        return self._independent(spec, expected_ids(self.items, spec, self.visible))

    def _independent(self, spec: FilterSpec, ids: frozenset[str]) -> frozenset[str]:
        """Observed: the part of ``ids`` some discovery filter other than ``spec`` listed."""
        if self.sources is None:
            return ids
        own = spec.normalised()
        sources = self.sources
        return frozenset(i for i in ids if sources.get(i, frozenset()) - {own})

    def allowed(self, spec: FilterSpec) -> frozenset[str]:
        """Visible tasks a 200 to ``spec`` may hold: ``expected`` plus users in another case."""
        if not spec.users:
            return self.expected(spec)
        return self._independent(spec, allowed_ids(self.items, spec, self.visible))

    def outside(self, spec: FilterSpec, got: frozenset[str]) -> str | None:
        """Why ``got`` is not a documented answer to ``spec`` (None: it is).

        Every expected task, and nothing beyond what some documented matching allows.
        """
        expected = self.expected(spec)
        allowed = self.allowed(spec)
        if expected <= got <= allowed:
            return None
        # Described against the closest documented answer: what it lacks, what it adds.
        return set_difference(got, (got & allowed) | expected)

    def unknown_task_ids(self, spec: FilterSpec) -> tuple[str, ...]:
        """Task ids of ``spec`` the universe does not hold."""
        return tuple(task_id for task_id in spec.tasks or () if task_id not in self.by_id)

    def judged(self, ids: Iterable[str]) -> frozenset[str]:
        """The part of ``ids`` that may be judged exactly."""
        ids = frozenset(ids)
        return ids if self.stable is None else ids & self.stable

    def judged_for(self, spec: FilterSpec, ids: Iterable[str]) -> frozenset[str]:
        """The part of ``ids`` whose membership in ``spec``'s result may be judged.

        Observed: only tasks terminal in the snapshot. An open task may still change status,
        and any task may be purged, so a difference about a stable task is a candidate that the
        source confirms (``confirm_missing`` / ``confirm_difference``) before it counts.
        """
        ids = frozenset(ids)
        return ids if self.stable is None else ids & self.stable

    @property
    def pushed(self) -> bool:
        """Whether the harness pushes this universe to the server (controlled: its document)."""
        return self.document is not None

    def known_expected(self, spec: FilterSpec) -> frozenset[str] | None:
        """Every visible task matching ``spec``, when the universe knows them all (exact); None
        for an observed snapshot, whose matching set is not the server's of a moment later."""
        return self.expected(spec) if self.exact else None

    def surplus(self, spec: FilterSpec, got: frozenset[str]) -> frozenset[str]:
        """Tasks of ``got`` that are not visible tasks matching ``spec``, as far as the universe
        can tell (an observed snapshot cannot: new tasks appear on a live server)."""
        return got - self.expected(spec) if self.exact else frozenset()

    def wrong_answer(self, spec: FilterSpec, got: frozenset[str]) -> str | None:
        """``outside`` where the universe can tell (exact); None for an observed snapshot."""
        return self.outside(spec, got) if self.exact else None

    def is_unknown(self, spec: FilterSpec) -> bool:
        """Whether ``spec`` names a value the universe does not hold (400 is then allowed)."""
        values = self.vocabulary.values
        return any(
            value not in values.get(name, ())
            for name, chosen in spec.constraints().items()
            for value in chosen
        )

    def __len__(self) -> int:
        return len(self.visible_items)

    def summary(self, mode: str) -> dict[str, Any]:
        """The universe as a counterexample shows it: sizes, and the tasks when they are few.

        A shrunk controlled universe is small enough to read whole; a large or observed one is
        only counted (its tasks are the target's, listed by the empty filter).
        """
        out: dict[str, Any] = {
            "mode": mode,
            "tasks": len(self.items),
            "visible": "all"
            if self.visible is None
            else sorted(self.visible)
            if len(self.visible) <= SUMMARY_ITEMS
            else len(self.visible),
        }
        if not self.exact:
            out["stable"] = len(self.stable or ())
        if self.exact and len(self.items) <= SUMMARY_ITEMS:
            out["items"] = [dict(item) for item in self.items]
        return out

    def __repr__(self) -> str:
        # Hypothesis prints failing examples: a universe is summarised, never dumped whole.
        visible = "all" if self.visible is None else len(self.visible)
        return f"Universe({len(self.items)} tasks, visible={visible}, exact={self.exact})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


class UniverseSource:
    """Where universes come from; ``install`` makes one current on the server.

    A source also answers what a check needs to know about the data behind its universes, so
    that checks do not branch on the run's mode: whether it can push universes of its choosing
    (``pushes``), whether the data may change while the run goes on (``live``: then a
    difference from the oracle is confirmed before it counts: ``confirm_missing``,
    ``confirm_difference``, ``observe_again``), and whether an answer may be a passing
    condition rather than the server's answer (``passing``).
    """

    mode: str = "?"
    #: Whether the harness pushes universes of its choosing (controlled mode).
    pushes: bool = False
    #: Whether the target's data changes while the run goes on (observed: a live server).
    live: bool = False

    def universes(self, **options: Any) -> st.SearchStrategy[Universe]:
        raise NotImplementedError

    def first_universe(self) -> Universe:
        """The universe of a check's deterministic first case."""
        raise NotImplementedError

    def install(self, universe: Universe) -> None:
        """Make ``universe`` the server's data (controlled); a no-op otherwise."""

    def passing(self, response: Response) -> bool:
        """Whether ``response`` may be a passing condition of the server rather than its answer
        to the question (a live server's 5xx); such an answer decides nothing."""
        return False

    def observe_again(self, seen: T, again: Callable[[], T]) -> T:
        """A second look at an observation that contradicts the oracle, before it counts.

        Fixed data cannot move: the observation stands (``seen``, no request). A live server's
        data may have changed in between: ``again()`` makes the observation once more.
        """
        return seen

    def confirm_missing(
        self, target: Target, spec: FilterSpec, missing: frozenset[str], universe: Universe
    ) -> tuple[frozenset[str], frozenset[str]]:
        """Split tasks missing from a 200 into (confirmed, uncertain); exact: all confirmed."""
        return missing, frozenset()

    def confirm_difference(
        self,
        target: Target,
        left: frozenset[str],
        right: frozenset[str],
        universe: Universe,
        again: Callable[[], tuple[frozenset[str], frozenset[str]] | None],
    ) -> tuple[frozenset[str], frozenset[str]]:
        """Split the ids where two observations disagree into (confirmed, uncertain).

        ``left`` is the later observation, ``right`` the earlier. ``again`` repeats both
        observations (None: they are no longer comparable, e.g. a list became a 500). Exact
        sources: the data cannot move, every difference is confirmed.
        """
        return left ^ right, frozenset()


class ControlledSource(UniverseSource):
    """The harness owns the data: it generates and pushes universes."""

    mode = "controlled"
    pushes = True

    def __init__(
        self,
        control: ControlClient,
        principals: HarnessPrincipals,
        on_install: Callable[[], None],
    ) -> None:
        self.control = control
        self.principals = principals
        self._on_install = on_install
        self.installs = 0

    @cached_property
    def rich_universe(self) -> Universe:
        """A universe with every status and shared values: the first case of the checks."""
        return self.from_document(rich_state_document(self.principals))

    def first_universe(self) -> Universe:
        return self.rich_universe

    def universes(
        self, *, min_tasks: int = 0, max_tasks: int = 30, value_pools: Any = None, **_: Any
    ) -> st.SearchStrategy[Universe]:
        return state_documents(
            self.principals, min_tasks=min_tasks, max_tasks=max_tasks, value_pools=value_pools
        ).map(self.from_document)

    @staticmethod
    def from_document(document: Mapping[str, Any]) -> Universe:
        return Universe(items=tuple(document["tasks"]), document=document)

    def limited_view(self, universe: Universe) -> Universe:
        """The same universe as the limited principal sees it."""
        assert universe.document is not None
        (limited,) = (
            p
            for p in universe.document["principals"]
            if p["username"] == self.principals.limited[0]
        )
        return Universe(
            items=universe.items,
            visible=frozenset(limited["visible_tasks"]),
            document=universe.document,
        )

    def cap_universe(
        self,
        templates: list[Mapping[str, Any]],
        total: int,
        matching: int,
        marker: str,
        *,
        limited_visible: int = 0,
    ) -> tuple[Universe, FilterSpec]:
        """``total`` tasks of which exactly ``matching`` match the returned filter.

        Matching tasks get service ``marker``, the others ``marker + "-other"``; the filter is
        ``services=marker``. The limited principal sees every
        ``stride``-th matching task, ``limited_visible`` of them (spread over the store, so a
        server that counts or lists invisible tasks cannot hide it behind an id prefix).
        """
        base = replicate(templates, total, id_prefix="cap")
        items = []
        for index, item in enumerate(base):
            service = marker if index < matching else f"{marker}-other"
            items.append({"task": item["task"], "info": {**item["info"], "service": service}})
        from snapconform.strategies.states import principals_document

        stride = max(1, matching // limited_visible) if limited_visible else 1
        visible = [item["task"] for item in items[:matching:stride]][:limited_visible]
        document = {"tasks": items, "principals": principals_document(self.principals, visible)}
        # Always named by its service: a server may refuse a filter naming neither tasks nor
        # services (bindings); the empty filter is among the filters the cap checks ask anyway.
        return self.from_document(document), FilterSpec(services=(marker,))

    def install(self, universe: Universe) -> None:
        if universe.document is None:
            raise ValueError("a controlled universe needs its state document")
        self.control.put_state(universe.document)
        self.installs += 1
        self._on_install()


class FixedSource(UniverseSource):
    """Declared mode (and the base of observed mode): one universe for the whole run."""

    mode = "declared"

    def __init__(self, universe: Universe) -> None:
        self.universe = universe

    def universes(self, **_: Any) -> st.SearchStrategy[Universe]:
        return st.just(self.universe)

    def first_universe(self) -> Universe:
        return self.universe


class ObservedSource(FixedSource):
    """A live server: the discovered snapshot; misses are re-checked before they count."""

    mode = "observed"
    live = True

    def passing(self, response: Response) -> bool:
        return response.status >= 500

    def observe_again(self, seen: T, again: Callable[[], T]) -> T:
        return again()

    def confirm_missing(
        self, target: Target, spec: FilterSpec, missing: frozenset[str], universe: Universe
    ) -> tuple[frozenset[str], frozenset[str]]:
        candidates = sorted(universe.judged_for(spec, missing))
        uncertain = set(missing) - set(candidates)
        checked = candidates[:MAX_RECHECKS]
        uncertain |= set(candidates[MAX_RECHECKS:])
        still_there = self._settled(target, checked, universe, spec)
        uncertain |= set(checked) - still_there
        confirmed: set[str] = set()
        if still_there:
            # The tasks exist unchanged and match: ask the original question once more, then
            # make sure they were not purged in between (a purge is final: there after the
            # re-ask means there during it).
            again = target.list_tasks(spec)
            if again.status == 200:
                got = frozenset(result_ids(again.body))
                absent = {task_id for task_id in still_there if task_id not in got}
                confirmed = self._settled(target, sorted(absent), universe, spec)
                uncertain |= set(still_there) - confirmed
            else:
                uncertain |= still_there
        return frozenset(confirmed), frozenset(uncertain)

    def confirm_difference(
        self,
        target: Target,
        left: frozenset[str],
        right: frozenset[str],
        universe: Universe,
        again: Callable[[], tuple[frozenset[str], frozenset[str]] | None],
    ) -> tuple[frozenset[str], frozenset[str]]:
        differing = universe.judged(left ^ right)
        uncertain = set(left ^ right) - differing
        # A task discovery never saw, listed by the later answer and not the earlier one, is
        # churn only if it exists: a task created in between is still there when asked for by
        # its id. One that a re-read cannot find appeared and vanished between two reads:
        # invented data. (Only the later answer's: the earlier one may hold a task of an
        # incomplete discovery that a purge took in between.)
        appeared = (left - right) - set(universe.by_id)
        invented = self._invented(target, sorted(appeared))
        if invented:
            return frozenset(invented), frozenset(uncertain - invented)
        if not differing:
            return frozenset(), frozenset(uncertain)
        repeated = again()
        if repeated is None:
            return frozenset(), frozenset(uncertain | differing)
        still = differing & (repeated[0] ^ repeated[1])
        uncertain |= differing - still
        checked = sorted(still)[:MAX_RECHECKS]
        uncertain |= still - set(checked)
        # Differing twice is not enough: the task must still exist, terminal and unchanged, so
        # neither observation can have missed it because it was purged or moved.
        confirmed = self._settled(target, checked, universe, None)
        uncertain |= set(checked) - confirmed
        return frozenset(confirmed), frozenset(uncertain)

    @staticmethod
    def _invented(target: Target, task_ids: list[str]) -> set[str]:
        """Of ``task_ids`` (listed once, unknown to discovery), those a ``tasks=`` query does not
        find: no task of the target has that id. At most MAX_INVENTED_CHECKS are asked, and
        none after one is found (new tasks on a busy server are real: asking each would spend
        the budget; invented data has no id that exists)."""
        invented: set[str] = set()
        for task_id in task_ids[:MAX_INVENTED_CHECKS]:
            if task_id in _items_by_id(target.list_tasks(FilterSpec(tasks=(task_id,)))):
                return set()
            invented.add(task_id)
        return invented

    @staticmethod
    def _settled(
        target: Target, task_ids: list[str], universe: Universe, spec: FilterSpec | None
    ) -> set[str]:
        """Tasks a ``tasks=`` query finds still there, terminal, unchanged (and matching).

        A task id usually needs percent-encoding (``<uuid>:<service>``): a server that does
        not decode it finds nothing for ``tasks=``, which must not pass for the task being
        gone. Such a task is looked for once more by its own values that need no encoding
        (status, service, operation), a narrow filter that any server answers literally.
        """
        settled: set[str] = set()
        for task_id in task_ids:
            response = target.list_tasks(FilterSpec(tasks=(task_id,)))
            now = _items_by_id(response).get(task_id)
            before = universe.by_id.get(task_id)
            locator = _plain_locator(before)
            if now is None and locator is not None:
                now = _items_by_id(target.list_tasks(locator)).get(task_id)
            if (
                now is not None
                and (now.get("info") or {}).get("status") in TERMINAL_STATUSES
                and (before is None or now == before)
                and (spec is None or matches(now, spec))
            ):
                settled.add(task_id)
        return settled


def _plain_locator(item: Mapping[str, Any] | None) -> FilterSpec | None:
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


def _items_by_id(response: Response) -> dict[str, Mapping[str, Any]]:
    if response.status != 200 or not isinstance(response.body, Mapping):
        return {}
    items = response.body.get("items")
    if not isinstance(items, list):
        return {}
    return {
        i["task"]: i for i in items if isinstance(i, Mapping) and isinstance(i.get("task"), str)
    }


def _is_too_many(response: Response) -> bool:
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

    def visit(self, spec: FilterSpec, response: Response | None = None) -> Response | None:
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
            listed = list(_items_by_id(response).values())
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
        if _items_by_id(response):
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


def over_cap_when_users_fold(universe: Universe, spec: FilterSpec) -> bool:
    """Whether the case-insensitive reading of ``users`` (which the sources allow) matches more
    than CAP visible tasks: the cap error is then a documented answer, whatever ``over_cap`` says
    of the case-sensitive reading."""
    return bool(spec.users) and len(universe.allowed(spec)) > CAP


def over_cap(universe: Universe, spec: FilterSpec) -> bool | None:
    """Whether more than CAP visible tasks match: True/False when certain, None when not.

    Observed mode counts tasks whose membership only a purge can end as certain, and trusts a count
    at or under the cap only when discovery was complete and nothing is in flight near the cap.
    """
    expected = universe.expected(spec)
    if universe.exact:
        return len(expected) > CAP
    # Without a status constraint a snapshot task leaves the result only when it is purged, and
    # a 200 to a filter believed over the cap is confirmed before it counts (the purge case).
    certain = expected if not spec.status else universe.judged_for(spec, expected)
    if len(certain) > CAP:
        return True
    in_flight = len(expected) - len(universe.judged_for(spec, expected))
    if universe.complete and len(expected) + in_flight + 50 <= CAP:
        return False
    return None


__all__ = [
    "BINDINGS_SERVICES",
    "NEEDS_COMPLETE_DISCOVERY",
    "ControlledSource",
    "FixedSource",
    "ObservedSource",
    "Pools",
    "Universe",
    "UniverseSource",
    "discover",
    "discover_through_services",
    "over_cap",
    "over_cap_when_users_fold",
    "within_discovery",
]
