"""The faithful reference server per API release and auth mode: conformant on every seed?

    python bench/versions_bench.py [--versions 8.0.3 9.0 9.1] [--auths session basic]
                                   [--seeds 0 1 2 3 4 5 6 7 8 9] [--mode observed] [--jobs 2]

Issue 23's measurement: ``snapconform run`` at default settings (budget, examples) against a
freshly started reference server of each release, with each auth mode (8.0.3 has no sessions
endpoint: the run notes it and uses Basic authentication), one run per seed. Per run: verdict,
exit status, requests, failed and not-checked requirements. Writes
``bench/versions_results.json``. Run from the checkout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import run_arguments, run_summary  # noqa: E402

from snapconform.server.app import ServerConfig  # noqa: E402
from snapconform.server.defaults import default_state  # noqa: E402
from snapconform.server.runner import serve_in_thread  # noqa: E402
from snapconform.state import state_to_document  # noqa: E402


def one_run(version: str, auth: str, seed: int, mode: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        state = default_state(seed)
        state_file = work / "state.json"
        state_file.write_text(json.dumps(state_to_document(state)), encoding="utf-8")
        report = work / "report"
        started = time.monotonic()
        config = ServerConfig(state=state, api_version=version, seed=seed)
        with serve_in_thread(config, "127.0.0.1", 0) as server:
            args, env = run_arguments(
                server.base_url,
                mode,
                seed=seed,
                api_version=version,
                report_dir=report,
                control_url=server.control_url,
                state_file=state_file,
            )
            args += ["--auth", auth]
            completed = subprocess.run(
                [sys.executable, "-m", "snapconform", "run", *args],
                capture_output=True, text=True, env=env, cwd=work, timeout=1800, check=False,
            )  # fmt: skip
            sessions_left = len(server.runtime.sessions)
        summary = run_summary(report)
    return {
        "version": version,
        "auth": auth,
        "mode": mode,
        "seed": seed,
        "verdict": summary["verdict"],
        "exit": completed.returncode,
        "requests": summary["requests"],
        "failed": [r["id"] for r in summary["requirements"] if r["outcome"] == "failed"],
        "not_checked": [f"{r['id']} ({r['reason']})" for r in summary["not_checked"]],
        "sessions_left": sessions_left,
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", nargs="+", default=["8.0.3", "9.0", "9.1"])
    parser.add_argument("--auths", nargs="+", default=["session", "basic"])
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--mode", default="observed")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "versions_results.json")
    args = parser.parse_args(argv)
    cells = [(v, a, s) for v in args.versions for a in args.auths for s in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = []
        for run in pool.map(lambda cell: one_run(*cell, args.mode), cells):
            runs.append(run)
            print(json.dumps(run), flush=True)
    conformant = sum(run["verdict"] == "conformant" for run in runs)
    print(f"{conformant}/{len(runs)} conformant ({args.mode})")
    args.out.write_text(json.dumps({"mode": args.mode, "runs": runs}, indent=1) + "\n")
    return 0 if conformant == len(runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
