"""The cyclic garbage collector's settings for snapconform's processes (issue 27).

A run allocates many short-lived containers (decoded bodies, Hypothesis' choices) in a process
that holds a large import graph. At CPython's default thresholds (700, 10, 10) a default
embedded run did ~1070 collections, 7 of them full ones over everything imported (~0.8 CPU-s);
at :data:`RUN_GC_THRESHOLD`, ~65 (~0.4 CPU-s).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: The collector's thresholds during a run (see the module docstring).
RUN_GC_THRESHOLD = (10_000, 20, 20)


@contextmanager
def collector_tuned() -> Iterator[None]:
    """The run's collector thresholds for the block, the process's own given back after (a run
    inside a test session or the pytest plugin leaves the process as it found it)."""
    previous = gc.get_threshold()
    gc.set_threshold(*RUN_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def tune_this_process() -> None:
    """The run's thresholds for the whole of a ``snapconform`` process, from its first import.

    For a process of snapconform's own: the command's entry point (and the test suite's
    processes, ``tests/conftest.py``). Tuning the block alone
    cost a process two collections over everything it held: the imports before the run, at the
    default thresholds, and the first allocation after the run, when giving the default back
    found every generation over it (~0.1 CPU-s per ``snapconform run``, measured with
    ``gc.callbacks``). A run's own :func:`collector_tuned` then changes nothing.
    """
    gc.set_threshold(*RUN_GC_THRESHOLD)


def imports_settled() -> None:
    """Take what the process holds now out of every later collection (``gc.freeze``).

    For a command's own process, once its arguments are parsed: the modules the command
    imported by then (most of a run's, ~450 ms of its imports) stay for the whole process,
    and every collection of a generation they had reached walked them again. A default
    ``snapconform run`` spent ~0.23 CPU-s in collections, ~0.14 with this (``gc.callbacks``).
    What is garbage at that moment (~3000 objects of the imports') is frozen with the rest,
    never freed: bounded, once per process.
    """
    gc.freeze()


def nothing_left_to_collect() -> None:
    """Spare the ending process the collections CPython runs as it shuts down.

    Python's shutdown collects the whole heap (``finalize_modules``, whether or not the
    collector is enabled): ~0.1 CPU-s over a run's import graph, for memory the process gives
    back anyway. Frozen objects are never traversed. Only for a process that is about to end,
    once its output is written and its files are closed: frozen garbage is never freed.
    """
    gc.freeze()
