"""Reference-server benchmark (a script, not a test): 100 000 tasks, indexed vs naive scan.

    .venv/bin/python bench/server_bench.py [--tasks 100000] [--seconds 3] [--threads 3]
        [--repeats 3]

Measures, each next to a naive full-scan baseline (scan every task per request, json.dumps
every item per response, no indexes, no pre-serialised bytes):

1. selective filter (<= 100 matches), median in-process latency through the ASGI app;
2. requests/s over loopback for 10-item responses, one uvicorn worker (a bounded load loop:
   several threads with keep-alive http.client connections, stops after --seconds);
3. time to render a 1000-item response body, and a whole 1000-item response in-process;
4. RSS of a server process holding the tasks (baseline: a process holding only the task
   dicts, the floor of any server; the ratio shows what indexes and bytes cost).

Prints a table and writes bench/server_results.json. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchlib import git_commit, load as load_average, machine

from snapconform.server.app import ServerConfig, create_app
from snapconform.server.behaviour import Behaviour
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    default_principals,
    generate_tasks,
)
from snapconform.server.store import FilterSpec, TaskStore, serialise
from snapconform.state import SYSTEM_READ, Principal, State

RESULTS = Path(__file__).with_name("server_results.json")
TASKS = "/api/snapservice/tasks"
BASIC = "Basic " + base64.b64encode(f"{ADMIN_USERNAME}:{ADMIN_PASSWORD}".encode()).decode()
TARGETS = {
    "selective_ms": 2.0,
    "rps_10_items": 1000.0,
    "render_1000_ms": 15.0,
    "response_1000_ms": 15.0,
    "rss_mb": 500.0,
}


class NaiveBehaviour(Behaviour):
    """The baseline: a full scan per request and json.dumps per item per response."""

    name = "naive-full-scan"

    def task_matches(self, item: Any, spec: FilterSpec) -> bool:  # forces the scan path
        return super().task_matches(item, spec)

    def render_item(self, store: TaskStore, position: int) -> bytes:
        return serialise(store.item(position))


#: A principal that sees exactly 1000 tasks: its empty filter is a full 1000-item response.
THOUSAND = ("bench-1000@vsphere.local", "bench-1000-pass")


def build_state(size: int, seed: int = 0) -> State:
    tasks = generate_tasks(random.Random(seed), size)
    step = max(1, size // 1000)
    thousand = frozenset(item["task"] for item in tasks[::step][:1000])
    bench = Principal(*THOUSAND, frozenset({SYSTEM_READ}), thousand)
    return State(tasks=tuple(tasks), principals=(*default_principals(tasks), bench))


def selective_query(state: State, matches: int = 100) -> bytes:
    """``tasks=`` with ``matches`` ids spread over the store (exactly ``matches`` results)."""
    step = max(1, len(state.tasks) // matches)
    ids = [state.tasks[i]["task"] for i in range(0, len(state.tasks), step)][:matches]
    return "&".join(f"tasks={task_id}" for task_id in ids).encode()


def ten_item_query(state: State) -> bytes:
    return selective_query(state, 10)


# ----------------------------------------------------------------------------- in-process


def asgi_get(app: Any, query: bytes, authorization: str = BASIC) -> tuple[int, bytes]:
    """One GET through the ASGI app without any client library overhead."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": TASKS,
        "raw_path": TASKS.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", authorization.encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return status, body


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000


def time_requests(app: Any, query: bytes, rounds: int, authorization: str = BASIC) -> float:
    status, body = asgi_get(app, query, authorization)
    assert status == 200, body[:200]
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        asgi_get(app, query, authorization)
        samples.append(time.perf_counter() - started)
    return median_ms(samples)


def time_render(behaviour: Behaviour, store: TaskStore, rounds: int = 20) -> float:
    positions = list(range(1000))
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        behaviour.render_list([behaviour.render_item(store, p) for p in positions])
        samples.append(time.perf_counter() - started)
    return median_ms(samples)


# ----------------------------------------------------------------------------- over loopback


def serve_child(size: int, naive: bool) -> None:
    """Child process: build the state, serve it on a free port, print the port, serve."""
    import uvicorn

    from snapconform.server.runner import bind_socket, uvicorn_config

    behaviour = NaiveBehaviour() if naive else Behaviour()
    app = create_app(ServerConfig(state=build_state(size), behaviour=behaviour))
    sock = bind_socket("127.0.0.1", 0)
    print(sock.getsockname()[1], flush=True)
    uvicorn.Server(uvicorn_config(app, log_level="error")).run(sockets=[sock])


def hold_state_child(size: int) -> None:
    """Child process: only the task dicts (what any server must hold), until stdin closes."""
    state = build_state(size)
    print(len(state.tasks), flush=True)
    sys.stdin.read()


