"""Shared helpers of the bench scripts: the machine, the load on it, and repeated timings.

The bench machine is shared (2 cores, other engineers' jobs): every figure is a median over
repeats, load averages are recorded before and after, and comparisons are quoted as ratios
measured in the same process, interleaved, so that load hits both sides alike.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """nproc, CPU model, Python version and platform: the context of every figure."""
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def load() -> list[float]:
    """1, 5 and 15 minute load averages (other users' work shows here)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


#: Wall clock (what a user waits) and this thread's CPU time (what the harness costs; on a
#: loaded machine it is not inflated by waiting for a core).
WALL: Callable[[], float] = time.perf_counter
CPU: Callable[[], float] = time.thread_time


def time_ms(
    func: Callable[[], object], repeats: int, warmup: int = 1, clock: Callable[[], float] = WALL
) -> list[float]:
    """Milliseconds of ``repeats`` calls of ``func`` (after ``warmup`` calls) on ``clock``."""
    for _ in range(warmup):
        func()
    out = []
    for _ in range(repeats):
        start = clock()
        func()
        out.append((clock() - start) * 1000)
    return out


def interleaved_ms(
    funcs: dict[str, Callable[[], object]],
    repeats: int,
    warmup: int = 1,
    clock: Callable[[], float] = WALL,
) -> dict[str, list[float]]:
    """Like :func:`time_ms` for several functions, alternating them round by round."""
    for func in funcs.values():
        for _ in range(warmup):
            func()
    out: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, func in funcs.items():
            start = clock()
            func()
            out[name].append((clock() - start) * 1000)
    return out


def summary(samples: list[float]) -> dict[str, float]:
    """Median, min, max and count of a sample list (rounded for the report)."""
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered), 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
        "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
        "n": len(ordered),
    }


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 2) if denominator else None
