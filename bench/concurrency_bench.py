"""Wall and CPU time of a default controlled run against a server answering in 40 ms, N = 1 vs 8.

    python bench/concurrency_bench.py [--repeats 3] [--latency 40] [--concurrency 1 8] [--seed 1]

``snapconform serve --latency 40`` in a process of its own (a remote mock: every endpoint and
session answer held back 40 ms, the control protocol not), then ``snapconform run`` in
controlled mode (``--control-url``) at default settings and ``--concurrency N``, the values of N
interleaved (1, 8, 1, 8, ...) so each sees the same machine load. Per run: wall seconds, CPU
seconds of the run (user + system, ``wait4``; the server's CPU is its own process'), verdict and
requests, from the run's schema'd summary.json. Reports the medians and the wall-time ratio;
writes bench/concurrency_results.json. The issue-27 target: under 20 s at N = 8 (the floor is
requests x 40 ms / 8).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import BENCH_DIR, git_commit, load, machine, run_summary, spread

RESULTS = BENCH_DIR / "concurrency_results.json"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"snapconform serve did not listen on port {port} within {timeout:g} s")


def one_run(base_url: str, concurrency: int, seed: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    env["CI"] = "true"
    command = [
        sys.executable,
        "-m",
        "snapconform",
        "run",
        "--base-url",
        base_url,
        "--control-url",
        f"{base_url}/control",
        "--seed",
        str(seed),
        "--concurrency",
        str(concurrency),
        "--report-dir",
        "r",
    ]
    with tempfile.TemporaryDirectory(prefix="concurrency-bench-") as scratch:
        started = time.monotonic()
        process = subprocess.Popen(
            command, cwd=scratch, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        summary = run_summary(Path(scratch) / "r")
    return {
        "concurrency": concurrency,
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "load": load()[0],
        "exit": os.waitstatus_to_exitcode(status),
        "verdict": summary["verdict"],
        "requests": summary["requests"],
    }


def markdown(document: dict[str, Any]) -> list[str]:
    """RESULTS.md's table of a concurrency_results.json: per N, wall and CPU with spreads."""
    latency = document["latency_ms"]
    out = [
        f"`snapconform serve --latency {latency:g}` in its own process; a default controlled"
        f" `snapconform run` (seed {document['seed']}, `--control-url`) at each `--concurrency`,"
        f" interleaved, {document['repeats']} repeats. CPU is the run's (the server's is its own"
        f" process'). Load average at the end: {document['load_at_end']}.",
        "",
        "| --concurrency | wall s | CPU s | requests | verdicts | floor: requests x latency / N |",
        "|---:|---|---|---|---|---:|",
    ]
    for n, runs in document["runs"].items():
        requests = [r["requests"] for r in runs]
        floor = statistics.median(requests) * latency / 1000 / int(n)
        out.append(
            f"| {n} | {spread([r['wall_seconds'] for r in runs])}"
            f" | {spread([r['cpu_seconds'] for r in runs])} | {spread(requests)}"
            f" | {', '.join(sorted({r['verdict'] for r in runs}))} | {floor:.1f} s |"
        )
    out += ["", f"Wall time at the largest N over the smallest: {document['wall_ratio']}."]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency", type=float, default=40.0, help="milliseconds")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snapconform",
            "serve",
            "--port",
            str(port),
            "--latency",
            f"{args.latency:g}",
            "--seed",
            str(args.seed),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in args.concurrency}
    try:
        wait_until_listening(port)
        for index in range(args.repeats):
            for n in args.concurrency:
                result = one_run(f"http://127.0.0.1:{port}", n, args.seed)
                runs[n].append(result)
                print(f"N={n} #{index + 1}: {result}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    medians = {
        str(n): {
            key: statistics.median(r[key] for r in results)
            for key in ("wall_seconds", "cpu_seconds", "requests")
        }
        for n, results in runs.items()
    }
    first, last = str(args.concurrency[0]), str(args.concurrency[-1])
    document = {
        "commit": git_commit(),
        "machine": machine(),
        "load_at_end": load(),
        "latency_ms": args.latency,
        "seed": args.seed,
        "repeats": args.repeats,
        "runs": {str(n): results for n, results in runs.items()},
        "medians": medians,
        "wall_ratio": round(medians[last]["wall_seconds"] / medians[first]["wall_seconds"], 3),
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(medians, indent=2))
    print(f"wall N={last} / N={first}: {document['wall_ratio']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
