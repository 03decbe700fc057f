"""Universes: tasks valid per contracts/schemas/Info.json, principals, whole state documents.

Per status, a task carries exactly what the ``x-union`` case map of Info.json allows: fields
required in its case are present and not null, optional ones may be present, fields of other
cases are absent or null. The map is read from the schema file, so the generator follows it.

Values come from small per-universe pools (services, operations, users) so that filters drawn
from the same pools hit several tasks, and the pools include adversarial strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from itertools import product
from random import Random
from types import MappingProxyType
from typing import Any

from hypothesis import strategies as st

from snapconform.strategies.contract_data import info_required, statuses, union_cases, union_fields
from snapconform.strategies.values import (
    ADVERSARIAL_USERS,
    OPERATION_NAMES,
    SEEDS,
    SERVICE_NAMES,
    UTF8_CHARACTERS,
    random_text,
    random_user_name,
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


#: The largest pool of each kind a universe draws (at least one value of each).
POOL_SIZES: Mapping[str, int] = MappingProxyType({"services": 4, "operations": 4, "users": 5})


@cache
def pools() -> st.SearchStrategy[Pools]:
    """Small pools: 1-4 services, 1-4 operations, 1-5 users (sometimes a system user).

    Hypothesis draws each pool's size and a seed; the seed draws the values (``seeded_pools``).
    Drawn value by value (a unique list of ``one_of``), pools cost Hypothesis ~3 ms of a
    universe's ~8 (issue 27). The sizes still shrink; the values no longer do (a failing
    universe is reported whole).
    """
    return st.builds(
        seeded_pools,
        *(st.integers(1, largest) for largest in POOL_SIZES.values()),
        SEEDS,
    )


def seeded_pools(services: int, operations: int, users: int, seed: int) -> Pools:
    """Pools of (up to) these sizes from ``seed``: a realistic identifier or arbitrary text,
    half and half; a user is no one (a system task) half the time, else an adversarial
    principal name or arbitrary text (``values.user_names``' mix). No value twice."""
    rng = Random(seed)

    def identifier(known: tuple[str, ...]) -> str:
        return rng.choice(known) if rng.random() < 0.5 else random_text(rng)

    def user() -> str | None:
        return None if rng.random() < 0.5 else random_user_name(rng)

    return Pools(
        services=_distinct(services, lambda: identifier(SERVICE_NAMES)),
        operations=_distinct(operations, lambda: identifier(OPERATION_NAMES)),
        users=_distinct(users, user),
    )


def _distinct(size: int, draw: Callable[[], Any]) -> tuple[Any, ...]:
    """Up to ``size`` distinct values of ``draw`` (the first always; a few tries for the rest,
    as a unique Hypothesis list gives up on values it keeps drawing twice)."""
    values: list[Any] = []
    for _ in range(3 * size):
        if len(values) == size:
            break
        value = draw()
        if value not in values:
            values.append(value)
    return tuple(values)


def format_datetime(moment: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ss.sssZ``: the form vCenter writes and the bindings read."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@cache
def datetimes() -> st.SearchStrategy[str]:
    # One integer (milliseconds) rather than st.datetimes' seven parts: the same range and form,
    # a seventh of Hypothesis' choices (issue 27).
    first = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp() * 1000)
    last = int(datetime(2099, 12, 31, tzinfo=UTC).timestamp() * 1000)
    return st.integers(first, last).map(
        lambda ms: format_datetime(datetime.fromtimestamp(ms / 1000, UTC))
    )


MESSAGE_IDS: tuple[str, ...] = ("com.vmware.snapservice.task", "com.vmware.snapservice.progress")


@cache
def localizable_messages() -> st.SearchStrategy[dict[str, Any]]:
    """com.vmware.vapi.std.localizable_message with its three required fields, from a seed
    (``seeded_message``): one Hypothesis choice instead of a dozen spans (issue 27)."""
    return SEEDS.map(seeded_message)


def seeded_message(seed: int) -> dict[str, Any]:
    """A message from ``seed``: one of the ids, a text of 1-30 characters, 0-2 arguments of 0-10
    characters, over ``UTF8_CHARACTERS``' alphabet (control characters included)."""
    rng = Random(seed)
    return {
        "id": rng.choice(MESSAGE_IDS),
        "default_message": random_text(rng, 30, controls=True),
        "args": [random_text(rng, 10, min_size=0, controls=True) for _ in range(rng.randint(0, 2))],
    }


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


_VALUE = object()


@cache
def union_presence(status: str) -> st.SearchStrategy[Mapping[str, Any]]:
    """Which status-conditional fields an Info of ``status`` holds, as ``union_part`` allows:
    ``_VALUE`` (the universe's value, ``union_values``), None, or ``_ABSENT``.

    Required fields of the case hold a value; its optional fields are absent, null or a value;
    fields of other cases are absent or null. Every combination is equally likely and drawn as
    one choice: a choice per field cost Hypothesis ~1.3 ms per universe, a fifth of drawing one
    (issue 27). The first combination is every field absent (or the required ones only), so a
    universe still shrinks towards the fewest fields, as per-field choices did.
    """
    own = {name: bool(required) for name, required in union_cases()[status]}
    names = sorted(union_fields())
    options: list[tuple[Any, ...]] = []
    for name in names:
        if own.get(name):
            options.append((_VALUE,))
        elif name in own:
            options.append((_ABSENT, None, _VALUE))
        else:
            options.append((_ABSENT, None))
    combinations = tuple(
        MappingProxyType(dict(zip(names, chosen, strict=True))) for chosen in product(*options)
    )
    return st.sampled_from(combinations)


@cache
def union_values() -> st.SearchStrategy[dict[str, Any]]:
    """One value per status-conditional field, shared by a universe's tasks that hold it."""
    return st.fixed_dictionaries(
        {name: UNION_FIELD_VALUES[name] for name in sorted(union_fields())}
    )


@cache
def union_part(status: str) -> st.SearchStrategy[dict[str, Any]]:
    """The status-conditional fields of one Info, exactly as ``x-union`` allows for ``status``.

    Required fields: present. Optional fields of the case: present, null or absent. Fields of
    other cases: null or absent (both are valid, and servers write either).
    """
    return st.tuples(union_presence(status), union_values()).map(
        lambda drawn: conditional_fields(*drawn)
    )


def conditional_fields(presence: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: values[name] if chosen is _VALUE else chosen
        for name, chosen in presence.items()
        if chosen is not _ABSENT
    }


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
def common_fields() -> st.SearchStrategy[dict[str, Any]]:
    """An Info's fields outside the x-union case map; service, operation and user as pool
    indices (``resolve_info``).

    One strategy for every universe: drawing from each drawn pool's own ``sampled_from`` (a
    ``flatmap``) built new strategies per universe, each validated afresh, which cost more
    than the draws themselves (issue 27).
    """
    index = st.integers(0, POOL_INDICES - 1)
    return st.fixed_dictionaries(
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


@cache
def status_shape(status: str) -> st.SearchStrategy[dict[str, Any]]:
    """An Info of ``status`` (pool indices in service, operation and user)."""
    return st.builds(_build_info, st.just(status), common_fields(), union_part(status))


@cache
def info_shapes() -> st.SearchStrategy[dict[str, Any]]:
    """An Info of any status (one branch per status: a status drawn, then its x-union case)."""
    return st.one_of([status_shape(value) for value in statuses()])


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


#: How likely each task is visible to the limited principal, one rate drawn per universe: none
#: and all stay as likely as a half (a per-task coin alone seldom gives either).
VISIBLE_RATES: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)


def layout(seed: int, count: int, pool: Pools) -> list[tuple[str, int, int, int, bool, str, bool]]:
    """Per task, from ``seed``: status, service/operation/user indices into ``pool``,
    cancelable, id suffix, visible to the limited principal.

    Task ``n`` depends on the seed and the tasks before it only, so a universe cut short (as
    Hypothesis shrinks the count) keeps its first tasks.
    """
    rng = Random(seed)
    rate = rng.choice(VISIBLE_RATES)
    all_statuses = statuses()
    return [
        (
            rng.choice(all_statuses),
            rng.randrange(len(pool.services)),
            rng.randrange(len(pool.operations)),
            rng.randrange(len(pool.users)),
            rng.random() < 0.5,
            rng.choice(ID_SUFFIXES),
            rng.random() < rate,
        )
        for _ in range(count)
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

    Hypothesis draws the pools, the fields every task shares (description, target, one value
    per x-union field), per status which x-union fields its tasks hold (value, null or absent),
    the number of tasks and a seed; the seed lays the tasks out
    (``layout``). Drawing every field of every task cost ~17 ms of Hypothesis per universe, most
    of a controlled run's CPU (issue 27); Hypothesis still shrinks the count, the pools and the
    shared fields. The limited principal sees a drawn subset of the tasks (possibly none,
    possibly all). Built once per set of options (``cache``): Hypothesis validates each new
    strategy.
    """

    def document(
        drawn: tuple[Pools, Mapping[str, Any], Mapping[str, Any], Mapping[str, Any], int, int],
    ) -> dict[str, Any]:
        pool, common, values, presence, count, seed = drawn
        conditional = {
            status: conditional_fields(chosen, values) for status, chosen in presence.items()
        }
        items, visible = [], []
        for n, (status, service, operation, user, cancelable, suffix, seen) in enumerate(
            layout(seed, count, pool)
        ):
            info = {
                **_build_info(status, common, conditional[status]),
                "service": pool.services[service],
                "operation": pool.operations[operation],
                "user": pool.users[user],
                "cancelable": cancelable,
            }
            items.append({"task": f"task-{n}{suffix}", "info": info})
            if seen:
                visible.append(items[-1]["task"])
        return {"tasks": items, "principals": principals_document(principals, visible)}

    return st.tuples(
        value_pools if value_pools is not None else pools(),
        common_fields(),
        union_values(),
        st.fixed_dictionaries({status: union_presence(status) for status in statuses()}),
        st.integers(min_tasks, max_tasks),
        st.integers(0, 2**32 - 1),
    ).map(document)


@cache
def adversarial_pools() -> st.SearchStrategy[Pools]:
    """Pools whose users are the adversarial names (and whose ids need encoding too)."""

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
