"""Leaving nothing behind: the sessions a client created, deleted on every way out.

:class:`SessionLedger` remembers every session the harness created and deletes them all at the
end, also on failure and on Ctrl-C; :func:`interrupts_deferred` holds Ctrl-C (and SIGTERM,
SIGHUP) back while that cleanup (or the creation of a session whose id must be recorded) runs,
so a second Ctrl-C or a job's cancellation cannot leak a session. :class:`InterruptLatch`
keeps an interrupt that something swallowed.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from snapconform.redaction import mask_text


class SessionLedger:
    """The sessions one client created, so that every one is deleted at the end.

    :meth:`close_all` calls ``delete`` once per open session; failures are collected, not raised,
    so one failed logout does not leak the others. Session ids are never shown: the ledger
    reports counts, and failure messages have the id masked.
    """

    def __init__(self) -> None:
        self._open: list[str] = []
        self._lock = threading.Lock()
        self.created = 0
        self.deleted = 0
        self.failures: list[str] = []

    def opened(self, session_id: str) -> None:
        with self._lock:
            self._open.append(session_id)
            self.created += 1

    def closed(self, session_id: str) -> None:
        """The session was deleted by the suite itself (e.g. a logout test)."""
        with self._lock:
            if session_id in self._open:
                self._open.remove(session_id)
                self.deleted += 1

    @property
    def open_count(self) -> int:
        with self._lock:
            return len(self._open)

    def close_all(self, delete: Callable[[str], None]) -> None:
        """Delete every open session, with interrupts deferred so a second one cannot leak one."""
        with interrupts_deferred():
            while True:
                with self._lock:
                    if not self._open:
                        return
                    session_id = self._open.pop()
                try:
                    delete(session_id)
                except Exception as error:  # one failed logout must not leak the others
                    self.failures.append(
                        f"{type(error).__name__}: {mask_text(str(error), [session_id])}"
                    )
                else:
                    self.deleted += 1

    @contextmanager
    def guard(self, delete: Callable[[str], None]) -> Iterator[SessionLedger]:
        """``with ledger.guard(delete):`` deletes every open session however it is left."""
        try:
            yield self
        finally:
            self.close_all(delete)


#: Ctrl-C, a CI job's cancellation, a closed terminal: each ends a run as interrupted, and a
#: clean-up holds each back (a CI runner sends SIGTERM again to a job still cleaning up).
INTERRUPTING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def interrupts_deferred(*, deliver: bool = True) -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back for the block (main thread only); with ``deliver``,
    the first one received meanwhile is delivered after it as its handler would have taken it,
    else dropped (cleanup of a run that is ending anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in INTERRUPTING_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            # None: a handler set outside Python, which cannot be put back from here
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if received and deliver:
            _deliver(received[0], previous[received[0]])


def _deliver(signum: int, handler: Any) -> None:
    """What ``signum`` would have done had ``handler`` received it (Python's own SIGINT
    handler raises KeyboardInterrupt)."""
    if callable(handler):
        handler(signum, None)
    elif handler in (signal.SIG_DFL, None):
        signal.raise_signal(signum)  # the default action: the process ends
    # SIG_IGN: nothing


@dataclass
class InterruptLatch:
    """The interrupting signal a run received, kept past whatever handles its KeyboardInterrupt.

    The handler raises KeyboardInterrupt wherever the main thread is, and anything between
    there and the run's ``except KeyboardInterrupt`` can swallow it: an ``except BaseException``
    that does not re-raise, a library that turns it into an error of its own, which a check
    then reports as a crash. Seen in CI: a SIGTERM while Hypothesis computed a test's digest,
    before its engine existed; its ``except BaseException`` failed ``assert state._runner is
    not None``, the check crashed (not checked) and the run went on to its end.
    The handler sets the latch first, and the run reads it: its target sends nothing more for
    a check once it is set, and the session ends at the check's end without keeping the
    outcome of the check the signal landed in.
    """

    signal: int | None = None

    def receive(self, signum: int) -> None:
        """Keep ``signum`` (the first one), then interrupt."""
        if self.signal is None:
            self.signal = signum
        raise KeyboardInterrupt

    def reraise(self) -> None:
        """Interrupt again if a signal was received: a swallowed interrupt still ends the run."""
        if self.signal is not None:
            raise KeyboardInterrupt
