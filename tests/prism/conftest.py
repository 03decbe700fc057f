"""Fixtures of the Prism tests: the pinned Prism CLI, and Prism mocks of the contract.

``prism_cli`` skips with the reason when Prism or node is missing (tests/conftest.py marks the
tests that use it ``prism`` and ``slow``: under CI=true such a skip fails the run).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.prism.prism_server import PrismMissingError, find_prism, prism_mock


@pytest.fixture(scope="session")
def prism_cli() -> Path:
    try:
        return find_prism()
    except PrismMissingError as missing:
        pytest.skip(str(missing))


@pytest.fixture(scope="module")
def static_prism(prism_cli: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`prism mock contracts/openapi.yaml`: the base URL of a static mock of the contract."""
    with prism_mock(tmp_path_factory.mktemp("prism-static")) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def dynamic_prism(prism_cli: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`prism mock -d contracts/openapi.yaml`: a mock that invents every body it serves."""
    with prism_mock(tmp_path_factory.mktemp("prism-dynamic"), dynamic=True) as base_url:
        yield base_url
