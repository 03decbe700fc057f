"""Progress of a conformance run on the terminal: the run's events, rendered as they happen.

:class:`ProgressDisplay` is an event handler of :class:`snapconform.run.session.RunSession`: it
counts the checks (``RunStarted``, ``CheckStarted``, ``RequirementFinished``) and the requests
(``RequestsSent``). On a terminal (and not in CI) the display is one status line redrawn in place,
with failures printed above it as they happen, and the request count kept moving during a long
check; elsewhere it degrades to one plain line per finished check.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from snapconform.run.session import (
    CheckStarted,
    Event,
    RequestsSent,
    RequirementFinished,
    RunStarted,
)

OUTCOMES = ("passed", "failed", "not checked", "not applicable")
_CLEAR_LINE = "\r\x1b[K"


def is_live(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether to redraw a status line: a real terminal, not CI, not a dumb terminal."""
    if environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        return False
    if environ.get("TERM", "") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@dataclass
class ProgressState:
    """What the events so far add up to."""

    total: int | None = None
    current: str | None = None
    requests: int = 0
    finished: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))

    @property
    def failures(self) -> int:
        return self.counts["failed"]


class ProgressDisplay:
    """Renders progress events on *stream*: a live status line, or plain lines."""

    def __init__(self, stream: TextIO, *, live: bool, width: int = 100) -> None:
        self.stream = stream
        self.live = live
        self.width = width
        self.state = ProgressState()
        self._status_shown = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    @classmethod
    def for_stream(cls, stream: TextIO, environ: Mapping[str, str]) -> ProgressDisplay:
        live = is_live(stream, environ)
        width = 100
        if live:
            try:
                # a terminal whose size was never set (some CI ptys) reports 0 columns
                width = os.get_terminal_size(stream.fileno()).columns or 100
            except (OSError, ValueError, AttributeError):
                width = 100
        return cls(stream, live=live, width=width)

    def handle(self, event: Event) -> None:
        """Apply one event of the run."""
        with self._lock:
            state = self.state
            if isinstance(event, RunStarted):
                state.total = event.total
                self._status()
            elif isinstance(event, CheckStarted):
                state.current = event.requirement.id
                self._status()
            elif isinstance(event, RequestsSent):
                state.requests += max(0, event.count)
                self._status()
            elif isinstance(event, RequirementFinished):
                outcome = event.result.outcome.replace("_", " ")
                state.finished += 1
                state.counts[outcome] += 1
                self._finished(outcome, event.requirement.id, event.requirement.title)

    def follow(self, requests: Callable[[], int], interval: float = 0.5) -> None:
        """Keep the live line's request count moving during long checks (``requests()`` is the
        run's count so far); stopped by :meth:`close`."""
        if not self.live or self._ticker is not None:
            return
        offset = requests() - self.state.requests

        def tick() -> None:
            while not self._stop.wait(interval):
                with self._lock:
                    try:
                        self.state.requests = max(self.state.requests, requests() - offset)
                    except Exception:  # progress is best effort and never breaks a run
                        return
                    self._status()

        self._ticker = threading.Thread(target=tick, name="snapconform-progress", daemon=True)
        self._ticker.start()

    def _position(self) -> str:
        total = self.state.total
        return f"[{self.state.finished}/{total}]" if total else f"[{self.state.finished}]"

    def _tally(self) -> str:
        state = self.state
        failures = state.failures
        plural = "" if failures == 1 else "s"
        unchecked = state.counts.get("not checked", 0)
        also = f", {unchecked} not checked" if unchecked else ""
        return f"{state.requests} requests sent, {failures} failure{plural}{also} so far"

    def _status(self) -> None:
        if not self.live:
            return
        checking = f" checking {self.state.current}" if self.state.current else ""
        line = f"{self._position()}{checking} · {self._tally()}"
        self.stream.write(_CLEAR_LINE + line[: max(10, self.width - 1)])
        self.stream.flush()
        self._status_shown = True

    def _finished(self, outcome: str, requirement: str, title: str) -> None:
        label = f"{requirement} {title}".rstrip()
        if self.live:
            if outcome == "failed":
                self._clear()
                self.stream.write(f"{outcome.upper():7} {label}\n")
            self._status()
        else:
            self.stream.write(f"{self._position()} {outcome:7} {label} ({self._tally()})\n")
            self.stream.flush()

    def _clear(self) -> None:
        if self._status_shown:
            self.stream.write(_CLEAR_LINE)
            self._status_shown = False

    def close(self) -> None:
        """Remove the status line so that the runner's verdict starts on a clean line."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        with self._lock:
            if self.live:
                self._clear()
                self.stream.flush()
