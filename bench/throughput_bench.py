"""Throughput: ``snapconform run`` versus a bare ``schemathesis run`` on the same server.

    .venv/bin/python bench/throughput_bench.py [--repeats 3] [--max-requests 5000]
                                               [--max-examples 450]

Both tools run as a user runs them (a CLI subprocess, start-up included) against the same
reference server (default universe, API 8.0.3, one uvicorn worker in this process), which
counts the requests it receives to ``/api/snapservice/*`` (the control calls of snapconform's
controlled mode are not counted: they are set-up, not testing). The budgets are matched:
snapconform gets ``--max-requests``, schemathesis ``--max-examples`` sized so that it sends a
comparable number of requests. Runs alternate between the tools; the figure is the ratio of
the median requests/second (goal >= 1.0). The bare run uses H5's helpers in
bench/schemathesis_compare.py (same CLI invocation, HTTP Basic, ``--checks all``, one worker).

Writes bench/throughput_results.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import BENCH_DIR, ROOT, load, machine, ratio, summary
from schemathesis_compare import CountedServer, counted_server, run_bare

from snapconform.contracts import default_contracts
from snapconform.server.app import ServerConfig

RESULTS = BENCH_DIR / "throughput_results.json"
API_PREFIX = "/api/snapservice/"
API_VERSION = "8.0.3"
SEED = 42


def api_requests(server: CountedServer) -> int:
    with server.counter.lock:
        return sum(n for key, n in server.counter.counts.items() if API_PREFIX in key)


def run_snapconform(server: CountedServer, max_requests: int) -> dict[str, Any]:
    """``snapconform run`` in controlled mode against the counted server."""
    control_url = f"{server.base_url}/control"
    with tempfile.TemporaryDirectory(prefix="snapconform-throughput-") as tmp:
        command = [
            sys.executable,
            "-m",
            "snapconform",
            "run",
            "--base-url",
            server.base_url,
            "--control-url",
            control_url,
            "--api-version",
            API_VERSION,
            "--seed",
            str(SEED),
            "--max-requests",
            str(max_requests),
            "--report-dir",
            str(Path(tmp) / "report"),
        ]
        server.counter.reset()
        started = time.perf_counter()
        completed = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
        )
        wall = time.perf_counter() - started
        summary_path = Path(tmp) / "report" / "summary.json"
        run_summary = (
            json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
        )
    requests = api_requests(server)
    return {
        "tool": "snapconform run",
        "exit_status": completed.returncode,
        "verdict": run_summary.get("verdict"),
        "requests": requests,
        "requests_reported": run_summary.get("requests"),
        "wall_seconds": round(wall, 3),
        "requests_per_second": round(requests / wall, 1) if wall else None,
    }


def run_schemathesis(server: CountedServer, schema_path: Path, max_examples: int) -> dict[str, Any]:
    result = run_bare(server, schema_path, seed=SEED, max_examples=max_examples, auth="basic")
    requests = api_requests(server)
    wall = result["wall_seconds"]
    return {
        "tool": "schemathesis run",
        "exit_status": result["exit_status"],
        "requests": requests,
        "test_cases": result.get("test_cases"),
        "wall_seconds": wall,
        "engine_seconds": result.get("engine_seconds"),
        "requests_per_second": round(requests / wall, 1) if wall else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    # The default run's budget (it uses ~2300 of it); 450 examples make schemathesis send a
    # comparable number (~2200): both tools' fixed start-up costs weigh alike.
    parser.add_argument("--max-requests", type=int, default=5000, help="snapconform's budget")
    parser.add_argument("--max-examples", type=int, default=450, help="schemathesis' budget")
    args = parser.parse_args(argv)
    load_before = load()
    runs: dict[str, list[dict[str, Any]]] = {"snapconform": [], "schemathesis": []}
    with tempfile.TemporaryDirectory(prefix="snapconform-openapi-") as tmp:
        schema_path = Path(tmp) / "openapi.json"
        schema_path.write_text(json.dumps(default_contracts().bundled_openapi()), "utf-8")
        with counted_server(ServerConfig(api_version=API_VERSION, seed=0)) as server:
            for _ in range(args.repeats):
                runs["snapconform"].append(run_snapconform(server, args.max_requests))
                runs["schemathesis"].append(
                    run_schemathesis(server, schema_path, args.max_examples)
                )
    rates = {
        tool: summary([r["requests_per_second"] or 0.0 for r in rows])
        for tool, rows in runs.items()
    }
    requests = {tool: summary([float(r["requests"]) for r in rows]) for tool, rows in runs.items()}
    throughput_ratio = ratio(rates["snapconform"]["median"], rates["schemathesis"]["median"])
    results: dict[str, Any] = {
        "machine": machine(),
        "load_before": load_before,
        "load_after": load(),
        "api_version": API_VERSION,
        "budget": {
            "snapconform_max_requests": args.max_requests,
            "schemathesis_max_examples": (args.max_examples),
        },
        "runs": runs,
        "requests_per_second": rates,
        "requests": requests,
        "ratio_snapconform_over_schemathesis": throughput_ratio,
        "goal_ratio": 1.0,
        "meets_goal": throughput_ratio is not None and throughput_ratio >= 1.0,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for tool, rows in runs.items():
        for row in rows:
            print(
                f"{tool:>12}: {row['requests']:5d} requests in {row['wall_seconds']:7.2f} s"
                f" = {row['requests_per_second']} req/s (exit {row['exit_status']})"
            )
    print(
        f"median req/s: snapconform {rates['snapconform']['median']},"
        f" schemathesis {rates['schemathesis']['median']}; ratio {throughput_ratio}"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
