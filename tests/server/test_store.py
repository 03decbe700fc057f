"""TaskStore.query: OR within a field, AND across fields, exact matching, visibility, order."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings, strategies as st

from snapconform.server.behaviour import Behaviour
from snapconform.server.defaults import build_task, generate_tasks
from snapconform.server.store import FilterSpec, TaskStore

USERS = (
    "VSPHERE.LOCAL\\Administrator",
    "ops+robot@corp.example",
    "svc account",
    "jürgen@corp.example",
)


def small_store() -> TaskStore:
    return TaskStore(
        [
            build_task("t1", status="RUNNING", service="svc.a", operation="create", user=USERS[0]),
            build_task("t2", status="FAILED", service="svc.a", operation="delete", user=USERS[1]),
            build_task(
                "t3", status="SUCCEEDED", service="svc.b", operation="create", user=USERS[2]
            ),
            build_task("t4", status="PENDING", service="svc.b", operation="delete", user=USERS[3]),
            build_task("t5", status="RUNNING", service="svc.b", operation="create", user=None),
        ]
    )


def ids(store: TaskStore, spec: FilterSpec, visible: frozenset[str] | None = None) -> list[str]:
    return [store.item(p)["task"] for p in store.query(spec, visible).positions]


def test_or_within_a_field_and_across_fields() -> None:
    store = small_store()
    assert ids(store, FilterSpec(status=("RUNNING", "FAILED"))) == ["t1", "t2", "t5"]
    assert ids(store, FilterSpec(status=("RUNNING",), services=("svc.b",))) == ["t5"]
    assert ids(store, FilterSpec(operations=("create",), services=("svc.a", "svc.b"))) == [
        "t1",
        "t3",
        "t5",
    ]
    assert ids(store, FilterSpec(status=("RUNNING",), services=("svc.c",))) == []


def test_empty_filter_and_empty_fields_select_everything() -> None:
    store = small_store()
    everything = ["t1", "t2", "t3", "t4", "t5"]
    assert ids(store, FilterSpec()) == everything
    assert ids(store, FilterSpec(tasks=(), status=())) == everything


def test_matching_is_exact_and_case_sensitive() -> None:
    store = small_store()
    for index, user in enumerate(USERS):
        assert ids(store, FilterSpec(users=(user,))) == [f"t{index + 1}"]
    assert ids(store, FilterSpec(users=("vsphere.local\\administrator",))) == []
    assert ids(store, FilterSpec(users=("ops robot@corp.example",))) == []
    assert ids(store, FilterSpec(users=("svc",))) == []
    assert ids(store, FilterSpec(services=("svc",))) == []
    assert ids(store, FilterSpec(tasks=("T1",))) == []


def test_null_user_never_matches_a_users_filter() -> None:
    store = small_store()
    assert "t5" not in ids(store, FilterSpec(users=(*USERS, "", "None", "null")))


def test_visibility_restricts_and_unknown_visible_ids_are_ignored() -> None:
    store = small_store()
    visible = frozenset({"t2", "t5", "ghost"})
    assert ids(store, FilterSpec(), visible) == ["t2", "t5"]
    assert ids(store, FilterSpec(status=("RUNNING",)), visible) == ["t5"]
    assert ids(store, FilterSpec(), frozenset()) == []


def test_store_reuses_bytes_of_unchanged_items() -> None:
    items = [build_task(f"t{i}") for i in range(5)]
    first = TaskStore(items)
    changed = [*items[:4], build_task("t4", status="FAILED")]
    second = TaskStore(changed, previous=first)
    assert second.item_json(0) is first.item_json(0)
    assert second.item_json(4) != first.item_json(4)


def reference_matches(item: dict[str, Any], spec: FilterSpec) -> bool:
    """An independent, obviously-correct oracle for the FilterSpec semantics."""
    info = item["info"]
    actual = {
        "tasks": item["task"],
        "operations": info["operation"],
        "services": info["service"],
        "status": info["status"],
        "users": info.get("user"),
    }
    for name in ("tasks", "operations", "services", "status", "users"):
        wanted = getattr(spec, name)
        if wanted and actual[name] not in wanted:
            return False
    return True


STORE_ITEMS = generate_tasks(random.Random(7), 400)
STORE = TaskStore(STORE_ITEMS)


def values_of(name: str) -> st.SearchStrategy[tuple[str, ...] | None]:
    """None or up to 3 alternatives: values present in the store plus two that never match."""
    pool = [*sorted({str(v) for v in STORE.values(name) if v is not None}), "nope", ""]
    return st.none() | st.lists(st.sampled_from(pool), max_size=3).map(tuple)


filters = st.builds(
    FilterSpec,
    tasks=values_of("tasks"),
    operations=values_of("operations"),
    services=values_of("services"),
    status=values_of("status"),
    users=values_of("users"),
)
visibility = st.none() | st.frozensets(st.sampled_from([i["task"] for i in STORE_ITEMS]))


@settings(max_examples=150, deadline=None)
@given(spec=filters, visible=visibility)
def test_index_query_equals_the_reference_scan(
    spec: FilterSpec, visible: frozenset[str] | None
) -> None:
    expected = [
        item["task"]
        for item in STORE_ITEMS
        if (visible is None or item["task"] in visible) and reference_matches(item, spec)
    ]
    assert ids(STORE, spec, visible) == expected
    # A Behaviour that changes matching goes through scan(); it must agree when faithful.
    scanned = STORE.scan(lambda item: Behaviour().task_matches(item, spec), visible)
    assert [STORE.item(p)["task"] for p in scanned.positions] == expected


def _case_changed(values: tuple[str, ...] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(v.swapcase() for v in values)


@settings(max_examples=150, deadline=None)
@given(spec=filters, visible=visibility, swap=st.booleans())
def test_a_behaviour_declaring_its_changed_fields_selects_what_a_full_scan_selects(
    spec: FilterSpec, visible: frozenset[str] | None, swap: bool
) -> None:
    # users-case-insensitive declares that only `users` match otherwise: the other fields'
    # indexes narrow the query, its rule judges the candidates; the same as scanning every task.
    # An undeclared override (another class's field_matches first in the MRO) scans.
    from dataclasses import replace

    from snapconform.server.behaviour import _matching_changed_for
    from snapconform.server.variants import UsersCaseInsensitive

    if swap:
        spec = replace(spec, users=_case_changed(spec.users))
    behaviour = UsersCaseInsensitive()
    scanned = STORE.scan(lambda item: behaviour.task_matches(item, spec), visible)
    assert behaviour.select(STORE, spec, visible).positions == scanned.positions

    class Undeclared(UsersCaseInsensitive):
        def field_matches(self, field_name: str, wanted: Any, actual: Any) -> bool:
            return super().field_matches(field_name, wanted, actual)

    assert _matching_changed_for(UsersCaseInsensitive) == frozenset({"users"})
    assert _matching_changed_for(Undeclared) is None
