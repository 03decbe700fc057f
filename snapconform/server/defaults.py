"""The generated default universe: realistic, deterministic tasks and documented principals.

Used when the server starts with neither ``--state`` nor a control client: 1500 tasks (so the
empty filter shows the 1000-task cap), several services and operations, users that need
percent-encoding, a system user (null), every status obeying the status-conditional rules of
``contracts/schemas/Info.json``. The principals are documented in docs/reference-server.md.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from snapconform.state import SYSTEM_READ, Principal, State

#: service -> its operations: vAPI service identifiers and task-returning operations of the
#: official bindings (vmware-vsan-data-protection 9.1.1.0, ``<operation>_task`` methods), so a
#: discovery through ``services=`` that starts from the bindings' identifiers finds them.
SERVICES: dict[str, tuple[str, ...]] = {
    "com.vmware.snapservice.clusters.protection_groups": (
        "create",
        "update",
        "delete",
        "pause",
        "resume",
    ),
    "com.vmware.snapservice.clusters.protection_groups.snapshots": ("create",),
    "com.vmware.snapservice.virtual_machines.snapshots": ("delete", "update", "add_label"),
    "com.vmware.snapservice.sites": ("add", "update", "delete"),
    "com.vmware.snapservice.cluster_pairs": ("create", "delete"),
}

#: Target type per service (the bindings' resource types).
TARGET_TYPES: dict[str, str] = {
    "com.vmware.snapservice.clusters.protection_groups": "com.vmware.snapservice.protection_group",
    "com.vmware.snapservice.clusters.protection_groups.snapshots": (
        "com.vmware.snapservice.protection_group.snapshot"
    ),
    "com.vmware.snapservice.virtual_machines.snapshots": "com.vmware.snapservice.vm.snapshot",
    "com.vmware.snapservice.sites": "com.vmware.snapservice.site",
    "com.vmware.snapservice.cluster_pairs": "com.vmware.snapservice.cluster_pair",
}

#: Initiating users, weighted; ``None`` is a system task (no user).
USERS: tuple[tuple[str | None, int], ...] = (
    ("administrator@vsphere.local", 30),
    ("VSPHERE.LOCAL\\Administrator", 15),
    ("ops+robot@corp.example", 20),
    ("svc account", 10),
    ("jürgen@corp.example", 10),
    ("backup-admin@corp.example", 5),
    (None, 10),
)

#: Status weights of a realistic history: mostly finished, some in flight.
STATUSES: tuple[tuple[str, int], ...] = (
    ("SUCCEEDED", 55),
    ("FAILED", 12),
    ("RUNNING", 15),
    ("BLOCKED", 5),
    ("PENDING", 13),
)

TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED"})

#: Documented default principals (docs/reference-server.md).
ADMIN_USERNAME = "administrator@vsphere.local"
ADMIN_PASSWORD = "Snapconform-Admin-1!"
NOPRIVS_USERNAME = "readonly-noprivs@vsphere.local"
NOPRIVS_PASSWORD = "Snapconform-NoPrivs-1!"
LIMITED_USERNAME = "limited-operator@vsphere.local"
LIMITED_PASSWORD = "Snapconform-Limited-1!"

#: The fixed "now" of the default universe, so generation is deterministic.
DEFAULT_EPOCH = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)


def format_datetime(moment: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ss.sssZ``, the form vCenter writes."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def message(message_id: str, default_message: str, *args: str) -> dict[str, Any]:
    """A com.vmware.vapi.std.localizable_message."""
    return {"id": message_id, "default_message": default_message, "args": list(args)}


def _weighted(rng: random.Random, choices: Sequence[tuple[Any, int]]) -> Any:
    values = [value for value, _ in choices]
    weights = [weight for _, weight in choices]
    return rng.choices(values, weights=weights, k=1)[0]


def new_task_id(rng: random.Random, service: str) -> str:
    """A vAPI-style task id: ``<uuid>:<service>``."""
    return f"{uuid.UUID(int=rng.getrandbits(128), version=4)}:{service}"


def progress(completed: int, total: int = 100) -> dict[str, Any]:
    return {
        "total": total,
        "completed": completed,
        "message": message(
            "com.vmware.snapservice.tasks.progress",
            f"Completed {completed} of {total} steps.",
            str(completed),
            str(total),
        ),
    }


def failure() -> dict[str, Any]:
    """A standard error, as a FAILED task's ``error``."""
    return {
        "error_type": "ERROR",
        "messages": [
            message(
                "com.vmware.snapservice.tasks.failed",
                "The operation failed: the remote site did not respond in time.",
            )
        ],
    }


def with_status(
    info: dict[str, Any], status: str, rng: random.Random, now: datetime
) -> dict[str, Any]:
    """``info`` moved to ``status``, with exactly the fields that status allows.

    PENDING: no progress/result/error/start_time/end_time. RUNNING/BLOCKED: progress and
    start_time, no error/end_time. SUCCEEDED: progress, start_time and end_time, no error.
    FAILED: progress, start_time and end_time, and an error.
    """
    out = {
        key: value
        for key, value in info.items()
        if key not in ("progress", "result", "error", "start_time", "end_time")
    }
    out["status"] = status
    if status == "PENDING":
        return out
    start = info.get("start_time") or format_datetime(now)
    out["start_time"] = start
    if status in ("RUNNING", "BLOCKED"):
        previous = info.get("progress") or progress(0)
        completed = min(99, previous["completed"] + rng.randint(0, 30))
        out["progress"] = progress(completed)
        return out
    out["end_time"] = format_datetime(now)
    out["cancelable"] = False  # a finished task cannot be cancelled
    if status == "SUCCEEDED":
        out["progress"] = progress(100)
    else:
        out["progress"] = progress(rng.randint(0, 99))
        out["error"] = failure()
    return out


