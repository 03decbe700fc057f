"""``serve --latency``: every endpoint and session response is held back, without blocking.

No upper time bounds here (the machine may be loaded): the tests check the order of answers,
lower bounds of elapsed time and the delays drawn, not how fast anything is.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

from snapconform.cli import parse_args
from snapconform.server.app import ResponseDelay, ServerConfig
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME
from snapconform.server.runner import serve_in_thread

TASKS = "/api/snapservice/tasks"
ADMIN = (ADMIN_USERNAME, ADMIN_PASSWORD)


async def _inner_app(scope: Any, receive: Any, send: Any) -> None:  # never called
    raise AssertionError("not used")


def test_jitter_draws_stay_in_the_band_and_follow_the_seed() -> None:
    def draws(seed: int) -> list[float]:
        delay = ResponseDelay(_inner_app, 0.04, 0.01, seed, "/control/")
        return [delay.delay() for _ in range(500)]

    values = draws(3)
    assert all(0.03 <= value <= 0.05 for value in values)
    assert min(values) < 0.035 and max(values) > 0.045  # really spread, not a constant
    assert draws(3) == values and draws(4) != values
    clipped = ResponseDelay(_inner_app, 0.005, 0.02, 0, "/control/")
    assert min(clipped.delay() for _ in range(200)) == 0.0  # never a negative sleep
    assert ResponseDelay(_inner_app, 0.04, 0.0, 0, "/control/").delay() == 0.04


def test_the_config_refuses_negative_latencies() -> None:
    with pytest.raises(ValueError, match="latency"):
        ServerConfig(latency=-0.01)
    with pytest.raises(ValueError, match="latency"):
        ServerConfig(latency_jitter=-1)


def test_a_held_response_does_not_block_the_event_loop() -> None:
    """While a list answer is held back, the control protocol (never delayed) still answers,
    and concurrent list requests are held side by side (asyncio.sleep, not time.sleep)."""
    latency = 1.5
    with serve_in_thread(ServerConfig(latency=latency)) as server:
        finished: list[tuple[str, float]] = []
        started = time.monotonic()

        def list_request(name: str) -> None:
            response = httpx.get(f"{server.base_url}{TASKS}?status=FAILED", auth=ADMIN, timeout=30)
            assert response.status_code == 200
            finished.append((name, time.monotonic() - started))

        threads = [threading.Thread(target=list_request, args=(f"list{i}",)) for i in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(0.2)  # the list requests are being held now
        control = httpx.get(f"{server.control_url}/state", timeout=30)
        finished.append(("control", time.monotonic() - started))
        for thread in threads:
            thread.join(60)
        assert control.status_code == 200
        assert finished[0][0] == "control", finished
        # every list answer waited at least the latency (a lower bound only)
        assert all(elapsed >= latency for name, elapsed in finished if name != "control")
        assert len(finished) == 4


def test_sessions_and_unknown_paths_are_delayed_too() -> None:
    latency = 0.3
    with serve_in_thread(ServerConfig(latency=latency)) as server:
        for method, path in (("POST", "/api/snapservice/sessions"), ("GET", "/nowhere")):
            started = time.monotonic()
            response = httpx.request(method, f"{server.base_url}{path}", auth=ADMIN, timeout=30)
            assert response.status_code in (201, 404)
            assert time.monotonic() - started >= latency


def test_no_latency_adds_no_middleware() -> None:
    with serve_in_thread(ServerConfig()) as server:
        assert not any(m.cls is ResponseDelay for m in server.app.user_middleware)
    with serve_in_thread(ServerConfig(latency=0.001)) as server:
        assert any(m.cls is ResponseDelay for m in server.app.user_middleware)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--latency", "-1"], "--latency must be between 0 and 60000"),
        (["serve", "--latency", "nan"], "--latency must be between 0 and 60000"),
        (["serve", "--latency", "1e9"], "--latency must be between 0 and 60000"),
        (["serve", "--latency-jitter", "-5"], "--latency-jitter must be between 0 and 60000"),
    ],
)
def test_serve_refuses_bad_latencies(argv: list[str], message: str, capsys: Any) -> None:
    args = parse_args(argv)
    assert args.handler(args) == 2
    assert message in capsys.readouterr().err


def test_serve_help_documents_latency(capsys: Any) -> None:
    with pytest.raises(SystemExit):
        parse_args(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--latency MS" in text and "--latency-jitter MS" in text
    assert "milliseconds" in text


def test_asyncio_sleep_is_what_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    """The middleware awaits asyncio.sleep with the drawn delay (a blocking sleep would stall
    every other connection of the server)."""
    calls: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        calls.append(seconds)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(-1.0)

    delay = ResponseDelay(app, 0.04, 0.0, 0, "/control/")
    loop = asyncio.new_event_loop()
    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    try:
        for scope in ({"type": "http", "path": TASKS}, {"type": "http", "path": "/control/state"}):
            loop.run_until_complete(delay(scope, None, None))
        loop.run_until_complete(delay({"type": "lifespan"}, None, None))
    finally:
        loop.close()
    assert calls == [0.04, -1.0, -1.0, -1.0]
