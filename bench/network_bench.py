"""Whole default runs through the fault proxy: the issue-24 measurement, every mode, N seeds.

    python bench/network_bench.py [--modes controlled declared observed] [--seeds 1 2 3 4 5]

The reference server (API 9.0: sessions) behind ``tests/network/faultproxy.py`` with the network
of ``tests/network/test_runs_behind_the_proxy.py`` (5% of kept-alive requests meet a dropped
connection, 0.5% of the GETs on one are reset, 1% of the answers wait a second, idle connections
close after 3 s). ``snapconform run`` at default settings; for each run: verdict, requests,
retried and lost GETs, sessions left on the server. Writes ``bench/network_results.json``.
Run from the checkout (it imports the test suite's proxy).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import run_arguments, run_summary  # noqa: E402

from snapconform.server.app import ServerConfig  # noqa: E402
from snapconform.server.defaults import default_state  # noqa: E402
from snapconform.server.runner import serve_in_thread  # noqa: E402
from snapconform.state import state_to_document  # noqa: E402
from tests.network.faultproxy import FaultProxy  # noqa: E402
from tests.network.test_runs_behind_the_proxy import NETWORK  # noqa: E402

MODES = ("controlled", "declared", "observed")


def one_run(mode: str, seed: int, work: Path) -> dict[str, Any]:
    state = default_state(seed)
    state_file = work / "state.json"
    state_file.write_text(json.dumps(state_to_document(state)), encoding="utf-8")
    report = work / "report"
    config = ServerConfig(state=state, api_version="9.0", seed=seed)
    started = time.monotonic()
    with (
        serve_in_thread(config, "127.0.0.1", 0) as server,
        FaultProxy(server.host, server.port, NETWORK) as proxy,
    ):
        args, env = run_arguments(
            proxy.base_url,
            mode,
            seed=seed,
            api_version="9.0",
            report_dir=report,
            control_url=server.control_url,
            state_file=state_file,
        )
        completed = subprocess.run(
            [sys.executable, "-m", "snapconform", "run", *args],
            capture_output=True, text=True, env=env, cwd=work, timeout=1800, check=False,
        )  # fmt: skip
        sessions_left = len(server.runtime.sessions)
    summary = run_summary(report)
    return {
        "mode": mode,
        "seed": seed,
        "verdict": summary["verdict"],
        "exit": completed.returncode,
        "failed": [r["id"] for r in summary["requirements"] if r["outcome"] == "failed"],
        "not_checked": [f"{r['id']} ({r['reason']})" for r in summary["not_checked"]],
        "requests": summary["requests"],
        "retried": summary["transport"]["retried"],
        "lost": summary["transport"]["lost"],
        "dropped_by_proxy": proxy.counts["dropped"],
        "reset_by_proxy": proxy.counts["reset"],
        "sessions_left": sessions_left,
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "network_results.json")
    args = parser.parse_args(argv)
    runs = []
    for mode in args.modes:
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as work:
                run = one_run(mode, seed, Path(work))
            runs.append(run)
            print(json.dumps(run), flush=True)
    args.out.write_text(json.dumps({"network": repr(NETWORK), "runs": runs}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
