"""Load, state-swap and malformed-request tests of the reference server (loopback only, bounded).

Three experiments against ``serve_in_thread``:

* **load** — ``clients`` threads share ``requests`` requests: list requests with varied filters
  (HTTP Basic) and, every ``session_every``-th request, a whole session cycle (create, use,
  inspect, delete). Reports errors, lost sessions (created but unusable or not deletable, or
  still alive on the server at the end), p50/p99 latency and throughput.
* **swap** — the same list requests while a swapper thread alternates ``PUT {control}/state``
  between two disjoint states: every 200 body's set of task ids must equal one state's exactly
  (a half-loaded store would show a mixture or a subset).
* **fuzz** — malformed requests on a raw socket (random bytes in the query string, bad
  percent-encoding, invalid UTF-8, huge and many headers, a huge request line); no answer may
  be a 5xx.

Run ``python bench/load_test.py --help``; the safety tests import this file and run a small,
time-bounded configuration of each experiment.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import random
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from snapconform.server.app import ServerConfig
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME, default_state
from snapconform.server.runner import serve_in_thread
from snapconform.state import State, state_to_document

TASKS_PATH = "/api/snapservice/tasks"
SESSIONS_PATH = "/api/snapservice/sessions"
SESSION_HEADER = "vmware-api-session-id"
STATUSES = ("PENDING", "RUNNING", "BLOCKED", "SUCCEEDED", "FAILED")
#: 900 tasks: every filter (the empty one too) stays under the 1000-task cap, so any 5xx is a bug
LOAD_UNIVERSE = 900


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


ADMIN_BASIC = basic(ADMIN_USERNAME, ADMIN_PASSWORD)


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- load -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadConfig:
    clients: int = 8
    requests: int = 2000
    #: every n-th unit of work is a session cycle (4 requests) instead of one list request
    session_every: int = 10
    max_seconds: float = 60.0
    seed: int = 0


@dataclass
class LoadResult:
    requests: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    sessions_created: int = 0
    sessions_deleted: int = 0
    lost_sessions: list[str] = field(default_factory=list)
    sessions_left_on_server: int | None = None
    elapsed: float = 0.0
    stopped_by_time: bool = False

    def to_document(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "statuses": dict(sorted(self.statuses.items())),
            "sessions_created": self.sessions_created,
            "sessions_deleted": self.sessions_deleted,
            "lost_sessions": len(self.lost_sessions),
            "sessions_left_on_server": self.sessions_left_on_server,
            "p50_ms": round(percentile(self.latencies, 0.50) * 1000, 2),
            "p99_ms": round(percentile(self.latencies, 0.99) * 1000, 2),
            "max_ms": round(max(self.latencies, default=0.0) * 1000, 2),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 2) if self.latencies else 0,
            "throughput_rps": round(self.requests / self.elapsed, 1) if self.elapsed else 0.0,
            "elapsed_s": round(self.elapsed, 2),
            "stopped_by_time": self.stopped_by_time,
        }


def random_query(rng: random.Random, task_ids: Sequence[str]) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return ""
    if kind == 1:
        return "&".join(f"status={s}" for s in rng.sample(STATUSES, rng.randint(1, 3)))
    if kind == 2:
        return "&".join(f"tasks={quote(t, safe='')}" for t in rng.sample(task_ids, 5))
    return f"users={quote(ADMIN_USERNAME, safe='')}&status=SUCCEEDED"


class _Work:
    """A shared countdown of units of work and a deadline (thread-safe)."""

    def __init__(self, units: int, deadline: float) -> None:
        self._left = units
        self._deadline = deadline
        self._lock = threading.Lock()
        self.timed_out = False

    def take(self) -> int | None:
        with self._lock:
            if time.monotonic() > self._deadline:
                self.timed_out = True
                return None
            if self._left <= 0:
                return None
            self._left -= 1
            return self._left


class _Recorder:
    def __init__(self, result: LoadResult) -> None:
        self.result = result
        self.lock = threading.Lock()

    def send(
        self, client: httpx.Client, method: str, url: str, headers: dict[str, str]
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = client.request(method, url, headers=headers)
        except httpx.HTTPError as error:
            with self.lock:
                self.result.requests += 1
                self.result.errors.append(f"{method} {url.split('?')[0]}: {type(error).__name__}")
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.result.requests += 1
            self.result.latencies.append(elapsed)
            self.result.statuses[response.status_code] += 1
        return response

    def error(self, text: str) -> None:
        with self.lock:
            self.result.errors.append(text)


def _session_cycle(client: httpx.Client, recorder: _Recorder, number: int) -> None:
    created = recorder.send(client, "POST", SESSIONS_PATH, {"Authorization": ADMIN_BASIC})
    if created is None or created.status_code != 201:
        recorder.error(f"session create: {None if created is None else created.status_code}")
        return
    token = created.json()
    with recorder.lock:
        recorder.result.sessions_created += 1
    auth = {SESSION_HEADER: token}
    listed = recorder.send(client, "GET", f"{TASKS_PATH}?status=RUNNING", auth)
    info = recorder.send(client, "GET", SESSIONS_PATH, auth)
    deleted = recorder.send(client, "DELETE", SESSIONS_PATH, auth)
    problems = [
        name
        for name, response, wanted in (
            ("list", listed, 200),
            ("info", info, 200),
            ("delete", deleted, 204),
        )
        if response is None or response.status_code != wanted
    ]
    with recorder.lock:
        if problems:
            recorder.result.lost_sessions.append(f"session #{number}: {', '.join(problems)}")
        else:
            recorder.result.sessions_deleted += 1


def run_load(
    base_url: str,
    config: LoadConfig,
    task_ids: Sequence[str],
    sessions_on_server: Callable[[], int] | None = None,
) -> LoadResult:
    """Drive ``config`` against ``base_url``; ``sessions_on_server`` counts live sessions after."""
    result = LoadResult()
    recorder = _Recorder(result)
    work = _Work(config.requests, time.monotonic() + config.max_seconds)

    def client_loop(index: int) -> None:
        rng = random.Random(config.seed * 1000 + index)
        with httpx.Client(base_url=base_url, timeout=30) as client:
            while (unit := work.take()) is not None:
                if unit % config.session_every == 0:
                    _session_cycle(client, recorder, unit)
                    continue
                query = random_query(rng, task_ids)
                response = recorder.send(
                    client, "GET", f"{TASKS_PATH}?{query}", {"Authorization": ADMIN_BASIC}
                )
                if response is not None and response.status_code != 200:
                    recorder.error(f"GET ?{query}: HTTP {response.status_code}")

    started = time.monotonic()
    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(config.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed = time.monotonic() - started
    result.stopped_by_time = work.timed_out
    if sessions_on_server is not None:
        result.sessions_left_on_server = sessions_on_server()
    return result


# --- state swaps ------------------------------------------------------------------------------


@dataclass
class SwapResult:
    bodies: int = 0
    swaps: int = 0
    #: bodies whose id set equals neither state (a half-loaded or mixed store)
    torn: list[str] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def to_document(self) -> dict[str, Any]:
        return {
            "bodies": self.bodies,
            "swaps": self.swaps,
            "torn": len(self.torn),
            "first_torn": self.torn[:3],
            "seen": dict(self.seen),
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
        }


def run_swap_load(
    base_url: str,
    control_url: str,
    states: dict[str, State],
    *,
    clients: int = 4,
    requests: int = 400,
    swap_interval: float = 0.02,
    max_seconds: float = 60.0,
) -> SwapResult:
    """List (empty filter) while PUT {control}/state alternates between ``states``."""
    expected = {name: frozenset(t["task"] for t in state.tasks) for name, state in states.items()}
    documents = [json.dumps(state_to_document(state)) for state in states.values()]
    result = SwapResult()
    lock = threading.Lock()
    done = threading.Event()
    work = _Work(requests, time.monotonic() + max_seconds)

    def put(client: httpx.Client, document: str) -> None:
        response = client.put(
            f"{control_url}/state", content=document, headers={"Content-Type": "application/json"}
        )
        with lock:
            if response.status_code == 204:
                result.swaps += 1
            else:
                result.errors.append(f"PUT state: HTTP {response.status_code}")

    with httpx.Client(timeout=30) as client:
        put(client, documents[0])  # the server starts from neither state

    def swapper() -> None:
        with httpx.Client(timeout=30) as client:
            index = 0
            while not done.is_set():
                index += 1
                put(client, documents[index % len(documents)])
                done.wait(swap_interval)

    def reader() -> None:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            while work.take() is not None:
                try:
                    response = client.get(TASKS_PATH, headers={"Authorization": ADMIN_BASIC})
                except httpx.HTTPError as error:
                    with lock:
                        result.errors.append(f"GET: {type(error).__name__}")
                    continue
                if response.status_code != 200:
                    with lock:
                        result.errors.append(f"GET: HTTP {response.status_code}")
                    continue
                ids = frozenset(item["task"] for item in response.json()["items"])
                matched = [name for name, wanted in expected.items() if ids == wanted]
                with lock:
                    result.bodies += 1
                    if matched:
                        result.seen[matched[0]] += 1
                    else:
                        result.torn.append(f"{len(ids)} ids matching no state")

    swap_thread = threading.Thread(target=swapper)
    swap_thread.start()
    readers = [threading.Thread(target=reader) for _ in range(clients)]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join()
    done.set()
    swap_thread.join()
    return result


# --- malformed requests -----------------------------------------------------------------------


@dataclass
class FuzzResult:
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)

    def to_document(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "statuses": dict(sorted(self.statuses.items())),
            "server_errors": len(self.server_errors),
            "first_server_errors": self.server_errors[:5],
        }


def raw_exchange(port: int, request: bytes, timeout: float = 10.0) -> str:
    """Send ``request`` bytes; the status code of the answer, or ``closed``/``timeout``."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        # the server may refuse before reading everything; its answer still counts
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        received = b""
        try:
            while b"\r\n" not in received:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        except TimeoutError:
            return "timeout"
        except ConnectionResetError:
            return "reset" if not received else received.split(b" ", 2)[1].decode()
    if not received.startswith(b"HTTP/1."):
        return "closed"
    return received.split(b" ", 2)[1].decode("latin-1")


