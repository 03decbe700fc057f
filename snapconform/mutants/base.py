"""What a mutant is (its declaration) and the two small bases several mutants share."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from snapconform.config import Mode
from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour
from snapconform.server.store import TaskStore, serialise as serialise_json

Area = Literal["filter", "cap", "auth", "contract", "intermittent"]
AREAS: tuple[Area, ...] = ("filter", "cap", "auth", "contract", "intermittent")
ALL_MODES: frozenset[Mode] = frozenset({"controlled", "declared", "observed"})
#: Modes in which the harness knows the principals' visible sets and can shape the data.
KNOWN_STATE: frozenset[Mode] = frozenset({"controlled", "declared"})
CONTROLLED: frozenset[Mode] = frozenset({"controlled"})


@dataclass(frozen=True)
class Mutant:
    """One deviation of the reference server, and what must catch it."""

    name: str
    area: Area
    description: str
    #: Requirement ids (engine catalogue) that name this deviation; the first is the primary.
    #: The mutant counts as caught when any of them fails.
    requirements: tuple[str, ...]
    #: Run modes in which the deviation is observable at all.
    modes: frozenset[Mode]
    behaviour_class: type[Behaviour] = field(repr=False)
    #: API version profile the deviation needs (e.g. the session calls exist from 9.0).
    api_version: str = "8.0.3"

    def __post_init__(self) -> None:
        if not self.requirements:
            raise ValueError(f"mutant {self.name!r} names no requirement")
        if not self.modes or not self.modes <= ALL_MODES:
            raise ValueError(f"mutant {self.name!r} has invalid modes {sorted(self.modes)}")
        if self.area not in AREAS:
            raise ValueError(f"mutant {self.name!r} has unknown area {self.area!r}")

    def behaviour(self) -> Behaviour:
        """A fresh Behaviour (fresh request counters: every run starts from request 0)."""
        behaviour = self.behaviour_class()
        behaviour.name = self.name
        return behaviour

    def server_config(self, base: ServerConfig | None = None) -> ServerConfig:
        """``base`` (default: the default universe) served by this mutant at its API version."""
        config = base if base is not None else ServerConfig()
        return replace(config, behaviour=self.behaviour(), api_version=self.api_version)

    def to_document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "area": self.area,
            "description": self.description,
            "requirements": list(self.requirements),
            "modes": sorted(self.modes),
            "api_version": self.api_version,
            "seam": seams(self.behaviour_class),
        }


def seams(behaviour_class: type[Behaviour]) -> list[str]:
    """The Behaviour methods a mutant class overrides (what it changes, for the docs)."""
    overridden: list[str] = []
    for name, value in vars(Behaviour).items():
        if not callable(value) or name.startswith("_"):
            continue
        for klass in behaviour_class.__mro__:
            if klass is Behaviour:
                break
            if name in vars(klass):
                overridden.append(name)
                break
    return overridden


class ItemRewrite(Behaviour):
    """Renders each ListItem through ``rewrite_item`` (None: unchanged, the stored bytes)."""

    def render_item(self, store: TaskStore, position: int) -> bytes:
        rewritten = self.rewrite_item(store.item(position))
        if rewritten is None:
            return store.item_json(position)
        return serialise_json(rewritten)

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        return None


def with_info(item: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``item`` whose ``info`` has ``changes`` applied (a value of ``...``: removed)."""
    info = {key: value for key, value in item["info"].items() if changes.get(key, 0) is not ...}
    info.update({key: value for key, value in changes.items() if value is not ...})
    return {**item, "info": info}


class RequestCounter(Behaviour):
    """A per-instance, thread-safe counter: intermittent mutants are deterministic per request.

    Each Behaviour instance (one per served app) counts from 0, so a run against a freshly
    started mutant sees the same sequence of good and bad responses every time.
    """

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._counter_lock = threading.Lock()

    def next_count(self) -> int:
        with self._counter_lock:
            return next(self._counter)
