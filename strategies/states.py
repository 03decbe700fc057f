"""Universes: tasks valid per contracts/schemas/Info.json, principals, whole state documents.

Per status, a task carries exactly what the ``x-union`` case map of Info.json allows: fields
required in its case are present and not null, optional ones may be present, fields of other
cases are absent or null. The map is read from the schema file, so the generator follows it.

Values come from small per-universe pools (services, operations, users) so that filters drawn
from the same pools hit several tasks, and the pools include adversarial strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from hypothesis import strategies as st

from snapconform.strategies.contract_data import info_required, statuses, union_cases, union_fields
from snapconform.strategies.values import (
    OPERATION_NAMES,
    SERVICE_NAMES,
    UTF8_CHARACTERS,
    identifiers,
    user_names,
)
from snapconform.wire import SYSTEM_READ


@dataclass(frozen=True)
class Pools:
    """The values one universe's tasks draw from (``None`` in users: system tasks)."""

    services: tuple[str, ...]
    operations: tuple[str, ...]
    users: tuple[str | None, ...]


# Strategies that depend on nothing drawn are built once (``cache``): one built afresh inside a
# ``flatmap`` (a universe's pools, a task's status) is validated afresh on every draw, which
# cost more than drawing from it.


@cache
def pools() -> st.SearchStrategy[Pools]:
    """Small pools: 1-4 services, 1-4 operations, 1-5 users (sometimes a system user)."""
    return st.builds(
        Pools,
        services=st.lists(identifiers(SERVICE_NAMES), min_size=1, max_size=4, unique=True).map(
            tuple
        ),
        operations=st.lists(identifiers(OPERATION_NAMES), min_size=1, max_size=4, unique=True).map(
            tuple
        ),
        users=st.lists(st.one_of(user_names(), st.none()), min_size=1, max_size=5, unique=True).map(
            tuple
        ),
    )


def format_datetime(moment: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ss.sssZ``: the form vCenter writes and the bindings read."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@cache
def datetimes() -> st.SearchStrategy[str]:
    return st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
    ).map(format_datetime)


@cache
def localizable_messages() -> st.SearchStrategy[dict[str, Any]]:
    """com.vmware.vapi.std.localizable_message with its three required fields."""
    return st.builds(
        lambda message_id, text, args: {"id": message_id, "default_message": text, "args": args},
        st.sampled_from(("com.vmware.snapservice.task", "com.vmware.snapservice.progress")),
        st.text(UTF8_CHARACTERS, min_size=1, max_size=30),
        st.lists(st.text(UTF8_CHARACTERS, max_size=10), max_size=2),
    )


@cache
def progresses() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda total, done, message: {
            "total": total,
            "completed": min(done, total),
            "message": message,
        },
        st.integers(0, 100),
        st.integers(0, 100),
        localizable_messages(),
    )


@cache
def errors() -> st.SearchStrategy[dict[str, Any]]:
    """A standard error as a FAILED task's ``error``."""
    return st.builds(
        lambda messages: {"error_type": "ERROR", "messages": messages},
        st.lists(localizable_messages(), min_size=1, max_size=2),
    )


#: How to generate a value of each field the x-union case map mentions. A field the contracts
#: add to the case map without a generator here fails loudly (KeyError) instead of silently.
UNION_FIELD_VALUES: Mapping[str, st.SearchStrategy[Any]] = {
    "progress": progresses(),
    "result": st.none(),  # an opaque DataValue; null keeps the bindings able to decode it
    "error": errors(),
    "start_time": datetimes(),
    "end_time": datetimes(),
}

_ABSENT = object()


@cache
def union_part(status: str) -> st.SearchStrategy[dict[str, Any]]:
    """The status-conditional fields of one Info, exactly as ``x-union`` allows for ``status``.

    Required fields: present. Optional fields of the case: present, null or absent. Fields of
    other cases: null or absent (both are valid, and servers write either).
    """
    own = {name: bool(required) for name, required in union_cases()[status]}
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for name in sorted(union_fields()):
        if own.get(name):
            parts[name] = UNION_FIELD_VALUES[name]
        elif name in own:
            parts[name] = st.one_of(st.just(_ABSENT), st.none(), UNION_FIELD_VALUES[name])
        else:
            parts[name] = st.sampled_from((_ABSENT, None))
    return st.fixed_dictionaries(parts).map(
        lambda values: {k: v for k, v in values.items() if v is not _ABSENT}
    )


#: A task draws its service, operation and user as an index into its universe's pools, taken
#: modulo the pool's size: 60 is a multiple of every pool size (1 to 6), so each value of a pool
#: is equally likely, as ``sampled_from(pool)`` drew them.
POOL_INDICES = 60