def malformed_requests(rng: random.Random, count: int) -> list[tuple[str, bytes]]:
    """``count`` (label, raw request) pairs: random query bytes plus every fixed nasty case."""

    def request(target: bytes, extra: bytes = b"") -> bytes:
        return (
            b"GET "
            + target
            + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
            + ADMIN_BASIC.encode()
            + b"\r\n"
            + extra
            + b"Connection: close\r\n\r\n"
        )

    path = TASKS_PATH.encode()
    fixed: list[tuple[str, bytes]] = [
        ("lone percent", request(path + b"?status=%")),
        ("percent + one hex digit", request(path + b"?status=%4")),
        ("percent + non-hex", request(path + b"?tasks=%zz")),
        ("percent-encoded invalid UTF-8", request(path + b"?tasks=%C3%28")),
        ("percent-encoded NUL", request(path + b"?tasks=%00")),
        ("percent-encoded name", request(path + b"?%73tatus=RUNNING")),
        ("raw high bytes", request(path + b"?tasks=\xff\xfe\x80")),
        ("no name", request(path + b"?=x&&&=")),
        ("unknown parameter", request(path + b"?limit=10")),
        ("100 KB query", request(path + b"?tasks=" + b"a" * 100_000)),
        ("5 MB request line", request(path + b"?tasks=" + b"a" * 5_000_000)),
        ("64 KB header", request(path, b"X-Big: " + b"b" * 65_536 + b"\r\n")),
        ("1 MB header", request(path, b"X-Big: " + b"b" * 1_000_000 + b"\r\n")),
        ("5 MB header", request(path, b"X-Big: " + b"b" * 5_000_000 + b"\r\n")),
        ("2000 headers", request(path, b"".join(b"X-H%d: v\r\n" % n for n in range(2000)))),
        ("header with high bytes", request(path, b"X-Odd: \xff\xfe\r\n")),
        (
            "garbled Basic",
            b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Basic !!\r\n"
            b"Connection: close\r\n\r\n",
        ),
        (
            "session header of 100 KB",
            request(path, b"vmware-api-session-id: " + b"s" * 100_000 + b"\r\n"),
        ),
    ]
    alphabet = bytes(range(256))
    randoms = []
    for number in range(count):
        length = rng.randint(1, 200)
        noise = bytes(rng.choice(alphabet) for _ in range(length))
        # no space, CR or LF: keep the request line well-formed so the app sees the bytes
        noise = noise.translate(None, b" \r\n")
        name = rng.choice([b"tasks", b"status", b"users", b"services", b"operations", b"x"])
        randoms.append((f"random query #{number}", request(path + b"?" + name + b"=" + noise)))
    return fixed + randoms


