"""What one answer says, and where two answers to the same request differ.

An :class:`Observation` keeps what two servers must agree on for a client: the HTTP status, the
media type, for an error its ``error_type``, message ids and shape (message texts are
localisable and may differ), the 401 challenge, for a list its form and its tasks by id.
:func:`compare` returns the :class:`Difference` s between two observations, each naming the task
ids it involves and which of them were open (not SUCCEEDED/FAILED) on either side: only those can
have changed between the two answers, so only they need confirming.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from snapconform.engine.oracle import CAP, TERMINAL_STATUSES
from snapconform.engine.target import Exchange

#: Aspects compared, in the order a reader wants them (diff.schema.json lists the same).
ASPECTS: tuple[str, ...] = (
    "status",
    "content_type",
    "error_type",
    "error_body",
    "www_authenticate",
    "body_form",
    "task_ids",
    "duplicate_ids",
    "task_fields",
)
#: How many task ids (or differing tasks) one difference lists; the counts are always whole.
SHOWN = 20


@dataclass(frozen=True)
class Observation:
    """One answer as far as the comparison is concerned."""

    status: int
    media_type: str | None
    error_type: str | None = None
    message_ids: tuple[str, ...] | None = None
    error_shape: str | None = None
    challenge: bool | None = None
    #: "list" (an object with an items array), "json" (other JSON), "not-json", "empty"
    body_form: str = "empty"
    items: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    duplicates: tuple[str, ...] = ()
    #: how many items the list had (only the first CAP + 1 are kept in ``items``)
    listed: int = 0
    #: no HTTP answer (status 0): what went wrong (reset, timeout, a body over the limits)
    transport_error: str | None = None

    @classmethod
    def failed(cls, problem: str) -> Observation:
        return cls(status=0, media_type=None, body_form="no answer", transport_error=problem)

    @classmethod
    def of(cls, response: Exchange) -> Observation:
        media = response.content_type
        media_type = media.split(";", 1)[0].strip().lower() if media else None
        body = response.body
        if not response.text:
            form = "empty"
        elif response.json_error is not None or (body is None and response.text.strip() != "null"):
            form = "not-json"
        elif isinstance(body, Mapping) and isinstance(body.get("items"), list):
            form = "list"
        else:
            form = "json"
        observation = cls(status=response.status, media_type=media_type, body_form=form)
        if response.status == 401:
            observation = _with(observation, challenge=_has_challenge(response))
        if form == "list":
            items: dict[str, Mapping[str, Any]] = {}
            counts: Counter[str] = Counter()
            for item in body["items"][: CAP + 1]:
                # past CAP + 1 a list is wrong whatever it holds (the other side's count says
                # so); comparing a hostile 100 000-item body whole would stall the diff
                if isinstance(item, Mapping) and isinstance(item.get("task"), str):
                    counts[item["task"]] += 1
                    items.setdefault(item["task"], item)
            duplicates = tuple(sorted(task for task, n in counts.items() if n > 1))
            return _with(observation, items=items, duplicates=duplicates, listed=len(body["items"]))
        if response.status != 200 and isinstance(body, Mapping):
            messages = body.get("messages")
            ids = (
                tuple(str(m.get("id")) for m in messages if isinstance(m, Mapping))
                if isinstance(messages, list)
                else None
            )
            error_type = body.get("error_type")
            return _with(
                observation,
                error_type=error_type if isinstance(error_type, str) else None,
                message_ids=ids,
                error_shape=shape(body),
            )
        return observation

    def open_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` this answer lists as open (their status may still change)."""
        return {
            task_id for task_id in ids if task_id in self.items and _is_open(self.items[task_id])
        }

    @property
    def lists_open_task(self) -> bool:
        return any(_is_open(item) for item in self.items.values())


def _with(observation: Observation, **changes: Any) -> Observation:
    from dataclasses import replace

    return replace(observation, **changes)


def _is_open(item: Mapping[str, Any]) -> bool:
    info = item.get("info")
    return not isinstance(info, Mapping) or info.get("status") not in TERMINAL_STATUSES


def _has_challenge(response: Exchange) -> bool:
    body = response.body
    in_body = isinstance(body, Mapping) and bool(body.get("challenge"))
    return in_body and "www-authenticate" in response.headers


def shape(node: Any) -> str:
    """The structure of a JSON value: keys and types, never the texts (they are localisable)."""
    if isinstance(node, Mapping):
        inner = ",".join(f"{key}:{shape(node[key])}" for key in sorted(node))
        return "{" + inner + "}"
    if isinstance(node, list):
        kinds = sorted({shape(value) for value in node})
        return "[" + "|".join(kinds) + "]"
    if isinstance(node, bool):
        return "bool"
    if isinstance(node, int | float):
        return "number"
    if node is None:
        return "null"
    return "string"


@dataclass(frozen=True)
class Difference:
    """One aspect on which the two answers differ.

    ``tasks``: the task ids involved; ``open_tasks``: those open on either side (a difference
    about them may be churn and is confirmed by asking again before it counts).
    """

    aspect: str
    a: Any
    b: Any
    detail: str
    tasks: frozenset[str] = frozenset()
    open_tasks: frozenset[str] = frozenset()
    #: a status-level difference next to an open task: asking again tells churn from deviation
    churn_possible: bool = False

    def restricted(self, tasks: frozenset[str]) -> Difference:
        """The same difference about ``tasks`` only (used to split confirmed from uncertain)."""
        return Difference(
            self.aspect,
            self.a,
            self.b,
            self.detail,
            self.tasks & tasks,
            self.open_tasks & tasks,
            self.churn_possible,
        )