def state_only_rss(size: int) -> float:
    """RSS of a process holding just the tasks: the memory floor a naive server needs."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--hold-state", "--tasks", str(size)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        child.stdout.readline()
        return rss_mb(child.pid)
    finally:
        child.kill()
        child.wait(10)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load(port: int, target: str, seconds: float, threads: int) -> float:
    """Requests/s of ``threads`` keep-alive clients hammering ``target`` for ``seconds``."""
    counts = [0] * threads
    failures: list[str] = []
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Authorization": BASIC}
        try:
            while time.monotonic() < deadline:
                connection.request("GET", target, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(str(response.status))
                    return
                counts[index] += 1
        finally:
            connection.close()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(seconds + 30)
    elapsed = time.monotonic() - started
    if failures:
        raise RuntimeError(f"load loop got non-200 answers: {failures[:3]}")
    return sum(counts) / elapsed


def loopback(
    size: int, naive: bool, target: str, seconds: float, threads: int
) -> tuple[float, float]:
    """(requests/s, server RSS MB) of a child server process."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-child", "--tasks", str(size)]
        + (["--naive"] if naive else []),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        time.sleep(0.2)
        memory = rss_mb(child.pid)
        rate = load(port, target, seconds, threads)
        return rate, memory
    finally:
        child.terminate()
        child.wait(10)


# ----------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3, help="whole measurements (medians)")
    parser.add_argument("--serve-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--naive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--hold-state", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.hold_state:
        hold_state_child(args.tasks)
        return 0
    if args.serve_child:
        serve_child(args.tasks, args.naive)
        return 0

    load_before = load_average()
    print(f"building {args.tasks} tasks ...", flush=True)
    state = build_state(args.tasks)
    fast_app = create_app(ServerConfig(state=state))
    naive_app = create_app(ServerConfig(state=state, behaviour=NaiveBehaviour()))
    store = fast_app.state.runtime.snapshot.store
    query = selective_query(state)
    assert len(json.loads(asgi_get(fast_app, query)[1])["items"]) == 100

    runs: list[dict[str, dict[str, float]]] = []
    for repeat in range(args.repeats):
        print(f"repeat {repeat + 1} of {args.repeats} ...", flush=True)
        rows: dict[str, dict[str, float]] = {}
        rows["selective_ms"] = {
            "ours": time_requests(fast_app, query, args.rounds),
            "naive": time_requests(naive_app, query, max(5, args.rounds // 40)),
        }
        rows["render_1000_ms"] = {
            "ours": time_render(Behaviour(), store),
            "naive": time_render(NaiveBehaviour(), store),
        }
        thousand = "Basic " + base64.b64encode(":".join(THOUSAND).encode()).decode()
        assert len(json.loads(asgi_get(fast_app, b"", thousand)[1])["items"]) == 1000
        rows["response_1000_ms"] = {
            "ours": time_requests(fast_app, b"", max(5, args.rounds // 4), thousand),
            "naive": time_requests(naive_app, b"", 5, thousand),
        }
        target = f"{TASKS}?{ten_item_query(state).decode()}"
        ours_rate, ours_rss = loopback(args.tasks, False, target, args.seconds, args.threads)
        naive_rate, _ = loopback(args.tasks, True, target, args.seconds, args.threads)
        rows["rps_10_items"] = {"ours": ours_rate, "naive": naive_rate}
        # The naive baseline holds only the task dicts; "gain" < 1 is the price of the indexes.
        rows["rss_mb"] = {"ours": ours_rss, "naive": state_only_rss(args.tasks)}
        runs.append(rows)
    # every figure: the median over the repeats, with each repeat kept
    rows = {
        name: {
            side: statistics.median(run[name][side] for run in runs) for side in ("ours", "naive")
        }
        for name in runs[0]
    }

    results: dict[str, Any] = {
        "machine": machine(),
        "commit": git_commit(),
        "load_before": load_before,
        "repeats": args.repeats,
        "tasks": args.tasks,
        "cpus": os.cpu_count(),
        "metrics": {},
    }
    print(f"\n{'metric':<16}{'ours':>12}{'naive':>12}{'gain':>10}{'target':>10}  ok")
    for name, row in rows.items():
        higher_is_better = name == "rps_10_items"
        gain = row["ours"] / row["naive"] if higher_is_better else row["naive"] / row["ours"]
        ok = row["ours"] >= TARGETS[name] if higher_is_better else row["ours"] <= TARGETS[name]
        print(
            f"{name:<16}{row['ours']:>12.2f}{row['naive']:>12.2f}{gain:>9.1f}x"
            f"{TARGETS[name]:>10.0f}  {'yes' if ok else 'NO'}"
        )
        results["metrics"][name] = {
            **row,
            "ours_runs": [run[name]["ours"] for run in runs],
            "naive_runs": [run[name]["naive"] for run in runs],
            "gain": gain,
            "target": TARGETS[name],
            "ok": ok,
        }
    results["load_after"] = load_average()
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten {RESULTS}")
    return 0 if all(m["ok"] for m in results["metrics"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
