"""Default run to a complete verdict: requests and wall time per mode, at 0 and 40 ms latency.

    .venv/bin/python bench/default_run_bench.py [--repeats 3] [--latencies 0 40]
                                                [--modes controlled declared observed]

Each run is ``snapconform run`` with the default settings (budget, examples) as a user runs it
(the CLI in a subprocess, start-up included) against the reference server in this process,
answering every request after the given latency (``ServerConfig(latency=...)``): controlled mode
through the control protocol, declared mode with selftest's boundary state file, observed mode on
the default 1500-task universe. A run counts when its verdict is complete (conformant). Prints a
Markdown table of medians and writes bench/default_run_results.json.
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

from snapconform.selftest import boundary_state
from snapconform.server.app import ServerConfig
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    NOPRIVS_PASSWORD,
    NOPRIVS_USERNAME,
    default_state,
)
from snapconform.server.runner import serve_in_thread
from snapconform.server.state import state_to_document

RESULTS = Path(__file__).resolve().parent / "default_run_results.json"


def one_run(mode: str, latency_ms: float, seed: int, work: Path) -> dict[str, Any]:
    state = None
    args = ["--seed", str(seed), "--report-dir", str(work / "report")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    env["CI"] = "true"
    if mode == "declared":
        state = boundary_state(seed)
        state_file = work / "state.json"
        state_file.write_text(json.dumps(state_to_document(state)), encoding="utf-8")
        args += ["--state-file", str(state_file)]
    elif mode == "observed":
        state = default_state(seed, size=1500)
    config = ServerConfig(
        state=state, control=mode == "controlled", seed=seed, latency=latency_ms / 1000
    )
    with serve_in_thread(config, "127.0.0.1", 0) as server:
        args += ["--base-url", server.base_url]
        if mode == "controlled":
            args += ["--control-url", server.control_url]
        else:
            args += ["--username", ADMIN_USERNAME, "--unprivileged-username", NOPRIVS_USERNAME]
            env["SNAPCONFORM_PASSWORD"] = ADMIN_PASSWORD
            env["SNAPCONFORM_UNPRIVILEGED_PASSWORD"] = NOPRIVS_PASSWORD
        started = time.monotonic()
        completed = subprocess.run(
            [sys.executable, "-m", "snapconform", "run", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=work,
            timeout=1800,
            check=False,
        )
        wall = time.monotonic() - started
    summary = json.loads((work / "report" / "summary.json").read_text(encoding="utf-8"))
    return {
        "mode": mode,
        "latency_ms": latency_ms,
        "seed": seed,
        "exit_code": completed.returncode,
        "verdict": summary["verdict"],
        "requests": summary["requests"],
        "wall_seconds": round(wall, 1),
        "not_passed": sorted(r["id"] for r in summary["requirements"] if r["outcome"] != "passed"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.0, 40.0])
    parser.add_argument("--modes", nargs="+", default=["controlled", "declared", "observed"])
    args = parser.parse_args()
    runs = []
    for repeat in range(args.repeats):
        for latency in args.latencies:
            for mode in args.modes:
                with tempfile.TemporaryDirectory(prefix="snapconform-bench-") as scratch:
                    result = one_run(mode, latency, repeat, Path(scratch))
                runs.append(result)
                print(json.dumps(result), flush=True)
    rows = ["| mode | latency | runs | complete | requests (median, max) | wall s (median) |"]
    rows.append("|---|---|---|---|---|---|")
    for latency in args.latencies:
        for mode in args.modes:
            mine = [r for r in runs if r["mode"] == mode and r["latency_ms"] == latency]
            complete = sum(r["verdict"] == "conformant" for r in mine)
            requests = [r["requests"] for r in mine]
            walls = [r["wall_seconds"] for r in mine]
            rows.append(
                f"| {mode} | {latency:g} ms | {len(mine)} | {complete} |"
                f" {statistics.median(requests):g}, {max(requests)} |"
                f" {statistics.median(walls):.1f} |"
            )
    table = "\n".join(rows)
    print(table)
    load = os.getloadavg()
    RESULTS.write_text(
        json.dumps({"runs": runs, "table": table, "loadavg_after": load}, indent=2) + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