def _build_info(status: str, common: dict[str, Any], conditional: dict[str, Any]) -> dict[str, Any]:
    info = {**common, **conditional, "status": status}
    missing = info_required() - set(info)
    if missing:  # the contracts gained a required field this generator does not know
        raise KeyError(f"Info generator lacks required fields {sorted(missing)}")
    return info


@cache
def info_shapes() -> st.SearchStrategy[dict[str, Any]]:
    """An Info whose service, operation and user are pool indices (``resolve_info``).

    One strategy for every universe: drawing from each drawn pool's own ``sampled_from`` (a
    ``flatmap``) built new strategies per universe, each validated afresh, which cost more
    than the draws themselves (issue 27).
    """
    index = st.integers(0, POOL_INDICES - 1)
    common = st.fixed_dictionaries(
        {
            "description": localizable_messages(),
            "service": index,
            "operation": index,
            "cancelable": st.booleans(),
            "user": index,
        },
        optional={
            "target": st.builds(
                lambda i: {"type": "com.vmware.snapservice.protection_group", "id": i},
                st.text(UTF8_CHARACTERS, min_size=1, max_size=8),
            ),
            "vc_task": st.one_of(st.none(), st.text(UTF8_CHARACTERS, min_size=1, max_size=10)),
            "parent": st.none(),
        },
    )
    # one branch per status (as a status drawn first, then its fields: the x-union case)
    return st.one_of(
        [st.builds(_build_info, st.just(value), common, union_part(value)) for value in statuses()]
    )


def resolve_info(shape: Mapping[str, Any], pool: Pools) -> dict[str, Any]:
    """The Info ``shape`` describes, its pool indices replaced by ``pool``'s values."""
    return {
        **shape,
        "service": pool.services[shape["service"] % len(pool.services)],
        "operation": pool.operations[shape["operation"] % len(pool.operations)],
        "user": pool.users[shape["user"] % len(pool.users)],
    }


def infos(pool: Pools) -> st.SearchStrategy[dict[str, Any]]:
    """An Info whose service/operation/user come from ``pool``."""
    return info_shapes().map(lambda shape: resolve_info(shape, pool))


#: Task id suffixes: odd characters that need percent-encoding.
ID_SUFFIXES: tuple[str, ...] = ("", ":a", "+b", " c", "ü")


@cache
def task_shapes() -> st.SearchStrategy[tuple[dict[str, Any], str, bool]]:
    """A task before its universe's pools are known: an Info shape, its id suffix, and whether
    the limited principal sees it."""
    return st.tuples(info_shapes(), st.sampled_from(ID_SUFFIXES), st.booleans())


def _items(
    shapes: Sequence[tuple[Mapping[str, Any], str, bool]], pool: Pools, id_prefix: str
) -> list[dict[str, Any]]:
    return [
        {"task": f"{id_prefix}-{n}{suffix}", "info": resolve_info(shape, pool)}
        for n, (shape, suffix, _) in enumerate(shapes)
    ]


