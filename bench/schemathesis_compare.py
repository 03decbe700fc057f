"""Bare ``schemathesis run`` versus snapconform's fuzzing, on the same live servers.

For the faithful reference server (default universe: 1500 tasks) and each mutant of
``snapconform.mutants``, this script starts a uvicorn server on loopback behind a request
counter, then runs

- bare schemathesis: the CLI, ``--checks all``, the contracts' OpenAPI (bundled into a temporary
  file), a fixed seed, a bounded ``--max-examples``, one worker, authenticated as the documented
  administrator;
- snapconform's fuzzing (``snapconform.engine.fuzzing.run_fuzzing``) with the same seed and
  number of examples, authenticated with a session of the same administrator.

It records per server and tool: exit status, failures (schemathesis' failure codes/titles, or
snapconform's failed checks), requests the server received, wall time and requests/second; and,
on the faithful server, every failure as a false positive (the faithful server conforms by
definition). Results go to ``bench/schemathesis_results.json``; a table is printed.

Authentication of the bare run: HTTP Basic (``--auth``) by default. With a session header
(``--bare-auth session``) bare schemathesis sends ``DELETE /api/snapservice/sessions`` with that
header, ends its own session, and tests the rest of the run unauthenticated; the faithful run
records whether the session survived.

Usage: ``python bench/schemathesis_compare.py [--max-examples 25] [--seed 42] [--mutants a,b]``.
Only loopback; each run is bounded by ``--max-examples`` and a timeout.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from snapconform.contracts import default_contracts
from snapconform.engine.fuzzing import run_fuzzing
from snapconform.server.app import ServerConfig, create_app
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME
from snapconform.server.runner import bind_socket, uvicorn_config

RESULTS = Path(__file__).with_name("schemathesis_results.json")
SESSIONS_PATH = "/api/snapservice/sessions"
API_VERSION = "9.0"  # the session calls exist, so both tools see all four operations
CLI_TIMEOUT = 300.0

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class RequestCounter:
    """Counts the HTTP requests an ASGI app receives, by method and path (thread-safe)."""

    app: ASGIApp
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with self.lock:
                self.counts[f"{scope['method']} {scope['path']}"] += 1
        await self.app(scope, receive, send)

    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()


@dataclass
class CountedServer:
    base_url: str
    counter: RequestCounter
    app: Any

    def sessions_alive(self) -> int:
        return len(self.app.state.runtime.sessions)


@contextmanager
def counted_server(config: ServerConfig) -> Iterator[CountedServer]:
    """The reference server for ``config`` on 127.0.0.1, every request counted."""
    app = create_app(config)
    counter = RequestCounter(app)
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn_config(counter, log_level="critical"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the benchmark server did not start")
        time.sleep(0.01)
    port = sock.getsockname()[1]
    try:
        yield CountedServer(f"http://127.0.0.1:{port}", counter, app)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def login(base_url: str) -> str:
    response = httpx.post(
        f"{base_url}{SESSIONS_PATH}", auth=(ADMIN_USERNAME, ADMIN_PASSWORD), timeout=10
    )
    response.raise_for_status()
    return str(response.json())


def schemathesis_executable() -> list[str]:
    beside = Path(sys.executable).with_name("schemathesis")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("schemathesis")
    if found:
        return [found]
    return [sys.executable, "-m", "schemathesis.cli"]


def run_bare(
    server: CountedServer, schema_path: Path, *, seed: int, max_examples: int, auth: str
) -> dict[str, Any]:
    """One bare ``schemathesis run --checks all``; the server counts what it sent."""
    report_dir = Path(tempfile.mkdtemp(prefix="st-report-"))
    if auth == "session":
        credentials = ["--header", f"vmware-api-session-id: {login(server.base_url)}"]
    else:
        credentials = ["--auth", f"{ADMIN_USERNAME}:{ADMIN_PASSWORD}"]
    command = [
        *schemathesis_executable(),
        "run",
        str(schema_path),
        "--url",
        server.base_url,
        "--checks",
        "all",
        *credentials,
        "--seed",
        str(seed),
        "--max-examples",
        str(max_examples),
        "--workers",
        "1",
        "--report",
        "json",
        "--report-dir",
        str(report_dir),
        "--no-color",
    ]
    server.counter.reset()
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False
        )
        exit_status: int | None = completed.returncode
    except subprocess.TimeoutExpired:
        exit_status = None
    wall = time.perf_counter() - started
    requests = server.counter.total()
    reports = sorted(report_dir.glob("json-*.json"))
    report: dict[str, Any] = json.loads(reports[-1].read_text()) if reports else {}
    shutil.rmtree(report_dir, ignore_errors=True)
    failures = [
        {
            "code": failure.get("code"),
            "title": failure.get("title"),
            "count": failure.get("count"),
            "operations": failure.get("operations"),
        }
        for failure in report.get("failures", [])
    ]
    engine_time = report.get("running_time")
    return {
        "tool": "schemathesis",
        "exit_status": exit_status,
        "found": bool(failures),
        "failures": failures,
        "test_cases": report.get("test_cases", {}).get("generated"),
        "requests": requests,
        "requests_by_operation": dict(server.counter.counts),
        "wall_seconds": round(wall, 3),
        "engine_seconds": round(engine_time, 3) if engine_time else None,
        "requests_per_second": round(requests / wall, 1) if wall else None,
    }


def run_snapconform(server: CountedServer, *, seed: int, max_examples: int) -> dict[str, Any]:
    """snapconform's fuzzing with the same seed and examples; the server counts what it sent."""
    headers = {"vmware-api-session-id": login(server.base_url)}
    server.counter.reset()
    started = time.perf_counter()
    report = run_fuzzing(server.base_url, headers, max_examples=max_examples, seed=seed)
    wall = time.perf_counter() - started
    requests = server.counter.total()
    return {
        "tool": "snapconform-fuzzing",
        "exit_status": 0 if report.ok else 1,
        "found": bool(report.findings),
        "failures": sorted(report.checks_failed()),
        "findings": [
            {"check": f.check, "status": f.status, "request": f.request[:160]}
            for f in report.findings
        ],
        "requests": requests,
        "requests_by_operation": dict(server.counter.counts),
        "wall_seconds": round(wall, 3),
        "requests_per_second": round(requests / wall, 1) if wall else None,
    }


