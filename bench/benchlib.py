"""Shared helpers of the bench scripts: the machine, the load on it, and repeated timings.

The bench machine is shared (2 cores, other engineers' jobs): every figure is a median over
repeats, load averages are recorded before and after, and comparisons are quoted as ratios
measured in the same process, interleaved, so that load hits both sides alike.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

#: The product's source directories in the checkout (``strategies/`` is ``snapconform.strategies``).
PRODUCT_SOURCES: tuple[str, ...] = ("snapconform", "strategies")


def compile_product() -> None:
    """Byte-compile the product's modules before anything is measured.

    A user's snapconform runs from compiled bytecode: pip compiles a wheel's modules when it
    installs them, and Python writes a checkout's on first import. Where
    ``PYTHONDONTWRITEBYTECODE`` is set (this project's machines), nothing is written, and every
    ``snapconform run`` a bench starts compiled its ~130 modules afresh (~0.25 CPU-seconds,
    which no user pays). ``compileall`` writes regardless (issue 27).
    """
    import compileall

    for directory in PRODUCT_SOURCES:
        compileall.compile_dir(ROOT / directory, quiet=1)


# Every bench script imports this module before it measures anything.
compile_product()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """nproc, CPU model, Python version and platform: the context of every figure."""
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "bytecode": "compiled before measuring (benchlib.compile_product)",
    }


def load() -> list[float]:
    """1, 5 and 15 minute load averages (other users' work shows here)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


#: Wall clock (what a user waits) and this thread's CPU time (what the harness costs; on a
#: loaded machine it is not inflated by waiting for a core).
WALL: Callable[[], float] = time.perf_counter
CPU: Callable[[], float] = time.thread_time


def time_ms(
    func: Callable[[], object], repeats: int, warmup: int = 1, clock: Callable[[], float] = WALL
) -> list[float]:
    """Milliseconds of ``repeats`` calls of ``func`` (after ``warmup`` calls) on ``clock``."""
    for _ in range(warmup):
        func()
    out = []
    for _ in range(repeats):
        start = clock()
        func()
        out.append((clock() - start) * 1000)
    return out


def interleaved_ms(
    funcs: dict[str, Callable[[], object]],
    repeats: int,
    warmup: int = 1,
    clock: Callable[[], float] = WALL,
) -> dict[str, list[float]]:
    """Like :func:`time_ms` for several functions, alternating them round by round."""
    for func in funcs.values():
        for _ in range(warmup):
            func()
    out: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, func in funcs.items():
            start = clock()
            func()
            out[name].append((clock() - start) * 1000)
    return out


def summary(samples: list[float]) -> dict[str, float]:
    """Median, min, max and count of a sample list (rounded for the report)."""
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered), 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
        "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
        "n": len(ordered),
    }


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 2) if denominator else None


# --- servers and tools, as users run them -------------------------------------------------------

API_PREFIX = "/api/snapservice/"
#: One universe for every server of a comparison: the reference server's generated default.
UNIVERSE_SEED = 0
UNIVERSE_SIZE = 1500


def run_summary(report_dir: Path, *, missing_ok: bool = False) -> dict[str, Any]:
    """The summary.json a ``snapconform run`` wrote in ``report_dir``, validated against
    contracts/summary.schema.json: the one thing a benchmark reads from a run (never its output).

    ``missing_ok``: a run that wrote none (a timeout, a crash) gives ``{}``; otherwise, and for
    an invalid summary, ``SummaryError`` says which file and why.
    """
    from snapconform.report.summary import SUMMARY_FILE, load_summary

    if missing_ok and not (report_dir / SUMMARY_FILE).exists():
        return {}
    return load_summary(report_dir).document


