"""Equal decode shapes never hide a different bindings verdict (CONTRACT-BINDINGS' cache).

``BindingsVerdicts`` decodes one task per decode shape and reuses that verdict for every task
of the same shape. The property: for tasks generated like the reference server's and then
corrupted anywhere (a leaf replaced by a value of another kind, an invalid date-time, another
status, a key removed or added), fed one after another through one cache, the cached verdict is
the bindings' own verdict for that task, every time.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from snapconform.engine import oracle
from snapconform.engine.bindings_shape import decode_shape
from snapconform.engine.runwide import BindingsVerdicts
from snapconform.fastvalidate import SAFE_DATETIME
from snapconform.server.defaults import generate_tasks

pytestmark = pytest.mark.bindings

TASKS = generate_tasks(random.Random(11), 40)

#: Leaf replacements: other kinds, boundaries of the integer and date-time rules, statuses.
REPLACEMENTS: list[Any] = [
    "",
    "text",
    "2026-01-08T12:00:00Z",
    "2026-01-08T12:00:00.137+02:00",
    "2026-13-08T12:00:00Z",
    "2026-01-32T12:00:00Z",
    "2026-01-08 12:00:00",
    "yesterday",
    0,
    -1,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    1.0,
    2.5,
    True,
    False,
    None,
    [],
    ["a"],
    [1],
    {},
    {"id": "x"},
    "RUNNING",
    "FAILED",
    "SUCCEEDED",
    "BLOCKED",
    "succeeded",
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (dict keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    copy = json.loads(json.dumps(value))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    if new is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return copy


_DELETE = object()


def _add_key(value: Any, path: tuple[Any, ...], key: str) -> Any:
    copy = json.loads(json.dumps(value))
    target = copy
    for step in path:
        target = target[step]
    if isinstance(target, dict):
        target[key] = "added"
    return copy


@st.composite
def corrupted_tasks(draw: st.DrawFn) -> dict[str, Any]:
    """A generated task, unchanged or with one corruption at a random place.

    @composite: the corruption's place depends on the drawn task's own structure.
    """
    task = draw(st.sampled_from(TASKS))
    how = draw(st.sampled_from(["none", "replace", "replace", "replace", "delete", "add"]))
    if how == "none":
        return task
    path = draw(st.sampled_from(_paths(task)))
    if how == "replace":
        return _replace(task, path, draw(st.sampled_from(REPLACEMENTS)))
    if how == "delete" and not isinstance(path[-1], int):
        return _replace(task, path, _DELETE)
    return _add_key(task, path[:-1], draw(st.sampled_from(["extra", "id", "status", "total"])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(corrupted_tasks(), min_size=1, max_size=12))
def test_the_cached_verdict_is_the_bindings_verdict_for_every_task(
    tasks: list[dict[str, Any]],
) -> None:
    verdicts = BindingsVerdicts()
    for task in tasks:
        cached = verdicts._decodes("ListItem", task)
        real = oracle.bindings_decode_error(json.dumps(task), "ListItem") is None
        assert cached == real, (task, decode_shape(task, "ListItem"))


def test_generated_tasks_share_few_shapes() -> None:
    """The point of the cache: 1000 tasks of the reference server decode as a few dozen."""
    tasks = generate_tasks(random.Random(3), 1000)
    shapes = {decode_shape(task, "ListItem") for task in tasks}
    assert len(shapes) <= 60, len(shapes)


def test_free_text_and_integers_share_a_shape_and_enums_do_not() -> None:
    task = TASKS[0]
    renamed = _replace(task, ("info", "user"), "someone@else")
    assert decode_shape(renamed, "ListItem") == decode_shape(task, "ListItem")
    other_status = _replace(task, ("info", "status"), "FAILED")
    assert decode_shape(other_status, "ListItem") != decode_shape(task, "ListItem")
    as_float = _replace(task, ("info", "progress", "total"), 100.0)
    assert decode_shape(as_float, "ListItem") != decode_shape(task, "ListItem")
    bad_time = _replace(task, ("info", "start_time"), "2026-13-08T12:00:00Z")
    assert decode_shape(bad_time, "ListItem") != decode_shape(task, "ListItem")


@settings(max_examples=300, deadline=None)
@given(st.from_regex(SAFE_DATETIME, fullmatch=True))
def test_every_date_time_taken_without_the_parser_is_one_the_parser_accepts(text: str) -> None:
    from vmware.vapi.bindings.datetime_helper import DateTimeConverter

    DateTimeConverter.convert_to_datetime(text)  # raises for a date-time it rejects