def compare(a: Observation, b: Observation) -> list[Difference]:
    """Every aspect on which ``a`` and ``b`` differ (empty: the answers agree)."""
    # an open task may have moved a filter across the cap between the two answers; a list
    # longer than the cap is never explained that way
    churn = (a.lists_open_task or b.lists_open_task) and max(len(a.items), len(b.items)) <= CAP
    if a.status != b.status:
        return [
            Difference(
                "status",
                a.status,
                b.status,
                f"{_answer(a)} vs {_answer(b)}",
                churn_possible=churn,
            )
        ]
    out: list[Difference] = []
    if a.media_type != b.media_type:
        out.append(Difference("content_type", a.media_type, b.media_type, "Content-Type differs"))
    if a.error_type != b.error_type:
        out.append(
            Difference(
                "error_type",
                a.error_type,
                b.error_type,
                f"error_type {a.error_type} vs {b.error_type}",
            )
        )
    elif a.message_ids != b.message_ids or a.error_shape != b.error_shape:
        what = "message ids" if a.message_ids != b.message_ids else "body structure"
        out.append(
            Difference(
                "error_body",
                {"message_ids": _list(a.message_ids), "shape": a.error_shape},
                {"message_ids": _list(b.message_ids), "shape": b.error_shape},
                f"error body differs ({what})",
            )
        )
    if a.challenge != b.challenge:
        out.append(
            Difference(
                "www_authenticate",
                a.challenge,
                b.challenge,
                f"401 challenge (body field and WWW-Authenticate): {_yes(a.challenge)} vs"
                f" {_yes(b.challenge)}",
            )
        )
    if a.body_form != b.body_form:
        out.append(
            Difference(
                "body_form", a.body_form, b.body_form, f"body {a.body_form} vs {b.body_form}"
            )
        )
        return out
    if a.body_form != "list":
        return out
    only_a = frozenset(a.items) - frozenset(b.items)
    only_b = frozenset(b.items) - frozenset(a.items)
    # past CAP + 1 items only the counts are compared (see Observation.of)
    over_cap = a.listed != b.listed and max(a.listed, b.listed) > CAP
    if only_a or only_b or over_cap:
        involved = only_a | only_b
        detail = f"{len(only_a)} task(s) only in A, {len(only_b)} only in B"
        if over_cap:
            detail = f"{a.listed} vs {b.listed} tasks listed (compared up to {CAP + 1}); {detail}"
        out.append(
            Difference(
                "task_ids",
                {"count": a.listed, "only_here": sorted(only_a)[:SHOWN]},
                {"count": b.listed, "only_here": sorted(only_b)[:SHOWN]},
                detail,
                tasks=involved,
                open_tasks=frozenset(a.open_ids(only_a) | b.open_ids(only_b)),
            )
        )
    if a.duplicates != b.duplicates:
        out.append(
            Difference(
                "duplicate_ids",
                list(a.duplicates[:SHOWN]),
                list(b.duplicates[:SHOWN]),
                "task ids listed more than once differ",
                tasks=frozenset(a.duplicates) ^ frozenset(b.duplicates),
            )
        )
    fields: dict[str, list[str]] = {}
    for task_id in sorted(frozenset(a.items) & frozenset(b.items)):
        # type-strict: 100 and 100.0 compare equal in Python, not on the wire
        differing = field_differences(a.items[task_id], b.items[task_id])
        if differing:
            fields[task_id] = differing
    if fields:
        involved = frozenset(fields)
        opened = a.open_ids(involved) | b.open_ids(involved)
        paths = Counter(path for differing in fields.values() for path in differing)
        out.append(
            Difference(
                "task_fields",
                {task_id: _pick(a.items[task_id], fields[task_id]) for task_id in _first(fields)},
                {task_id: _pick(b.items[task_id], fields[task_id]) for task_id in _first(fields)},
                f"{len(fields)} task(s) differ in "
                + ", ".join(f"{path} ({n})" for path, n in paths.most_common(6)),
                tasks=involved,
                open_tasks=frozenset(opened),
            )
        )
    return out


def field_differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Dotted paths where two JSON values differ (a missing key counts as a difference)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                out.append(where)
            else:
                out.extend(field_differences(a[key], b[key], where))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for index, (left, right) in enumerate(zip(a, b, strict=True)):
            out.extend(field_differences(left, right, f"{path}[{index}]"))
        return out
    if type(a) is not type(b) or a != b:
        return [path or "$"]
    return []


def _pick(item: Mapping[str, Any], paths: list[str]) -> dict[str, Any]:
    """The values of ``item`` at ``paths`` (``<absent>`` where it has none)."""
    out: dict[str, Any] = {}
    for path in paths:
        node: Any = item
        for part in _PATH_PART.findall(path):
            key: str | int = int(part[1:-1]) if part.startswith("[") else part
            if (isinstance(node, Mapping) and key in node) or (
                isinstance(node, list) and isinstance(key, int) and key < len(node)
            ):
                node = node[key]
            else:
                node = "<absent>"
                break
        out[path] = node
    return out


_PATH_PART = re.compile(r"\[\d+\]|[^.\[]+")


def _first(fields: Mapping[str, list[str]]) -> list[str]:
    return list(fields)[:SHOWN]


def _list(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)


def _yes(value: bool | None) -> str:
    return "present" if value else "missing"


def _answer(observation: Observation) -> str:
    if observation.transport_error is not None:
        return f"no answer ({observation.transport_error})"
    return f"HTTP {observation.status}"