def git_commit() -> str:
    """The commit the figures were measured on (``+dirty`` when the tree has changes)."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=30
        )
        return done.stdout.strip()

    commit = git("rev-parse", "--short=10", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def spread(samples: list[float]) -> str:
    """``median [min-max] (n)``: every figure of the report with its spread."""
    if not samples:
        return "n/a"
    s = summary([float(x) for x in samples])

    def f(x: float) -> str:
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"

    return f"{f(s['median'])} [{f(s['min'])}..{f(s['max'])}] (n={s['n']})"


def clear_rewritten_bytecode(checkout: Path = ROOT) -> int:
    """Delete pytest's cached assertion rewrites (``*-pytest-*.pyc``) of the installed packages
    and of ``checkout``; returns how many files went.

    Where bytecode writes are on, pytest caches its rewrite of every test module and of every
    installed plugin's package, and a run of the test command right after another finds it
    warm; CI, on its fresh machine with writes off (``PYTHONDONTWRITEBYTECODE``), never does.
    Each measured run starts from this, as CI's.
    """
    import sysconfig

    roots = {Path(sysconfig.get_paths()[key]) for key in ("purelib", "platlib")} | {checkout}
    removed = 0
    for root in roots:
        for cached in root.rglob("__pycache__/*-pytest-*.pyc"):
            cached.unlink(missing_ok=True)
            removed += 1
    return removed


def child_cpu_seconds() -> float:
    """User + system CPU of every waited-for child process so far (grandchildren included)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def child_system_seconds() -> float:
    """The system (kernel) part of :func:`child_cpu_seconds`: files, sockets, page faults."""
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime


def child_blocks_read() -> int:
    """512-byte blocks the waited-for children read from disk: files not in the page cache.

    A run that found its libraries and bytecode evicted from the page cache was seen to read
    ~50 000 blocks and spend ~0.6 CPU-s more in the kernel than the runs after it (stop 39).
    """
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_inblock


#: A fixed pure-Python workload, like the harness' own work (dicts, strings, JSON, sorting,
#: regular expressions): about 0.4 CPU-s on the 2-core machine when it is quiet.
REFERENCE_WORKLOAD = """
import json, re
tasks = [
    {"task": f"task-{i}", "status": ("RUNNING", "SUCCEEDED", "FAILED")[i % 3],
     "user": f"user{i % 17}@vsphere.local", "progress": {"completed": i % 100, "total": 100}}
    for i in range(1500)
]
pattern = re.compile(r"user(\\d+)@")
kept = 0
for round_ in range(60):
    back = json.loads(json.dumps(tasks))
    for task in back:
        match = pattern.match(task["user"])
        if match and int(match.group(1)) % 3 == round_ % 3 and task["status"] != "FAILED":
            kept += task["progress"]["completed"]
    back.sort(key=lambda task: (task["user"], task["task"]))
    kept += len({task["user"]: task for task in back})
print(kept)
"""


def reference_cpu_seconds(python: str = sys.executable) -> float:
    """CPU of :data:`REFERENCE_WORKLOAD` in a fresh interpreter: the machine's speed right now.

    These machines drift: the same run has cost 20-25% more CPU after minutes of load than
    when the machine was quiet. Measured right before each run, the reference shows how fast
    the machine was; a run's CPU divided by it compares runs measured at different speeds.
    """
    import subprocess

    before = child_cpu_seconds()
    subprocess.run([python, "-c", REFERENCE_WORKLOAD], check=True, capture_output=True, timeout=300)
    return round(child_cpu_seconds() - before, 3)


class RequestCounter:
    """ASGI wrapper counting the requests to the API (``/api/snapservice/*``) it forwards.

    The control protocol of a mock (``/control``) is set-up, not testing: not counted. The
    query strings of ``GET /api/snapservice/tasks`` are kept when ``record`` is set (the equal-
    work throughput replays them).
    """

    def __init__(self, app: Any, record: bool = False) -> None:
        import threading

        self.app = app
        self.record = record
        self.lock = threading.Lock()
        self.requests = 0
        self.by_operation: dict[str, int] = {}
        self.queries: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            key = f"{scope['method']} {scope['path']}"
            with self.lock:
                self.requests += 1
                self.by_operation[key] = self.by_operation.get(key, 0) + 1
                if self.record and key == "GET /api/snapservice/tasks":
                    self.queries.append(scope.get("query_string", b"").decode("latin-1"))
        await self.app(scope, receive, send)


