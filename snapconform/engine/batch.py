"""A batch of reads whose answers are taken in order, sent ahead when the run allows it.

``Target.list_many`` (and ``Target.read_many`` for reads with headers of their own, the
fuzzer's) return ``Answers``: with ``--concurrency`` 1 each read is sent when its answer is
taken (exactly as one ``get_tasks`` after another); with N, up to N are in flight on the
target's connection pool ahead of the answer being judged. The answers are recorded and audited
in the order they are taken, so a run's evidence reads the same whatever N. Only reads
(GET /api/snapservice/tasks) are ever sent ahead: a session call never overlaps anything.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from snapconform.engine.exchange import Exchange
from snapconform.errors import BudgetExhausted, TargetError

if TYPE_CHECKING:
    from snapconform.engine.target import Target

K = TypeVar("K")


@dataclass(frozen=True)
class Read:
    """One GET /api/snapservice/tasks: its encoded query, and its headers when it carries
    its own (None: the client's credentials, as ``get_tasks`` attaches them)."""

    query: str
    headers: Mapping[str, str] | None = None


class Answers(Generic[K]):
    """The answers of one batch as ``(key, answer)`` pairs, taken in order: ``key`` is what
    the caller asked with (a FilterSpec, a fuzzed case).

    Taking an answer raises what its read raised (the budget's refusal, a lost connection); the
    next answer can still be taken. ``close`` (the ``with``'s end) sends nothing more and
    records and audits what is already in flight: what the server answered is never lost.
    """

    def __init__(self, target: Target, reads: Sequence[tuple[K, Read]]) -> None:
        self._target = target
        self._reads = reads
        self._next = 0
        self._in_flight: deque[tuple[K, Read, Future[Exchange]]] = deque()

    def __enter__(self) -> Answers[K]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[tuple[K, Exchange]]:
        return self

    def __next__(self) -> tuple[K, Exchange]:
        target = self._target
        window = target.settings.concurrency
        if window <= 1:
            if self._next >= len(self._reads):
                raise StopIteration
            key, read = self._reads[self._next]
            self._next += 1
            return key, target.read(read)
        while self._next < len(self._reads) and len(self._in_flight) < window:
            key, read = self._reads[self._next]
            self._in_flight.append((key, read, target.submit_read(read)))
            self._next += 1
        if not self._in_flight:
            raise StopIteration
        key, read, sent = self._in_flight.popleft()
        return key, target.receive_read(read, sent)

    def close(self) -> None:
        """Send nothing more; record and audit what is already in flight (a failure of one of
        those ends nothing: nobody judges it)."""
        self._next = len(self._reads)
        while self._in_flight:
            _, read, sent = self._in_flight.popleft()
            if sent.cancel() or isinstance(sent.exception(), BudgetExhausted):
                continue  # never sent: not one of the run's queries
            with suppress(TargetError):
                self._target.receive_read(read, sent)
