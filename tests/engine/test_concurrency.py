"""``--concurrency N``: a batch's reads in flight at once, the budget and the rate limit global.

The server here counts how many requests it holds at once and answers after a delay, so the
overlap is observed by the server, not inferred from timing; every assertion about time is a
lower bound (a loaded machine only makes things slower).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from snapconform.engine.batch import Read
from snapconform.engine.budget import FailureMarks, RunTarget
from snapconform.engine.exchange import Exchange
from snapconform.engine.oracle import FilterSpec
from snapconform.engine.safety import RateLimiter
from snapconform.engine.target import Target, TargetSettings
from snapconform.errors import BudgetExhausted, ShareSpent
from snapconform.settings_catalogue import SETTINGS_BY_KEY


class CountingServer(ThreadingHTTPServer):
    """Answers every GET with an empty list after ``delay`` seconds (``slow_first``: the first
    requests of a batch answer last), counting the requests it holds at once."""

    daemon_threads = True

    def __init__(self, delay: float = 0.05, *, slow_first: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay, self.slow_first = delay, slow_first
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0
        self.queries: list[str] = []
        self.arrivals: list[float] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: CountingServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        server = self.server
        query = urlsplit(self.path).query
        with server.lock:
            server.in_flight += 1
            server.most_in_flight = max(server.most_in_flight, server.in_flight)
            server.queries.append(query)
            server.arrivals.append(time.monotonic())
        index = int(parse_qs(query).get("tasks", ["0"])[0])
        delay = server.delay * (3 if server.slow_first and index < 2 else 1)
        time.sleep(delay)
        body = json.dumps({"items": []}).encode()
        with server.lock:
            server.in_flight -= 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[CountingServer]:
    yield from _serving(CountingServer())


def _serving(server: CountingServer) -> Iterator[CountingServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _target(server: CountingServer, **settings: object) -> Target:
    return Target(TargetSettings(base_url=server.base_url, **settings))  # type: ignore[arg-type]


def _specs(count: int) -> list[FilterSpec]:
    return [FilterSpec(tasks=(str(index),)) for index in range(count)]


def test_reads_overlap_up_to_the_concurrency_and_never_more(server: CountingServer) -> None:
    with _target(server, concurrency=4) as target, target.list_many(_specs(12)) as answers:
        statuses = [response.status for _, response in answers]
    assert statuses == [200] * 12
    assert len(server.queries) == 12
    assert 2 <= server.most_in_flight <= 4


def test_by_default_one_read_at_a_time_each_sent_when_taken(server: CountingServer) -> None:
    with _target(server) as target:
        with target.list_many(_specs(5)) as answers:
            next(answers)
            next(answers)
        # stopping early (a violation) sent nothing more
        assert len(server.queries) == 2
        assert target.stats.requests == 2
    assert server.most_in_flight == 1


@pytest.fixture
def slow_first_server() -> Iterator[CountingServer]:
    yield from _serving(CountingServer(delay=0.03, slow_first=True))


def test_answers_are_recorded_and_audited_in_the_order_asked(
    slow_first_server: CountingServer,
) -> None:
    seen: list[str] = []
    target = Target(
        TargetSettings(base_url=slow_first_server.base_url, concurrency=4),
        observers=[lambda exchange: seen.append(exchange.query)],
    )
    with target, target.list_many(_specs(6)) as answers:
        taken = [spec.tasks[0] for spec, _ in answers]
    asked = [f"tasks={index}" for index in range(6)]
    assert taken == [str(index) for index in range(6)]
    assert seen == asked  # the first two answered last, yet were audited first
    assert [exchange.query for exchange in target.exchanges] == asked


def test_the_budget_stays_exact_with_reads_in_flight(server: CountingServer) -> None:
    with _target(server, concurrency=8, max_requests=7) as target:
        with target.list_many(_specs(20)) as answers:
            for _ in range(7):
                next(answers)
            with pytest.raises(BudgetExhausted):
                next(answers)
        assert target.stats.requests == 7
        # as one read after another: the seven sent and the one refused, none of those the
        # budget refused ahead of being taken
        assert len(target.stats.distinct_queries) == 8
    assert len(server.queries) == 7


def test_a_checks_share_is_exact_with_reads_in_flight(server: CountingServer) -> None:
    marks = FailureMarks(share_limit=5, share_allowed=5)
    target = RunTarget(TargetSettings(base_url=server.base_url, concurrency=8), marks=marks)
    with target, target.list_many(_specs(12)) as answers:
        taken = 0
        with pytest.raises(ShareSpent):
            for _ in answers:
                taken += 1
    assert taken == 5 and len(server.queries) == 5
    assert marks.refused_at == 5


def test_a_run_target_admits_the_smaller_of_its_share_and_the_budget(
    server: CountingServer,
) -> None:
    marks = FailureMarks(share_limit=5, share_allowed=5)
    settings = TargetSettings(base_url=server.base_url, max_requests=8)
    with RunTarget(settings, marks=marks) as target:
        assert target.requests_admitted() == 5  # the share, under the budget's 8
        with target.list_many(_specs(3)) as answers:
            for _ in answers:
                pass
        assert target.requests_admitted() == 2
        marks.share_limit = None  # between checks: only the run's budget
        assert target.requests_admitted() == 5
    with Target(settings) as plain:
        assert plain.requests_admitted() == 8


def test_stopping_early_still_records_and_audits_the_reads_in_flight(
    server: CountingServer,
) -> None:
    seen: list[Exchange] = []
    target = Target(
        TargetSettings(base_url=server.base_url, concurrency=4), observers=[seen.append]
    )
    with target:
        with target.list_many(_specs(10)) as answers:
            next(answers)  # then the check raised: the batch closes
        sent = len(server.queries)
        assert 1 < sent <= 4
        assert target.stats.requests == sent
        assert len(seen) == len(target.exchanges) == sent  # what the server said is kept
        assert len(target.stats.distinct_queries) == sent  # a read never sent is no query


def test_the_rate_limit_is_one_cap_for_all_reads_in_flight(server: CountingServer) -> None:
    started = time.monotonic()
    with (
        _target(server, concurrency=8, rate_limit=20) as target,
        target.list_many(_specs(9)) as answers,
    ):
        list(answers)
    # nine sends at 20/s: the ninth leaves 8 intervals (0.4 s) after the first at the earliest
    assert time.monotonic() - started >= 0.39
    gaps = [b - a for a, b in zip(server.arrivals, server.arrivals[1:], strict=False)]
    assert sum(gaps) >= 0.35


def test_the_run_s_clients_share_one_rate_limiter(server: CountingServer) -> None:
    target = RunTarget(TargetSettings(base_url=server.base_url, rate_limit=5), marks=FailureMarks())
    other = RunTarget(
        TargetSettings(base_url=server.base_url, rate_limit=5),
        marks=FailureMarks(),
        stats=target.stats,
        limiter=target.limiter,
    )
    with target, other:
        started = time.monotonic()
        target.get_tasks("tasks=0")
        other.get_tasks("tasks=1")
        target.get_tasks("tasks=2")
    assert time.monotonic() - started >= 0.39  # 5/s across both clients: two intervals
    assert target.stats.requests == 3


def test_reads_with_their_own_headers_carry_exactly_those(server: CountingServer) -> None:
    with _target(server, concurrency=3) as target:
        reads = [(index, Read(f"tasks={index}", {"X-Probe": str(index)})) for index in range(3)]
        with target.read_many(reads) as answers:
            got = [(key, response.request_headers) for key, response in answers]
    assert [key for key, _ in got] == [0, 1, 2]
    for key, headers in got:
        assert {name.lower(): value for name, value in headers.items()}["x-probe"] == str(key)


def test_a_retry_after_holds_every_sender() -> None:
    now = [100.0]
    slept: list[float] = []
    limiter = RateLimiter(None, clock=lambda: now[0])
    limiter.hold(2.0)
    original = time.sleep
    try:
        time.sleep = slept.append  # type: ignore[assignment]
        limiter.wait()
    finally:
        time.sleep = original
    assert slept == [2.0]


@pytest.mark.parametrize(
    ("value", "problem"),
    [(0, "at least 1"), (33, "at most 32"), ("x", "expected an integer"), (True, "integer")],
)
def test_a_wrong_concurrency_is_refused_with_its_reason(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        SETTINGS_BY_KEY["concurrency"].parse(value)
    assert SETTINGS_BY_KEY["concurrency"].parse("8") == 8


def test_a_target_refuses_a_concurrency_below_one() -> None:
    from snapconform.errors import TargetError

    with pytest.raises(TargetError, match="at least 1"):
        Target(TargetSettings(base_url="http://127.0.0.1:9", concurrency=0))
