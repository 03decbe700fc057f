"""CPU and wall time of a default controlled ``snapconform run`` at 0 ms latency, two checkouts.

    python bench/process_bench.py --before /path/to/old/checkout [--repeats 3] [--seed 1]
        [--max-requests N]

Issue 26 made the run one process (no pytest child). This runs the same default run (embedded
reference server, controlled mode, same seed) from the checkout given with ``--before`` (put on
``PYTHONPATH``) and from the installed snapconform, interleaved (before, after, before, ...) so
both see the same machine load, and reports the medians of the CPU seconds (user + system of
the run and every process it waited for, from ``wait4``) and of the wall time, with the verdict
and request count of each run. Writes bench/process_results.json.

``--max-requests`` gives both checkouts the same budget: equal work when their defaults differ
(issue 27 lowered the default from 1500 to 1000). The older checkout's summary is read as plain
JSON, since its schema may predate the current one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import BENCH_DIR, load, machine, run_summary

RESULTS = BENCH_DIR / "process_results.json"


def one_run(python_path: str | None, seed: int, max_requests: int | None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    env["CI"] = "true"
    if python_path:
        env["PYTHONPATH"] = python_path
    command = [sys.executable, "-m", "snapconform", "run", "--seed", str(seed), "--report-dir", "r"]
    if max_requests is not None:
        command += ["--max-requests", str(max_requests)]
    with tempfile.TemporaryDirectory(prefix="process-bench-") as scratch:
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=scratch,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        report_dir = Path(scratch) / "r"
        summary = (
            json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
            if python_path
            else run_summary(report_dir)
        )
    return {
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "wall_seconds": round(wall, 2),
        "load": load()[0],
        "exit": os.waitstatus_to_exitcode(status),
        "verdict": summary["verdict"],
        "requests": summary["requests"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the older checkout")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-requests", type=int, default=None, help="the same budget for both")
    args = parser.parse_args(argv)
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for index in range(args.repeats):
        for label, path in (("before", str(args.before.resolve())), ("after", None)):
            result = one_run(path, args.seed, args.max_requests)
            runs[label].append(result)
            print(f"{label} #{index + 1}: {result}", flush=True)
    medians = {
        label: {
            key: statistics.median(r[key] for r in results)
            for key in ("cpu_seconds", "wall_seconds", "requests")
        }
        for label, results in runs.items()
    }
    document = {
        "machine": machine(),
        "load_at_end": load(),
        "seed": args.seed,
        "max_requests": args.max_requests,
        "repeats": args.repeats,
        "runs": runs,
        "medians": medians,
        "cpu_ratio_after_to_before": round(
            medians["after"]["cpu_seconds"] / medians["before"]["cpu_seconds"], 3
        ),
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(medians, indent=2))
    print(f"CPU after/before: {document['cpu_ratio_after_to_before']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
