"""Where a run's universes come from, one source per mode (the checks never ask which mode).

``ControlledSource`` draws universes and installs them through the mock's control protocol;
``FixedSource`` serves the declared state document's universe; ``ObservedSource`` the
discovered one, and re-checks a difference against the live server before it counts
(``confirm_missing``, ``observe_again``): tasks change while the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from hypothesis import strategies as st

from snapconform.engine.oracle import (
    TERMINAL_STATUSES,
    FilterSpec,
    matches,
    result_ids,
)
from snapconform.engine.target import ControlClient, Exchange, Target
from snapconform.strategies.states import (
    HarnessPrincipals,
    replicate,
    rich_state_document,
    state_documents,
)

if TYPE_CHECKING:
    pass

from snapconform.engine.discovery import items_by_id, plain_locator
from snapconform.engine.universe import Universe

T = TypeVar("T")

#: How many missing tasks observed mode re-checks one by one per query (budget friendly).
MAX_RECHECKS = 5
#: How many ids that appeared in a later answer observed mode looks up before calling them
#: invented (every one must be missing; the first one found ends the search).
MAX_INVENTED_CHECKS = 2


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

    def passing(self, response: Exchange) -> bool:
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
        items = replicate(templates, total, id_prefix="cap")  # fresh dicts: set in place
        other = f"{marker}-other"
        for index, item in enumerate(items):
            item["info"]["service"] = marker if index < matching else other
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

    def passing(self, response: Exchange) -> bool:
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
            if task_id in items_by_id(target.list_tasks(FilterSpec(tasks=(task_id,)))):
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
            now = items_by_id(response).get(task_id)
            before = universe.by_id.get(task_id)
            locator = plain_locator(before)
            if now is None and locator is not None:
                now = items_by_id(target.list_tasks(locator)).get(task_id)
            if (
                now is not None
                and (now.get("info") or {}).get("status") in TERMINAL_STATUSES
                and (before is None or now == before)
                and (spec is None or matches(now, spec))
            ):
                settled.add(task_id)
        return settled


__all__ = ["ControlledSource", "FixedSource", "ObservedSource", "UniverseSource"]
