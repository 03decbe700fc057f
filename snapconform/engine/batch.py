"""A batch of reads whose answers are taken in order, sent ahead when the run allows it.

``Target.list_many`` returns ``Answers``: with ``--concurrency`` 1 each read is sent when its
answer is taken (exactly as one ``list_tasks`` after another); with N, up to N are in flight on
the target's connection pool ahead of the answer being judged. The answers are recorded and
audited in the order they are taken, so a run's evidence reads the same whatever N.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import suppress
from typing import TYPE_CHECKING, Generic, TypeVar

from snapconform.engine.exchange import Exchange
from snapconform.errors import BudgetExhausted, TargetError

if TYPE_CHECKING:
    from snapconform.engine.target import Target

K = TypeVar("K")


class Answers(Generic[K]):
    """The answers of one ``Target.list_many`` batch as ``(key, answer)`` pairs, taken in order
    (see there): ``key`` is what the caller asked with (a FilterSpec)."""

    def __init__(self, target: Target, requests: Sequence[tuple[K, str]]) -> None:
        self._target = target
        self._requests = requests
        self._next = 0
        self._in_flight: deque[tuple[K, str, Future[Exchange]]] = deque()

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
            if self._next >= len(self._requests):
                raise StopIteration
            key, query = self._requests[self._next]
            self._next += 1
            return key, target.get_tasks(query)
        while self._next < len(self._requests) and len(self._in_flight) < window:
            key, query = self._requests[self._next]
            self._in_flight.append((key, query, target._submit(query)))
            self._next += 1
        if not self._in_flight:
            raise StopIteration
        key, query, sent = self._in_flight.popleft()
        return key, target._receive(query, sent)

    def close(self) -> None:
        """Send nothing more; record and audit what is already in flight (a failure of one of
        those ends nothing: nobody judges it)."""
        self._next = len(self._requests)
        while self._in_flight:
            _, query, sent = self._in_flight.popleft()
            if sent.cancel() or isinstance(sent.exception(), BudgetExhausted):
                continue  # never sent: not one of the run's queries
            with suppress(TargetError):
                self._target._receive(query, sent)