def list_items(
    pool: Pools, *, min_size: int = 0, max_size: int = 30, id_prefix: str = "task"
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """ListItems with unique ids ``{prefix}-{n}-{suffix}`` (the suffix adds odd characters)."""
    return st.lists(task_shapes(), min_size=min_size, max_size=max_size).map(
        lambda shapes: _items(shapes, pool, id_prefix)
    )


def replicate(
    templates: Sequence[Mapping[str, Any]], count: int, id_prefix: str
) -> list[dict[str, Any]]:
    """``count`` tasks cycling through ``templates`` with fresh unique ids (cheap big universes)."""
    return [
        {"task": f"{id_prefix}-{n:05d}", "info": dict(templates[n % len(templates)]["info"])}
        for n in range(count)
    ]


@dataclass(frozen=True)
class HarnessPrincipals:
    """The principals the harness creates in controlled mode, with passwords it knows."""

    privileged: tuple[str, str]
    unprivileged: tuple[str, str]
    limited: tuple[str, str]


def principals_document(
    principals: HarnessPrincipals, limited_visible: Sequence[str]
) -> list[dict[str, Any]]:
    """The state document's principals: privileged (all tasks), unprivileged, limited."""
    return [
        {
            "username": principals.privileged[0],
            "password": principals.privileged[1],
            "privileges": [SYSTEM_READ],
        },
        {
            "username": principals.unprivileged[0],
            "password": principals.unprivileged[1],
            "privileges": [],
        },
        {
            "username": principals.limited[0],
            "password": principals.limited[1],
            "privileges": [SYSTEM_READ],
            "visible_tasks": sorted(limited_visible),
        },
    ]


@cache
def state_documents(
    principals: HarnessPrincipals,
    *,
    min_tasks: int = 0,
    max_tasks: int = 30,
    value_pools: st.SearchStrategy[Pools] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """A whole state document: a small universe and the harness principals.

    The limited principal sees a drawn subset of the tasks (possibly none, possibly all). The
    pools and the tasks are drawn side by side from fixed strategies (no ``flatmap``), and the
    strategy is built once per set of options (``cache``): Hypothesis validates each new one.
    """

    def document(drawn: tuple[Pools, list[tuple[Mapping[str, Any], str, bool]]]) -> dict[str, Any]:
        pool, shapes = drawn
        items = _items(shapes, pool, "task")
        visible = [item["task"] for item, (_, _, seen) in zip(items, shapes, strict=True) if seen]
        return {"tasks": items, "principals": principals_document(principals, visible)}

    return st.tuples(
        value_pools if value_pools is not None else pools(),
        st.lists(task_shapes(), min_size=min_tasks, max_size=max_tasks),
    ).map(document)


@cache
def adversarial_pools() -> st.SearchStrategy[Pools]:
    """Pools whose users are the adversarial names (and whose ids need encoding too)."""
    from snapconform.strategies.values import ADVERSARIAL_USERS

    return st.builds(
        Pools,
        services=st.lists(
            st.sampled_from(("svc+plus", "svc space", "svc\\back", "Svc+Plus", "sérvice")),
            min_size=1,
            max_size=3,
            unique=True,
        ).map(tuple),
        operations=st.lists(
            st.sampled_from(("op&amp", "op=eq", "OP=EQ", "op%41", "op#hash")),
            min_size=1,
            max_size=3,
            unique=True,
        ).map(tuple),
        users=st.lists(st.sampled_from(ADVERSARIAL_USERS), min_size=3, max_size=6, unique=True).map(
            tuple
        ),
    )


# --- the deterministic first universe ------------------------------------------------------------

_MESSAGE = {"id": "com.vmware.snapservice.progress", "default_message": "Working", "args": []}

#: One fixed value per status-conditional field (the rich universe is not drawn). A field the
#: contracts add to the case map without a value here fails loudly (KeyError).
FIXED_UNION_VALUES: Mapping[str, Any] = {
    "progress": {"total": 100, "completed": 40, "message": _MESSAGE},
    "result": None,
    "error": {"error_type": "ERROR", "messages": [_MESSAGE]},
    "start_time": "2026-01-01T10:00:00.000Z",
    "end_time": "2026-01-01T10:05:00.000Z",
}
#: Task ids of the rich universe: ``task-1`` is a strict prefix of ``task-10``..``task-19``,
#: and some need percent-encoding.
RICH_ID_SUFFIXES: tuple[str, ...] = ("", "", ":a", "", "+b", "", " c", "", "ü", "")


def fixed_info(
    status: str, service: str, operation: str, user: str | None, n: int
) -> dict[str, Any]:
    """An Info of ``status`` with exactly the fields its x-union case requires (fixed values)."""
    info: dict[str, Any] = {
        "description": {
            "id": "com.vmware.snapservice.task",
            "default_message": f"task {n}",
            "args": [],
        },
        "service": service,
        "operation": operation,
        "status": status,
        "cancelable": n % 2 == 0 and status not in ("SUCCEEDED", "FAILED"),
        "user": user,
    }
    for name, required in union_cases()[status]:
        if required:
            info[name] = FIXED_UNION_VALUES[name]
    missing = info_required() - set(info)
    if missing:
        raise KeyError(f"fixed_info lacks required fields {sorted(missing)}")
    return info


def rich_state_document(principals: HarnessPrincipals, size: int = 12) -> dict[str, Any]:
    """A small universe where every filter deviation shows quickly: the first one pushed.

    Every status, four services, four operations, the adversarial users and a system task
    (``user`` null), in combinations that make every two-field filter select part of what
    either field alone selects; ids ``task-1``..``task-{size}`` (prefixes of one another, some
    with characters that need percent-encoding). The limited principal sees every other task.
    Twelve tasks: a failure's evidence lists a universe of up to 12 tasks whole
    (``universe.SUMMARY_ITEMS``), and this one needs no shrinking to be read.
    """
    from snapconform.strategies.values import ADVERSARIAL_USERS

    users: tuple[str | None, ...] = (*ADVERSARIAL_USERS, None)
    all_statuses = statuses()
    items = [
        {
            "task": f"task-{n}{RICH_ID_SUFFIXES[n % len(RICH_ID_SUFFIXES)]}",
            "info": fixed_info(
                all_statuses[n % len(all_statuses)],
                SERVICE_NAMES[n % 4],
                OPERATION_NAMES[(n // 3) % 4],
                users[n % len(users)],
                n,
            ),
        }
        for n in range(1, size + 1)
    ]
    visible = [item["task"] for index, item in enumerate(items) if index % 2 == 0]
    return {"tasks": items, "principals": principals_document(principals, visible)}
