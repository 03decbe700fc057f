"""Throughput on equal work: one recorded request stream replayed by each side.

    .venv/bin/python bench/throughput_bench.py [--repeats 3] [--record-budget 1000]

1. **Record** the stream: an observed-mode ``snapconform run --max-requests B`` against the
   faithful reference server (default 1500-task universe, no control protocol); the server keeps
   the query string of every ``GET /api/snapservice/tasks`` it receives, in order (the filters
   snapconform generates: the work a conformance run does on the list endpoint).
2. **Replay** the same list of query strings, authenticated with HTTP Basic as the
   administrator, each side against its own freshly started server built from the same config
   (the state restored: a fresh store of the same universe before each side, every repeat):

   * ``snapconform``: the engine's transport (``snapconform.engine.target.Target``) with the
     shipped ``ResponseAudit`` observing every response (schema, status-conditional rules,
     duplicate ids, unknown properties, JSON/content type, and the official-bindings decode
     with its per-run cache; a response byte-identical to one already judged is not judged
     again).
   * ``snapconform, every response judged``: the same with a fresh audit per response (nothing
     skipped, nothing cached): the per-response work equal to schemathesis'.
   * ``schemathesis``: ``Case.call`` (its requests transport) and ``Case.validate_response`` with
     every check of ``schemathesis.checks.CHECKS`` (``--checks all``; the response-level ones
     apply to a replayed GET) on the project's bundled OpenAPI.

   and each side's transport alone (no validation), so the validation cost is their difference.

The server runs in this process (another thread); each side's figure is its wall time and the
CPU time of the replaying thread (``time.thread_time``: the harness's cost, not the server's and
not the wait for a core). Sides alternate within a repeat; the figure is the median over repeats,
with its spread. Ratios name both sides. Writes bench/throughput_results.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from benchlib import (
    BENCH_DIR,
    counted_server,
    git_commit,
    load,
    machine,
    ratio,
    run_snapconform,
    server_config,
    spread,
    summary,
)

RESULTS = BENCH_DIR / "throughput_results.json"


def record_stream(budget: int, seed: int) -> list[str]:
    with counted_server(server_config(None, control=False), record=True) as server:
        run = run_snapconform(server, "observed", seed=seed, max_requests=budget)
        queries = list(server.counter.queries)
    print(
        f"recorded {len(queries)} list queries of {run['requests']} API requests"
        f" (snapconform observed, budget {budget}, exit {run['exit_status']})",
        flush=True,
    )
    return queries


def snapconform_side(judge: str | None) -> Callable[[str, list[str]], int]:
    """Replays through the engine's Target; ``judge``: None, "shipped" or "every"."""
    from snapconform.engine.audit import ResponseAudit
    from snapconform.engine.safety import RetryPolicy
    from snapconform.engine.target import Target, TargetSettings
    from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME

    def replay(base_url: str, queries: list[str]) -> int:
        observers: list[Callable[[Any], None]] = []
        if judge == "shipped":
            observers.append(ResponseAudit(repro=lambda r: ""))
        elif judge == "every":
            observers.append(lambda r: ResponseAudit(repro=lambda _: "")(r))
        # No retry: the stream already holds the run's own retries (a GET answered 5xx is sent
        # again after 1 s, the documented 500 for over 1000 matching tasks included); replayed,
        # each side sends each recorded request once.
        settings = TargetSettings(
            base_url=base_url,
            auth="basic",
            max_requests=10**7,
            retry=RetryPolicy(transient_retries=0),
        )
        target = Target(settings, observers=observers)
        try:
            target.login(ADMIN_USERNAME, ADMIN_PASSWORD)
            for query in queries:
                target.get_tasks(query)
        finally:
            target.close()
        return len(queries)

    return replay


def schemathesis_side(validate: bool) -> Callable[[str, list[str]], int]:
    import requests
    import schemathesis
    from schemathesis.checks import CHECKS
    from schemathesis.core.failures import FailureGroup

    from snapconform.contracts import default_contracts
    from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME

    schema = schemathesis.openapi.from_dict(default_contracts().bundled_openapi())
    operation = schema["/api/snapservice/tasks"]["GET"]
    checks = CHECKS.get_all()

    def replay(base_url: str, queries: list[str]) -> int:
        session = requests.Session()
        session.auth = (ADMIN_USERNAME, ADMIN_PASSWORD)
        for query in queries:
            params: dict[str, list[str]] = {}
            for key, value in parse_qsl(query, keep_blank_values=True):
                params.setdefault(key, []).append(value)
            case = operation.Case(query=params)
            response = case.call(base_url=base_url, session=session)
            if validate:
                # a failure report (a BaseExceptionGroup) is validation work done, not an
                # error of the bench (the faithful server's documented 500 for over 1000 tasks
                # is one: schemathesis' not_a_server_error flags it)
                with contextlib.suppress(FailureGroup, Exception):
                    case.validate_response(response, checks=checks)
        session.close()
        return len(queries)

    return replay