class CountedServer:
    def __init__(self, base_url: str, counter: RequestCounter) -> None:
        self.base_url = base_url
        self.counter = counter
        self.control_url = f"{base_url}/control"


def counted_server(config: Any, record: bool = False) -> Any:
    """A fresh reference server for ``config`` on 127.0.0.1 whose API requests are counted.

    Started as ``serve_in_thread`` starts it (same app factory, socket and uvicorn settings),
    with the counter as the outermost ASGI layer.
    """
    import contextlib
    import threading

    import uvicorn

    from snapconform.server.app import create_app
    from snapconform.server.runner import bind_socket, uvicorn_config

    @contextlib.contextmanager
    def serving() -> Any:
        counter = RequestCounter(create_app(config), record=record)
        sock = bind_socket("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn_config(counter))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                server.should_exit = True
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.01)
        try:
            yield CountedServer(f"http://127.0.0.1:{sock.getsockname()[1]}", counter)
        finally:
            server.should_exit = True
            thread.join(15)
            sock.close()

    return serving()


def server_config(
    mutant: str | None, *, control: bool, latency_ms: float = 0.0, seed: int = UNIVERSE_SEED
) -> Any:
    """The faithful server (``mutant`` None) or a mutant, on the default 1500-task universe."""
    from dataclasses import replace

    from snapconform.server.app import ServerConfig
    from snapconform.server.defaults import default_state

    base = ServerConfig(
        state=default_state(seed, size=UNIVERSE_SIZE),
        control=control,
        seed=seed,
        latency=latency_ms / 1000,
    )
    if mutant is None:
        return base
    from snapconform.mutants import get

    return replace(get(mutant).server_config(base), control=control)


def api_version_of(mutant: str | None) -> str:
    if mutant is None:
        return "8.0.3"
    from snapconform.mutants import get

    return get(mutant).api_version


def openapi_file(directory: Path) -> Path:
    """The project's OpenAPI (contracts/openapi.yaml) bundled into one JSON file."""
    import json

    from snapconform.contracts import default_contracts

    path = directory / "openapi.json"
    path.write_text(json.dumps(default_contracts().bundled_openapi()), encoding="utf-8")
    return path


def schemathesis_executable() -> list[str]:
    import shutil

    beside = Path(sys.executable).with_name("schemathesis")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("schemathesis")
    return [found] if found else [sys.executable, "-m", "schemathesis.cli"]


def run_schemathesis(
    server: CountedServer,
    schema: Path,
    *,
    seed: int,
    max_examples: int,
    continue_on_failure: bool = True,
    timeout: float = 900,
) -> dict[str, Any]:
    """Bare ``schemathesis run --checks all`` (every default phase, one worker, HTTP Basic as
    the documented administrator, no example database); the server counts what it sent."""
    import json
    import shutil
    import subprocess
    import tempfile

    from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME

    report_dir = Path(tempfile.mkdtemp(prefix="st-report-"))
    command = [
        *schemathesis_executable(),
        "run",
        str(schema),
        "--url",
        server.base_url,
        "--checks",
        "all",
        "--auth",
        f"{ADMIN_USERNAME}:{ADMIN_PASSWORD}",
        "--seed",
        str(seed),
        "--max-examples",
        str(max_examples),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--report",
        "json",
        "--report-dir",
        str(report_dir),
        "--no-color",
        *(["--continue-on-failure"] if continue_on_failure else []),
    ]
    before_requests = server.counter.requests
    cpu_before = child_cpu_seconds()
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, cwd=report_dir
        )
        exit_status: int | None = done.returncode
    except subprocess.TimeoutExpired:
        exit_status = None
    wall = time.perf_counter() - started
    reports = sorted(report_dir.glob("json-*.json"))
    report: dict[str, Any] = json.loads(reports[-1].read_text("utf-8")) if reports else {}
    shutil.rmtree(report_dir, ignore_errors=True)
    kinds = sorted({f"{f.get('code')} {f.get('title')}" for f in report.get("failures", [])})
    return {
        "tool": "schemathesis",
        "exit_status": exit_status,
        "max_examples": max_examples,
        "failure_kinds": kinds,
        "requests": server.counter.requests - before_requests,
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(child_cpu_seconds() - cpu_before, 3),
    }