def make_task(rng: random.Random, created: datetime, status: str | None = None) -> dict[str, Any]:
    """One realistic ListItem created at ``created`` (status drawn when not given)."""
    service = rng.choice(sorted(SERVICES))
    operation = rng.choice(SERVICES[service])
    user = _weighted(rng, USERS)
    status = status or _weighted(rng, STATUSES)
    target_id = f"{service.rsplit('.', 1)[-1]}-{rng.randint(1, 40)}"
    info: dict[str, Any] = {
        "description": message(
            f"{service}.{operation}",
            f"{operation.capitalize()} {service.rsplit('.', 1)[-1].replace('_', ' ')} {target_id}",
            target_id,
        ),
        "service": service,
        "operation": operation,
        "status": "PENDING",
        "cancelable": rng.random() < 0.3,
        "target": {"type": TARGET_TYPES[service], "id": target_id},
        "user": user,
    }
    if rng.random() < 0.2:
        info["vc_task"] = f"task-{rng.randint(1000, 99999)}"
    item_id = new_task_id(rng, service)
    if status == "PENDING":
        return {"task": item_id, "info": info}
    started = with_status(info, "RUNNING", rng, created)
    if status in ("RUNNING", "BLOCKED"):
        return {"task": item_id, "info": with_status(started, status, rng, created)}
    finished_at = created + timedelta(
        seconds=rng.randint(5, 3600), milliseconds=rng.randint(0, 999)
    )
    return {"task": item_id, "info": with_status(started, status, rng, finished_at)}


def generate_tasks(
    rng: random.Random,
    n: int,
    *,
    end: datetime = DEFAULT_EPOCH,
    span: timedelta = timedelta(days=7),
) -> list[dict[str, Any]]:
    """``n`` tasks created over ``span`` before ``end``, oldest first."""
    step = span / max(n, 1)
    start = end - span
    return [
        make_task(rng, start + step * index + timedelta(milliseconds=rng.randint(0, 999)))
        for index in range(n)
    ]


def default_principals(tasks: Sequence[dict[str, Any]]) -> tuple[Principal, ...]:
    """The documented principals; the limited one sees a deterministic sixth of the tasks."""
    limited_view = frozenset(item["task"] for index, item in enumerate(tasks) if index % 6 == 0)
    return (
        Principal(ADMIN_USERNAME, ADMIN_PASSWORD, frozenset({SYSTEM_READ, "System.View"})),
        Principal(NOPRIVS_USERNAME, NOPRIVS_PASSWORD, frozenset({"System.Anonymous"})),
        Principal(LIMITED_USERNAME, LIMITED_PASSWORD, frozenset({SYSTEM_READ}), limited_view),
    )


def default_state(seed: int = 0, size: int = 1500) -> State:
    """The default universe: ``size`` generated tasks and the documented principals."""
    rng = random.Random(seed)
    tasks = generate_tasks(rng, size)
    return State(tasks=tuple(tasks), principals=default_principals(tasks))


#: Above this many tasks a generated universe is a *busy* one (``busy_state``).
BUSY_FROM = 5000


def busy_state(seed: int = 0, size: int = 10_000) -> State:
    """A busy staging vCenter: ``size`` tasks spread evenly over the five statuses.

    With 10 000 tasks every status holds 2000, over the 1000-task cap: the empty filter and
    every single status answer the cap error, so observed discovery must split further (by
    service) to list anything. Services, operations and users are drawn as in the default
    universe.
    """
    rng = random.Random(seed)
    span = timedelta(days=30)
    step = span / max(size, 1)
    start = DEFAULT_EPOCH - span
    order = [status for status, _ in STATUSES]
    tasks = [
        make_task(
            rng,
            start + step * index + timedelta(milliseconds=rng.randint(0, 999)),
            order[index % len(order)],
        )
        for index in range(size)
    ]
    return State(tasks=tuple(tasks), principals=default_principals(tasks))


def generated_state(seed: int = 0, size: int = 1500) -> State:
    """The generated universe of ``size`` tasks: the default one, or a busy one from
    ``BUSY_FROM`` tasks on (``snapconform serve --tasks N``)."""
    return busy_state(seed, size) if size >= BUSY_FROM else default_state(seed, size)


def build_task(
    task_id: str,
    *,
    status: str = "SUCCEEDED",
    service: str = "com.vmware.snapservice.snapshot",
    operation: str = "create",
    user: str | None = ADMIN_USERNAME,
    started: datetime = DEFAULT_EPOCH,
) -> dict[str, Any]:
    """A valid ListItem with exactly the given matching fields (for hand-built states).

    The status-conditional fields are filled as ``status`` requires; deterministic per id.
    """
    rng = random.Random(task_id)
    info: dict[str, Any] = {
        "description": message(f"{service}.{operation}", f"{operation} {task_id}", task_id),
        "service": service,
        "operation": operation,
        "status": "PENDING",
        "cancelable": False,
        "user": user,
    }
    if status != "PENDING":
        running = with_status(info, "RUNNING", rng, started)
        info = with_status(running, status, rng, started + timedelta(seconds=30))
    return {"task": task_id, "info": info}
