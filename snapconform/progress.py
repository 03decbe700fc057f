"""Progress of a conformance run: events written by the suite, rendered by ``snapconform run``.

The suite runs in a pytest subprocess (possibly with xdist workers), so progress travels as JSON
lines appended to a file: :class:`ProgressWriter` on the pytest side, :class:`ProgressFollower`
(tails the file) and :class:`ProgressDisplay` (renders) on the runner side. Events:

``{"event": "start", "total": 40}``
    the session collected *total* checks
``{"event": "check", "requirement": "SC-CAP-001", "title": "..."}``
    a check started
``{"event": "requests", "count": 3}``
    *count* more requests were sent (a delta, so that xdist workers can add up)
``{"event": "outcome", "requirement": "SC-CAP-001", "outcome": "failed", "title": "..."}``
    a check finished: passed, failed, skipped or error; a snapconform requirement's skip says
    which kind it is: "not checked" or "not applicable"

On a terminal (and not in CI) the display is one status line redrawn in place, with failures
printed above it as they happen; elsewhere it degrades to one plain line per finished check.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

PROGRESS_FILE_ENV = "SNAPCONFORM_PROGRESS_FILE"
OUTCOMES = ("passed", "failed", "skipped", "not checked", "not applicable", "error")
_CLEAR_LINE = "\r\x1b[K"


def is_live(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether to redraw a status line: a real terminal, not CI, not a dumb terminal."""
    if environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        return False
    if environ.get("TERM", "") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


# ---------------------------------------------------------------------------------------------
# the writing side (inside pytest)


class ProgressWriter:
    """Appends events to a progress file; safe to share between threads and xdist processes.

    Each event is one ``write`` of one short line on a file opened for append, which POSIX keeps
    whole when several processes append to the same file.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n"
        with self._lock:
            fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)

    def start(self, total: int) -> None:
        self.emit("start", total=total)

    def check(self, requirement: str, title: str = "") -> None:
        self.emit("check", requirement=requirement, title=title)

    def requests(self, count: int) -> None:
        if count > 0:
            self.emit("requests", count=count)

    def outcome(self, requirement: str, outcome: str, title: str = "") -> None:
        self.emit("outcome", requirement=requirement, outcome=outcome, title=title)


# ---------------------------------------------------------------------------------------------
# the rendering side (in snapconform run)


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
        return self.counts["failed"] + self.counts["error"]


class ProgressDisplay:
    """Renders progress events on *stream*: a live status line, or plain lines."""

    def __init__(self, stream: TextIO, *, live: bool, width: int = 100) -> None:
        self.stream = stream
        self.live = live
        self.width = width
        self.state = ProgressState()
        self._status_shown = False
        self._lock = threading.Lock()

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

    def handle(self, event: Mapping[str, Any]) -> None:
        """Apply one event; unknown or malformed events are ignored (progress is best effort)."""
        with self._lock:
            kind = event.get("event")
            state = self.state
            if kind == "start" and isinstance(event.get("total"), int):
                state.total = event["total"]
                self._status()
            elif kind == "check":
                state.current = str(event.get("requirement", "?"))
                self._status()
            elif kind == "requests" and isinstance(event.get("count"), int):
                state.requests += max(0, event["count"])
                self._status()
            elif kind == "outcome" and event.get("outcome") in OUTCOMES:
                state.finished += 1
                state.counts[event["outcome"]] += 1
                self._finished(event)

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

    def _finished(self, event: Mapping[str, Any]) -> None:
        outcome = event["outcome"]
        requirement = str(event.get("requirement", "?"))
        title = str(event.get("title") or "")
        label = f"{requirement} {title}".rstrip()
        if self.live:
            if outcome in ("failed", "error"):
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
        with self._lock:
            if self.live:
                self._clear()
                self.stream.flush()


class EventSink(Protocol):
    """What a :class:`ProgressFollower` feeds: :class:`ProgressDisplay`, or a counter of events."""

    def handle(self, event: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class ProgressFollower:
    """Tails a progress file in a background thread and feeds each event to a sink.

    Use as a context manager around the pytest subprocess; leaving it drains what is left and
    closes the sink. The one follower of progress files (``snapconform run``'s display and
    ``snapconform selftest``'s requests-until-failure both use it).
    """

    def __init__(
        self,
        path: Path,
        display: EventSink,
        *,
        interval: float = 0.1,
        name: str = "snapconform-progress",
    ) -> None:
        self.path = path
        self.display = display
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._offset = 0
        self._pending = b""

    def __enter__(self) -> ProgressFollower:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.poll()  # whatever arrived between the last tick and the end of the subprocess
        self.display.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def poll(self) -> None:
        """Read the lines appended since the last poll; keep a partial last line for later."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        self._offset += len(chunk)
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                self.display.handle(event)


# ---------------------------------------------------------------------------------------------
# the pytest side: turn test events into progress events


def requirement_of(item: Any) -> tuple[str, str]:
    """The requirement id and title a test checks: its ``requirement`` marker, else its name."""
    marker = item.get_closest_marker("requirement")
    if marker is not None and marker.args:
        requirement = marker.args[0]
        if isinstance(requirement, str):
            return requirement, str(marker.kwargs.get("title", ""))
        # a catalogue entry (snapconform.engine.requirements.Requirement)
        return str(getattr(requirement, "id", requirement)), str(getattr(requirement, "title", ""))
    return str(item.name), ""


_OUTCOME_RANK = {
    "passed": 0,
    "skipped": 1,
    "not applicable": 1,
    "not checked": 1,
    "failed": 2,
    "error": 3,
}


def _skip_kind(report: Any) -> str:
    """``not checked`` / ``not applicable`` for the engine's skips (``ID: not checked (…): …``),
    else ``skipped``."""
    longrepr = getattr(report, "longrepr", None)
    message = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) > 2 else ""
    for kind in ("not checked", "not applicable"):
        if f": {kind} (" in message or message.startswith(f"Skipped: {kind} ("):
            return kind
    return "skipped"


