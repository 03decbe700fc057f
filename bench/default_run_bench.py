"""The cost of a verdict: requests and time to a complete verdict per mode and server latency.

    .venv/bin/python bench/default_run_bench.py [--repeats 3] [--latencies 0 40 200]
                                                [--modes controlled declared observed]

Each run is ``snapconform run`` with the default settings (budget, examples) as a user runs it
(the CLI in a subprocess, start-up included) against a freshly started reference server that
holds every API response back by the given latency (``snapconform serve --latency``, i.e.
``ServerConfig(latency=...)``; the control protocol is never delayed):

* controlled: through the control protocol (the default universe; the run pushes its own);
* declared: with the state file of selftest's boundary universe (single-status filters on the
  cap's edges), served by the server;
* observed: credentials only, on the default 1500-task universe.

Per run: exit status, verdict (a run counts as complete when the verdict is conformant: the
server is faithful), requests counted by the server, wall time, and the CPU time of the CLI
process, which runs the whole check (``getrusage(RUSAGE_CHILDREN)``: robust on a loaded
machine). Medians with their spread over the repeats (seeds 0..N-1). Goal (issue 18): a
complete controlled verdict in at most 90 s at 40 ms latency. Writes bench/default_run_results.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import (
    BENCH_DIR,
    counted_server,
    git_commit,
    load,
    machine,
    run_snapconform,
    server_config,
    spread,
    summary,
)

RESULTS = BENCH_DIR / "default_run_results.json"
GOAL_SECONDS = 90.0
GOAL_LATENCY_MS = 40.0
MODES = ("controlled", "declared", "observed")


def one_run(
    mode: str, latency_ms: float, seed: int, python: str = sys.executable
) -> dict[str, Any]:
    from dataclasses import replace

    from snapconform.selftest import boundary_state
    from snapconform.state import state_to_document

    config = server_config(None, control=mode == "controlled", latency_ms=latency_ms)
    with tempfile.TemporaryDirectory(prefix="snapconform-verdict-") as scratch:
        state_file = None
        if mode == "declared":
            state = boundary_state(seed)
            config = replace(config, state=state)
            state_file = Path(scratch) / "state.json"
            state_file.write_text(json.dumps(state_to_document(state)), encoding="utf-8")
        with counted_server(config) as server:
            run = run_snapconform(
                server, mode, seed=seed, max_requests=None, state_file=state_file, python=python
            )
    return {
        **run,
        "mode": mode,
        "latency_ms": latency_ms,
        "seed": seed,
        "complete": run["verdict"] == "conformant",
    }


def aggregate(runs: list[dict[str, Any]], latencies: list[float], modes: list[str]) -> list[Any]:
    rows = []
    for latency in latencies:
        for mode in modes:
            mine = [r for r in runs if r["mode"] == mode and r["latency_ms"] == latency]
            if not mine:
                continue
            rows.append(
                {
                    "mode": mode,
                    "latency_ms": latency,
                    "runs": len(mine),
                    "complete": sum(r["complete"] for r in mine),
                    "verdicts": sorted({str(r["verdict"]) for r in mine}),
                    "requests": [r["requests"] for r in mine],
                    "wall_seconds": [r["wall_seconds"] for r in mine],
                    "cpu_seconds": [r["cpu_seconds"] for r in mine],
                    "wall_median": summary([r["wall_seconds"] for r in mine])["median"],
                }
            )
    return rows


def goal_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    for row in rows:
        if row["mode"] == "controlled" and row["latency_ms"] == GOAL_LATENCY_MS:
            return {
                "wall_median": row["wall_median"],
                "met": row["wall_median"] <= GOAL_SECONDS and row["complete"] == row["runs"],
            }
    return None


def markdown(document: dict[str, Any]) -> list[str]:
    out = [
        f"Default settings, seeds 0..{document['repeats'] - 1}; a fresh server per run; load"
        f" average before/after: {document['load_before']} / {document['load_after']}.",
        "",
        "| mode | latency | complete verdicts | requests | wall s | CPU s (the CLI process) |",
        "|---|---:|---|---|---|---|",
    ]
    for row in document["rows"]:
        out.append(
            f"| {row['mode']} | {row['latency_ms']:g} ms | {row['complete']} of {row['runs']}"
            f" ({', '.join(row['verdicts'])}) | {spread(row['requests'])} |"
            f" {spread(row['wall_seconds'])} | {spread(row['cpu_seconds'])} |"
        )
    goal = document.get("goal")
    out.append("")
    if goal is None:
        out.append(f"Goal (controlled verdict <= {GOAL_SECONDS:g} s at 40 ms): not measured.")
    else:
        out.append(
            f"Goal: a complete controlled verdict in <= {GOAL_SECONDS:g} s at"
            f" {GOAL_LATENCY_MS:g} ms latency: median {goal['wall_median']:.1f} s,"
            f" {'met' if goal['met'] else '**not met**'}."
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.0, 40.0, 200.0])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args(argv)
    load_before = load()
    started = time.monotonic()
    runs = []
    for repeat in range(args.repeats):
        for latency in args.latencies:
            for mode in args.modes:
                result = one_run(mode, latency, repeat)
                runs.append(result)
                print(
                    f"[{time.monotonic() - started:6.0f}s] {mode:10} {latency:5g} ms seed {repeat}:"
                    f" {result['verdict']} (exit {result['exit_status']}),"
                    f" {result['requests']} requests, {result['wall_seconds']:.1f} s wall,"
                    f" {result['cpu_seconds']:.1f} s CPU",
                    flush=True,
                )
    rows = aggregate(runs, args.latencies, args.modes)
    document = {
        "machine": machine(),
        "commit": git_commit(),
        "load_before": load_before,
        "load_after": load(),
        "repeats": args.repeats,
        "runs": runs,
        "rows": rows,
        "goal": goal_row(rows),
        "seconds": round(time.monotonic() - started, 1),
    }
    RESULTS.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print("\n".join(markdown(document)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