def server_configs(selected: list[str] | None) -> Iterator[tuple[str, str, ServerConfig]]:
    yield "faithful", "-", ServerConfig(api_version=API_VERSION)
    try:
        from snapconform.mutants import MUTANTS
    except ImportError:
        return
    for name, mutant in MUTANTS.items():
        if selected is not None and name not in selected:
            continue
        version = mutant.api_version if mutant.api_version != "8.0.3" else API_VERSION
        yield name, mutant.area, ServerConfig(api_version=version, behaviour=mutant.behaviour())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--mutants", help="comma-separated mutant names (default: all)")
    parser.add_argument("--bare-auth", choices=("basic", "session"), default="basic")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    selected = args.mutants.split(",") if args.mutants else None

    workdir = Path(tempfile.mkdtemp(prefix="snapconform-bench-"))
    schema_path = workdir / "openapi.json"
    schema_path.write_text(json.dumps(default_contracts().bundled_openapi()), encoding="utf-8")

    rows: list[dict[str, Any]] = []
    session_probe: dict[str, Any] | None = None
    try:
        for name, area, config in server_configs(selected):
            with counted_server(config) as server:
                bare = run_bare(
                    server,
                    schema_path,
                    seed=args.seed,
                    max_examples=args.max_examples,
                    auth=args.bare_auth,
                )
                ours = run_snapconform(server, seed=args.seed, max_examples=args.max_examples)
            rows.append({"server": name, "area": area, "schemathesis": bare, "snapconform": ours})
            print(_row(name, bare, ours), flush=True)
        if selected is None or "faithful" in selected:
            session_probe = probe_session_auth(schema_path, args.seed, args.max_examples)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    summary = summarise(rows)
    document = {
        "settings": {
            "seed": args.seed,
            "max_examples": args.max_examples,
            "bare_auth": args.bare_auth,
            "api_version": API_VERSION,
            "schemathesis_command": "schemathesis run OPENAPI --url URL --checks all "
            f"{'--auth USER:PASS' if args.bare_auth == 'basic' else '--header SESSION'} "
            f"--seed {args.seed} --max-examples {args.max_examples} --workers 1",
        },
        "summary": summary,
        "session_auth_probe": session_probe,
        "servers": rows,
    }
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print()
    print(json.dumps(summary, indent=2))
    if session_probe is not None:
        print("bare schemathesis with a session header:", json.dumps(session_probe))
    print(f"results: {args.output}")
    return 0


