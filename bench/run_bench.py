"""A default ``snapconform run`` against the reference server: wall time, requests, filter cases.

    .venv/bin/python bench/run_bench.py [--repeats 1] [--max-requests N]

Two ways, both as a user runs it (a ``snapconform run`` subprocess):

* **embedded**: plain ``snapconform run`` (it starts the embedded reference server itself);
  wall time, and the run's own figures from summary.json (requests, distinct filters);
* **counted**: the same run against a reference server this script starts with a counting
  ``Behaviour`` (``--base-url``/``--control-url``, controlled mode, same seed), so the distinct
  filter cases are counted *server-side* too: distinct raw query strings of list calls, and
  distinct filters after normalisation (values sorted and de-duplicated).

Goal (issue 9): a default run in <= 90 s on the 2-core machine exercising >= 1000 distinct
filter cases. Writes bench/run_results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchlib import BENCH_DIR, ROOT, load, machine, run_summary, summary

from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour, Reply
from snapconform.server.runner import serve_in_thread
from snapconform.server.runtime import Runtime
from snapconform.server.store import FilterSpec

RESULTS = BENCH_DIR / "run_results.json"
GOAL_SECONDS = 90.0
GOAL_FILTERS = 1000
SEED = 0


class CountingBehaviour(Behaviour):
    """The faithful endpoint, recording every list call's query (raw and as a filter)."""

    name = "faithful (counting)"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.raw_queries: Counter[bytes] = Counter()
        self.filters: set[tuple[tuple[str, tuple[str, ...]], ...]] = set()
        self.list_calls = 0

    def parse_query(self, raw_query: bytes) -> FilterSpec:
        spec = super().parse_query(raw_query)
        normalised = tuple(
            (name, tuple(sorted(set(values)))) for name, values in spec.constraints().items()
        )
        with self.lock:
            self.filters.add(normalised)
        return spec

    def list_tasks(self, runtime: Runtime, headers: Mapping[str, str], raw_query: bytes) -> Reply:
        with self.lock:
            self.list_calls += 1
            self.raw_queries[raw_query] += 1
        return super().list_tasks(runtime, headers, raw_query)


def snapconform_command() -> list[str]:
    return [sys.executable, "-m", "snapconform", "run"]


def run_once(extra: Sequence[str], report_dir: Path) -> dict[str, Any]:
    """One ``snapconform run`` subprocess: wall seconds, exit code, its summary.json."""
    command = [*snapconform_command(), "--report-dir", str(report_dir), "--seed", str(SEED)]
    command += list(extra)
    shutil.rmtree(report_dir, ignore_errors=True)
    report_dir.mkdir(parents=True)
    started = time.monotonic()
    completed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    wall = time.monotonic() - started
    document = run_summary(report_dir, missing_ok=True)
    return {
        "wall_seconds": round(wall, 2),
        "exit_code": completed.returncode,
        "verdict": document.get("verdict"),
        "requests": document.get("requests"),
        "distinct_filters_reported": document.get("distinct_filters"),
        "elapsed_seconds_reported": document.get("elapsed_seconds"),
        "requirements": len(document.get("requirements", [])),
        "stderr_tail": completed.stderr[-800:] if completed.returncode not in (0, 1) else "",
    }


#: Where the runs' reports go (git-ignored), to look at what a run did.
REPORTS = ROOT / "reports" / "bench"


def embedded_run(extra: Sequence[str], index: int) -> dict[str, Any]:
    return run_once(extra, REPORTS / f"embedded-{index}")


def counted_run(extra: Sequence[str]) -> dict[str, Any]:
    behaviour = CountingBehaviour()
    handle = serve_in_thread(ServerConfig(seed=SEED, behaviour=behaviour))
    try:
        result = run_once(
            ["--base-url", handle.base_url, "--control-url", handle.control_url, *extra],
            REPORTS / "counted",
        )
    finally:
        handle.stop()
    with behaviour.lock:
        result.update(
            server_list_calls=behaviour.list_calls,
            server_distinct_query_strings=len(behaviour.raw_queries),
            server_distinct_filters=len(behaviour.filters),
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="embedded runs to time")
    parser.add_argument("--max-requests", type=int, default=None, help="override the budget")
    parser.add_argument("--skip-counted", action="store_true")
    args = parser.parse_args(argv)
    extra = [] if args.max_requests is None else ["--max-requests", str(args.max_requests)]
    os.environ.setdefault("PYTHONHASHSEED", "0")
    load_before = load()
    embedded = [embedded_run(extra, i) for i in range(args.repeats)]
    counted = None if args.skip_counted else counted_run(extra)
    walls = [r["wall_seconds"] for r in embedded]
    median_wall = summary(walls)["median"]
    distinct = [
        n
        for n in [
            *(r["distinct_filters_reported"] for r in embedded),
            counted and counted["server_distinct_filters"],
        ]
        if isinstance(n, int)
    ]
    results: dict[str, Any] = {
        "machine": machine(),
        "load_before": load_before,
        "load_after": load(),
        "command": " ".join(["snapconform", "run", *extra]),
        "embedded_runs": embedded,
        "wall_seconds": summary(walls),
        "counted_run": counted,
        "goal_seconds": GOAL_SECONDS,
        "goal_distinct_filters": GOAL_FILTERS,
        "meets_time_goal": median_wall <= GOAL_SECONDS,
        "meets_filter_goal": bool(distinct) and min(distinct) >= GOAL_FILTERS,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for run in embedded:
        print(
            f"embedded: {run['wall_seconds']} s wall, exit {run['exit_code']} ({run['verdict']}),"
            f" {run['requests']} requests, {run['distinct_filters_reported']} distinct filters"
        )
        if run["stderr_tail"]:
            print(run["stderr_tail"])
    if counted:
        print(
            f"counted: {counted['wall_seconds']} s wall, {counted['requests']} requests (engine),"
            f" {counted['server_list_calls']} list calls seen by the server,"
            f" {counted['server_distinct_query_strings']} distinct query strings,"
            f" {counted['server_distinct_filters']} distinct normalised filters"
        )
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