class ProgressReporter:
    """A pytest plugin object writing start/check/outcome events for every test it runs.

    Registered by the snapconform pytest plugin when ``--snapconform-progress FILE`` is given,
    in each process that runs tests (the xdist workers, not their controller). Request counts
    come from the code that sends them, through :meth:`requests`.
    """

    def __init__(
        self,
        writer: ProgressWriter,
        request_counter: Callable[[], int] | None = None,
        *,
        tick: float = 0.5,
    ) -> None:
        self.writer = writer
        self._running: dict[str, tuple[str, str, str]] = {}  # nodeid -> requirement, title, worst
        self._counter = request_counter
        self._counted = 0
        self._count_lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._tick = tick

    def requests(self, count: int = 1) -> None:
        """Report *count* requests sent (for code that counts them itself).

        Ignored when this reporter follows a request counter: the counter already includes
        them (the engine reports each check's requests *and* exposes the harness's counter).
        """
        if self._counter is None:
            self.writer.requests(count)

    def _flush_requests(self) -> None:
        # The counter (e.g. the harness's shared Stats) only grows; report what it grew by.
        if self._counter is None:
            return
        with self._count_lock:
            try:
                total = int(self._counter())
            except Exception:  # progress is best effort and must never break a run
                return
            delta, self._counted = total - self._counted, max(total, self._counted)
        self.writer.requests(delta)

    def _tick_loop(self) -> None:
        while not self._stop.wait(self._tick):
            self._flush_requests()

    def pytest_collection_finish(self, session: Any) -> None:
        self.writer.start(len(session.items))
        if self._counter is not None and self._ticker is None:
            # long Hypothesis-driven checks send hundreds of requests: keep the count moving
            self._ticker = threading.Thread(
                target=self._tick_loop, name="snapconform-progress-tick", daemon=True
            )
            self._ticker.start()

    def pytest_unconfigure(self, config: Any) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        self._flush_requests()

    def pytest_runtest_setup(self, item: Any) -> None:
        self._flush_requests()
        requirement, title = requirement_of(item)
        self._running[item.nodeid] = (requirement, title, "passed")
        self.writer.check(requirement, title)

    def pytest_runtest_logreport(self, report: Any) -> None:
        requirement, title, worst = self._running.get(report.nodeid, (report.nodeid, "", "passed"))
        if report.when == "call":
            outcome = "failed" if report.failed else report.outcome
            if outcome == "skipped":
                outcome = _skip_kind(report)
        elif report.failed:
            outcome = "error"  # setup or teardown broke: the check itself did not decide
        elif report.skipped:
            outcome = _skip_kind(report)
        else:
            outcome = "passed"
        if _OUTCOME_RANK[outcome] > _OUTCOME_RANK[worst]:
            worst = outcome
        self._running[report.nodeid] = (requirement, title, worst)
        if report.when == "teardown":
            del self._running[report.nodeid]
            self._flush_requests()
            self.writer.outcome(requirement, worst, title)