def run_arguments(
    base_url: str,
    mode: str,
    *,
    seed: int,
    api_version: str,
    report_dir: Path,
    control_url: str | None = None,
    state_file: Path | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The arguments and environment of ``snapconform run`` in ``mode`` against a reference
    server: ``controlled`` through ``control_url``; ``declared`` with ``state_file``;
    ``observed`` (and declared) as the documented administrator and unprivileged principal,
    passwords in the environment as a CI job exports them."""
    from snapconform.server.defaults import (
        ADMIN_PASSWORD,
        ADMIN_USERNAME,
        NOPRIVS_PASSWORD,
        NOPRIVS_USERNAME,
    )

    args = ["--base-url", base_url, "--api-version", api_version, "--seed", str(seed)]
    args += ["--report-dir", str(report_dir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    if mode == "controlled":
        assert control_url is not None, "controlled mode needs the control URL"
        args += ["--control-url", control_url]
        return args, env
    if mode == "declared":
        assert state_file is not None, "declared mode needs the state file"
        args += ["--state-file", str(state_file)]
    args += ["--username", ADMIN_USERNAME, "--unprivileged-username", NOPRIVS_USERNAME]
    env["SNAPCONFORM_PASSWORD"] = ADMIN_PASSWORD
    env["SNAPCONFORM_UNPRIVILEGED_PASSWORD"] = NOPRIVS_PASSWORD
    return args, env


_IMPORTABLE: dict[Path, Path] = {}


def importable_checkout(checkout: Path) -> Path:
    """A directory to put first on ``PYTHONPATH`` so that ``checkout``'s snapconform is imported,
    its mapped packages included.

    The checkout's ``snapconform/`` alone is not the package: ``strategies/`` (and
    ``contracts/``, ``tests/conformance/``) become ``snapconform.strategies`` (...) by
    ``[tool.setuptools.package-dir]``, and with the checkout itself first on ``PYTHONPATH`` the
    editable install of another checkout supplied them (an A/B of a change to ``strategies/``
    compared that checkout's strategies with themselves). Here, a temporary ``snapconform/``
    of symbolic links: every entry of the checkout's, plus each mapped package under its name.
    Made once per checkout and process; nothing is written into the checkout.
    """
    import tempfile
    import tomllib

    root = checkout.resolve()
    made = _IMPORTABLE.get(root)
    if made is not None:
        return made
    top = Path(tempfile.mkdtemp(prefix="snapconform-checkout-"))
    package = top / "snapconform"
    package.mkdir()
    for entry in (root / "snapconform").iterdir():
        (package / entry.name).symlink_to(entry)
    settings = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    mapped = settings.get("tool", {}).get("setuptools", {}).get("package-dir", {})
    for name, folder in mapped.items():
        parent, _, leaf = name.rpartition(".")
        if parent == "snapconform" and not (package / leaf).exists():
            (package / leaf).symlink_to(root / folder)
    _IMPORTABLE[root] = top
    return top


def cli_run_usage(
    server: CountedServer,
    mode: str,
    *,
    seed: int,
    checkout: Path | None = None,
    prefix: str = "snapconform-cli-",
) -> tuple[int | None, dict[str, float]]:
    """``snapconform run`` (default settings) in a subprocess against ``server``: its exit
    status and what it cost, as ``getrusage(RUSAGE_CHILDREN)`` deltas (``user``, ``system``,
    ``minflt``, ``majflt``, ``inblock``, ``oublock``, ``nvcsw``, ``nivcsw``).

    ``checkout``: that checkout's snapconform runs (:func:`importable_checkout` first on
    ``PYTHONPATH``; no venv of its own needed). For the probes that compare runs run by run
    (interleaved_cpu.py, kernel_cpu_probe.py); the RESULTS sections use
    :func:`run_snapconform`.
    """
    import resource
    import shutil
    import subprocess
    import tempfile

    work = Path(tempfile.mkdtemp(prefix=prefix))
    arguments, env = run_arguments(
        server.base_url,
        mode,
        seed=seed,
        api_version="8.0.3",
        report_dir=work / "report",
        control_url=server.control_url,
    )
    if checkout is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(importable_checkout(checkout)), env.get("PYTHONPATH")) if part
        )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "snapconform", "run", *arguments],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
        status: int | None = done.returncode
    except subprocess.TimeoutExpired:
        status = None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(work, ignore_errors=True)
    fields = ("minflt", "majflt", "inblock", "oublock", "nvcsw", "nivcsw")
    usage = {
        "user": after.ru_utime - before.ru_utime,
        "system": after.ru_stime - before.ru_stime,
        **{name: getattr(after, f"ru_{name}") - getattr(before, f"ru_{name}") for name in fields},
    }
    return status, usage


def run_snapconform(
    server: CountedServer,
    mode: str,
    *,
    seed: int,
    max_requests: int | None,
    api_version: str = "8.0.3",
    state_file: Path | None = None,
    timeout: float = 1800,
    python: str = sys.executable,
) -> dict[str, Any]:
    """``snapconform run`` as a user runs it (the CLI in a subprocess, start-up included).

    ``controlled``: through the mock's control protocol. ``declared``: with ``state_file``.
    ``observed``: credentials only (the documented administrator and unprivileged principal).
    ``python``: the interpreter whose installed snapconform runs (another checkout's venv).
    """
    import shutil
    import subprocess
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="snapconform-bench-"))
    args, env = run_arguments(
        server.base_url,
        mode,
        seed=seed,
        api_version=api_version,
        report_dir=work / "report",
        control_url=server.control_url,
        state_file=state_file,
    )
    if max_requests is not None:
        args += ["--max-requests", str(max_requests)]
    before_requests = server.counter.requests
    cpu_before, system_before = child_cpu_seconds(), child_system_seconds()
    blocks_before = child_blocks_read()
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [python, "-m", "snapconform", "run", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=work,
            timeout=timeout,
            check=False,
        )
        exit_status: int | None = done.returncode
        stderr_tail = done.stderr.strip().splitlines()[-3:]
    except subprocess.TimeoutExpired:
        exit_status, stderr_tail = None, ["timeout"]
    wall = time.perf_counter() - started
    document = run_summary(work / "report", missing_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    requirements = document.get("requirements", [])
    return {
        "tool": f"snapconform ({mode})",
        "exit_status": exit_status,
        "verdict": document.get("verdict"),
        "failed": sorted(r["id"] for r in requirements if r["outcome"] == "failed"),
        "not_checked": sorted(r["id"] for r in requirements if r["outcome"] == "not_checked"),
        "requests": server.counter.requests - before_requests,
        "requests_reported": document.get("requests"),
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(child_cpu_seconds() - cpu_before, 3),
        "system_cpu_seconds": round(child_system_seconds() - system_before, 3),
        "blocks_read": child_blocks_read() - blocks_before,
        "stderr_tail": stderr_tail if exit_status not in (0, 1, 3) else [],
    }
