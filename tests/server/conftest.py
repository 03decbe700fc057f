"""Fixtures for the reference server's own tests: in-process clients for a ServerConfig."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from snapconform.server.app import ServerConfig, create_app

with warnings.catch_warnings():
    # starlette 1.x warns that its TestClient will move to httpx2; the API is what we need.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ClientFactory = Callable[..., TestClient]


@pytest.fixture
def client_for() -> Iterator[ClientFactory]:
    """Build in-process clients: ``client_for(**ServerConfig fields)`` (lifespan runs)."""
    clients: list[TestClient] = []

    def build(**config: Any) -> TestClient:
        client = TestClient(create_app(ServerConfig(**config)))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)
