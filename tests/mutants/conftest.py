"""Fixtures for the mutant library's tests (own conftest: no fixtures shared with other dirs)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import pytest

from snapconform.server.app import ServerConfig, create_app

with warnings.catch_warnings():
    # starlette 1.x warns that its TestClient will move to httpx2; the API is what we need.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ClientFactory = Callable[[ServerConfig], TestClient]


@pytest.fixture
def client_for() -> Iterator[ClientFactory]:
    """In-process clients for ServerConfigs; closed (lifespan ended) after the test."""
    clients: list[TestClient] = []

    def build(config: ServerConfig) -> TestClient:
        # As served by uvicorn: an exception becomes the app's 500 Error, not a test crash.
        client = TestClient(create_app(config), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)