SIDES: dict[str, tuple[str, Callable[[], Callable[[str, list[str]], int]]]] = {
    "snapconform": (
        "snapconform Target + shipped ResponseAudit",
        lambda: snapconform_side("shipped"),
    ),
    "snapconform-every": (
        "snapconform Target + ResponseAudit judging every response (no skip, no cache)",
        lambda: snapconform_side("every"),
    ),
    "snapconform-transport": ("snapconform Target, no validation", lambda: snapconform_side(None)),
    "schemathesis": (
        "schemathesis Case.call + validate_response(all checks)",
        lambda: schemathesis_side(True),
    ),
    "schemathesis-transport": (
        "schemathesis Case.call, no validation",
        lambda: schemathesis_side(False),
    ),
}


def measure(replay: Callable[[str, list[str]], int], queries: list[str]) -> dict[str, Any]:
    with counted_server(server_config(None, control=False)) as server:
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        replay(server.base_url, queries)
        wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
        requests = server.counter.requests
    return {
        "requests": requests,
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "requests_per_second": round(requests / wall, 1),
        "cpu_ms_per_request": round(cpu * 1000 / max(requests, 1), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--record-budget", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    load_before = load()
    queries = record_stream(args.record_budget, args.seed)
    replays = {name: make() for name, (_, make) in SIDES.items()}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SIDES}
    for repeat in range(args.repeats):
        for name, replay in replays.items():
            row = measure(replay, queries)
            runs[name].append(row)
            print(f"repeat {repeat} {name:24} {json.dumps(row)}", flush=True)
    stats = {
        name: {
            key: summary([float(r[key]) for r in rows])
            for key in ("requests_per_second", "cpu_ms_per_request", "wall_seconds", "requests")
        }
        for name, rows in runs.items()
    }

    def median(name: str, key: str) -> float:
        return stats[name][key]["median"]

    ratios = {
        "req/s snapconform / schemathesis (each with its validation)": ratio(
            median("snapconform", "requests_per_second"),
            median("schemathesis", "requests_per_second"),
        ),
        "req/s snapconform judging every response / schemathesis": ratio(
            median("snapconform-every", "requests_per_second"),
            median("schemathesis", "requests_per_second"),
        ),
        "req/s snapconform transport / schemathesis transport": ratio(
            median("snapconform-transport", "requests_per_second"),
            median("schemathesis-transport", "requests_per_second"),
        ),
        "validation CPU ms/request: snapconform every response / schemathesis": ratio(
            median("snapconform-every", "cpu_ms_per_request")
            - median("snapconform-transport", "cpu_ms_per_request"),
            median("schemathesis", "cpu_ms_per_request")
            - median("schemathesis-transport", "cpu_ms_per_request"),
        ),
    }
    document = {
        "machine": machine(),
        "commit": git_commit(),
        "load_before": load_before,
        "load_after": load(),
        "repeats": args.repeats,
        "stream": {
            "list_queries": len(queries),
            "distinct": len(set(queries)),
            "recorded_from": f"snapconform run (observed) --max-requests {args.record_budget}"
            f" --seed {args.seed}",
        },
        "sides": {name: label for name, (label, _) in SIDES.items()},
        "runs": runs,
        "stats": stats,
        "ratios": ratios,
    }
    RESULTS.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print("\n".join(markdown(document)))
    return 0


def markdown(document: dict[str, Any]) -> list[str]:
    stream = document["stream"]
    out = [
        f"Stream: {stream['list_queries']} `GET /api/snapservice/tasks` query strings"
        f" ({stream['distinct']} distinct) recorded from `{stream['recorded_from']}`, replayed"
        " with HTTP Basic by each side against a freshly started faithful server of the same"
        f" universe; {document['repeats']} repeats, sides interleaved. Load average"
        f" before/after: {document['load_before']} / {document['load_after']}.",
        "",
        "| side | requests | req/s | harness CPU ms per request | wall s |",
        "|---|---|---|---|---|",
    ]
    for name, label in document["sides"].items():
        rows = document["runs"][name]
        out.append(
            f"| {label} | {spread([r['requests'] for r in rows])} |"
            f" {spread([r['requests_per_second'] for r in rows])} |"
            f" {spread([r['cpu_ms_per_request'] for r in rows])} |"
            f" {spread([r['wall_seconds'] for r in rows])} |"
        )
    out += ["", "| ratio (medians) | value |", "|---|---:|"]
    for name, value in document["ratios"].items():
        out.append(f"| {name} | {value} |")
    return out


if __name__ == "__main__":
    sys.exit(main())
