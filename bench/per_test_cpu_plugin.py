"""A pytest plugin for ``test_cpu_bench.py``: each test's CPU and wall seconds, one line per test.

Loaded with ``-p per_test_cpu_plugin`` (``bench/`` on ``PYTHONPATH``) into the README's test
command; every process that runs tests (the xdist workers, or pytest itself without ``-n``)
appends ``nodeid<TAB>cpu<TAB>wall`` to ``$SNAPCONFORM_BENCH_TEST_CPU_DIR/<worker>.tsv``. A
test's CPU is its process' (all threads: the in-thread reference servers too) plus that of the
child processes it waited for (``snapconform`` CLI runs, Prism, the browser): user + system.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

DIRECTORY_VARIABLE = "SNAPCONFORM_BENCH_TEST_CPU_DIR"


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    cpu, started = _cpu_seconds(), time.perf_counter()
    yield
    directory = os.environ.get(DIRECTORY_VARIABLE)
    if not directory:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    line = f"{item.nodeid}\t{_cpu_seconds() - cpu:.3f}\t{time.perf_counter() - started:.3f}\n"
    with (Path(directory) / f"{worker}.tsv").open("a", encoding="utf-8") as out:
        out.write(line)