def probe_session_auth(schema_path: Path, seed: int, max_examples: int) -> dict[str, Any]:
    """Bare schemathesis authenticated with a session header on the faithful server."""
    with counted_server(ServerConfig(api_version=API_VERSION)) as server:
        result = run_bare(server, schema_path, seed=seed, max_examples=max_examples, auth="session")
        alive = server.sessions_alive()
    return {
        "exit_status": result["exit_status"],
        "failures": result["failures"],
        "requests": result["requests"],
        "sessions_alive_after_run": alive,
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    faithful = [row for row in rows if row["server"] == "faithful"]
    mutants = [row for row in rows if row["server"] != "faithful"]

    def throughput(tool: str) -> float | None:
        requests = sum(row[tool]["requests"] for row in rows)
        wall = sum(row[tool]["wall_seconds"] for row in rows)
        return round(requests / wall, 1) if wall else None

    ours_rps, bare_rps = throughput("snapconform"), throughput("schemathesis")
    engine_seconds = sum(row["schemathesis"]["engine_seconds"] or 0.0 for row in rows)
    bare_requests = sum(row["schemathesis"]["requests"] for row in rows)
    baseline = {f["code"] for f in faithful[0]["schemathesis"]["failures"]} if faithful else set()
    beyond = [
        row["server"]
        for row in mutants
        if {f["code"] for f in row["schemathesis"]["failures"]} - baseline
    ]
    for row in mutants:
        codes = {f["code"] for f in row["schemathesis"]["failures"]}
        row["schemathesis"]["failures_beyond_faithful_baseline"] = sorted(codes - baseline)
    return {
        "mutants": len(mutants),
        # Exit status alone: the faithful server fails too, so this cannot tell them apart.
        "schemathesis_nonzero_exit": sum(row["schemathesis"]["found"] for row in mutants),
        # A failure code the faithful server does not also produce: a real detection.
        "caught_by_schemathesis": len(beyond),
        "caught_by_snapconform_fuzzing": sum(row["snapconform"]["found"] for row in mutants),
        "caught_by_schemathesis_only": sorted(
            name
            for name in beyond
            if not next(r for r in mutants if r["server"] == name)["snapconform"]["found"]
        ),
        "caught_by_snapconform_fuzzing_only": sorted(
            row["server"]
            for row in mutants
            if row["snapconform"]["found"] and row["server"] not in beyond
        ),
        "missed_by_both": sorted(
            row["server"]
            for row in mutants
            if not row["snapconform"]["found"] and row["server"] not in beyond
        ),
        "false_positives_schemathesis": faithful[0]["schemathesis"]["failures"]
        if faithful
        else None,
        "false_positives_snapconform_fuzzing": faithful[0]["snapconform"]["failures"]
        if faithful
        else None,
        "requests_schemathesis": sum(row["schemathesis"]["requests"] for row in rows),
        "requests_snapconform_fuzzing": sum(row["snapconform"]["requests"] for row in rows),
        "requests_per_second_schemathesis": bare_rps,
        # Without the CLI's start-up and schema loading (schemathesis' own running_time).
        "requests_per_second_schemathesis_engine_only": round(bare_requests / engine_seconds, 1)
        if engine_seconds
        else None,
        "requests_per_second_snapconform_fuzzing": ours_rps,
        "throughput_ratio_snapconform_over_schemathesis": round(ours_rps / bare_rps, 2)
        if ours_rps and bare_rps
        else None,
    }


def _row(name: str, bare: dict[str, Any], ours: dict[str, Any]) -> str:
    bare_codes = ",".join(sorted({str(f["code"]) for f in bare["failures"]})) or "-"
    our_checks = ",".join(c.removeprefix("snapconform_") for c in ours["failures"]) or "-"
    return (
        f"{name:38} st: exit={bare['exit_status']!s:4} {bare['requests']:5d} req "
        f"{bare['wall_seconds']:6.1f}s {bare_codes:22} | snapconform: {ours['requests']:4d} req "
        f"{ours['wall_seconds']:5.1f}s {our_checks}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