def run_fuzz(port: int, count: int = 200, seed: int = 0) -> FuzzResult:
    result = FuzzResult()
    for label, raw in malformed_requests(random.Random(seed), count):
        status = raw_exchange(port, raw)
        result.sent += 1
        result.statuses[status] += 1
        if status.startswith("5") or status == "timeout":
            result.server_errors.append(f"{label}: {status}")
    return result


# --- command line -----------------------------------------------------------------------------


def swap_states() -> dict[str, State]:
    return {"A": default_state(seed=101, size=300), "B": default_state(seed=202, size=500)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--session-every", type=int, default=10)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--swap-requests", type=int, default=400)
    parser.add_argument("--fuzz", type=int, default=200, help="random malformed queries")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    state = default_state(seed=args.seed, size=LOAD_UNIVERSE)
    task_ids = [item["task"] for item in state.tasks]
    report: dict[str, Any] = {}
    with serve_in_thread(ServerConfig(state=state)) as server:
        load = run_load(
            server.base_url,
            LoadConfig(
                args.clients, args.requests, args.session_every, args.max_seconds, args.seed
            ),
            task_ids,
            sessions_on_server=lambda: len(server.runtime.sessions),
        )
        report["load"] = {"clients": args.clients, **load.to_document()}
        report["swap"] = run_swap_load(
            server.base_url, server.control_url, swap_states(), requests=args.swap_requests
        ).to_document()
        report["fuzz"] = run_fuzz(server.port, args.fuzz, args.seed).to_document()
    print(json.dumps(report, indent=2))
    failed = (
        report["load"]["errors"]
        or report["load"]["lost_sessions"]
        or report["load"]["sessions_left_on_server"]
        or report["swap"]["torn"]
        or report["swap"]["errors"]
        or report["fuzz"]["server_errors"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
