"""What the strategies read from ``contracts/``: enums, required fields, the x-union case map.

The strategies never retype a schema: a new status or a changed case map in the contracts
changes what is generated without touching Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from snapconform.contracts import default_contracts


@cache
def statuses() -> tuple[str, ...]:
    """The Status enum (contracts/schemas/Status.json)."""
    return tuple(default_contracts().schema("Status")["enum"])


@cache
def info_required() -> frozenset[str]:
    return frozenset(default_contracts().schema("Info")["required"])


@cache
def union_cases() -> Mapping[str, Sequence[Sequence[Any]]]:
    """Info.json ``x-union.cases``: status -> [[field, required], ...]."""
    return default_contracts().schema("Info")["x-union"]["cases"]


@cache
def union_fields() -> frozenset[str]:
    """Every field some status case mentions (absent or null in the other cases)."""
    return frozenset(name for case in union_cases().values() for name, _ in case)
