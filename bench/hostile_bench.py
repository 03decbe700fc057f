"""Timings that used to be assertions in tests: a hostile 100 000-item target, end to end.

    python bench/hostile_bench.py [--repeats 3] [--out bench/hostile_results.json]

The tests bound the *work* (tests/engine/test_run_hostile_cli.py: requests sent, items examined
per response; tests/engine/test_audit_bounds.py: items judged deeply); this script measures what
that work costs on this machine, so a slowdown shows up here and never as a flaky test:

- ``audit_seconds``: the response audit of one 200 listing 100 000 tasks (median of repeats);
- ``run``: ``snapconform run`` (basic auth, seed 1, 2 examples per check) against a target that
  answers every list with those 100 000 tasks: wall and CPU seconds, requests, verdict.

Goals (from the issues that introduced the bounds): audit < 30 s per response, run < 90 CPU s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import BENCH_DIR, ROOT, load, machine, run_summary

sys.path.insert(0, str(ROOT))

AUDIT_GOAL_S = 30.0
RUN_GOAL_CPU_S = 90.0


def audit_seconds() -> float:
    from snapconform.engine import oracle
    from tests.engine.test_audit_bounds import _audit, _response

    items = [{"task": f"t-{n}", "info": {"status": "SUCCEEDED"}} for n in range(100_000)]
    audit = _audit(bindings=oracle.bindings_available())
    response = _response({"items": items})
    started = time.monotonic()
    audit(response)
    return time.monotonic() - started


def run_against_100000() -> dict[str, Any]:
    from tests.safety.hostile import hostile_cases, serving

    report_dir = Path(tempfile.mkdtemp(prefix="snapconform-hostile-bench-"))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    environ["SNAPCONFORM_PASSWORD"] = "pw-bench"
    with serving(hostile_cases()["items-100000"]) as server:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        completed = subprocess.run(
            [sys.executable, "-m", "snapconform", "run", "--base-url", server.base_url,
             "--username", "u", "--auth", "basic", "--timeout", "1", "--report-dir",
             str(report_dir), "--seed", "1", "--max-examples", "2"],
            capture_output=True, text=True, env=environ, cwd=ROOT, check=False,
        )  # fmt: skip
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = run_summary(report_dir)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {
        "exit": completed.returncode,
        "verdict": summary["verdict"],
        "requests": summary["requests"],
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "hostile_results.json")
    args = parser.parse_args()
    load_before = load()
    audits = [audit_seconds() for _ in range(args.repeats)]
    runs = [run_against_100000() for _ in range(args.repeats)]
    results = {
        "machine": machine(),
        "load_before": load_before,
        "load_after": load(),
        "audit_seconds_median": round(statistics.median(audits), 2),
        "audit_goal_seconds": AUDIT_GOAL_S,
        "runs": runs,
        "run_cpu_seconds_median": statistics.median(r["cpu_seconds"] for r in runs),
        "run_wall_seconds_median": statistics.median(r["wall_seconds"] for r in runs),
        "run_goal_cpu_seconds": RUN_GOAL_CPU_S,
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    met = (
        results["audit_seconds_median"] < AUDIT_GOAL_S
        and results["run_cpu_seconds_median"] < RUN_GOAL_CPU_S
    )
    print("goals met" if met else "GOALS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
