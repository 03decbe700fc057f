"""What Prism's own validation (`prism proxy --errors`) sees of a server, beside snapconform.

Prism validates each response on its own against the contract's schemas: it catches a body that
breaks the status rules, but not a filter that was ignored (every body is valid) nor a password
that was accepted. And Prism 5.16 validates only a self-contained document: against
contracts/openapi.yaml as written (schemas referenced from contracts/schemas/) it flags nothing.
docs/certifying-mocks.md ("Certify a Prism mock") states these findings; this file keeps them
true for the pinned Prism.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from snapconform.mutants import MUTANTS
from snapconform.server.app import ServerConfig
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME
from snapconform.server.runner import ServerHandle, serve_in_thread
from tests.prism.prism_server import bundled_contract, prism_proxy

TASKS = "/api/snapservice/tasks"
ADMIN = (ADMIN_USERNAME, ADMIN_PASSWORD)
#: Few tasks, a third RUNNING: status=RUNNING returns some and (unfiltered) others.
SMALL = 30


def _served(mutant: str | None) -> ServerHandle:
    from snapconform.server.defaults import default_state

    config = ServerConfig(state=default_state(0, size=SMALL))
    if mutant is not None:
        config = MUTANTS[mutant].server_config(config)
    return serve_in_thread(config)


@pytest.fixture(scope="module")
def bundled(prism_cli: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundled_contract(tmp_path_factory.mktemp("bundled"))


@contextmanager
def _through_proxy(
    workdir: Path, mutant: str | None, document: Path | None = None
) -> Iterator[tuple[httpx.Response, httpx.Response]]:
    """(answer through Prism's proxy, the server's own answer) to ``GET tasks?status=RUNNING``."""
    with _served(mutant) as server, httpx.Client(timeout=60) as client:
        extra = {"document": document} if document is not None else {}
        with prism_proxy(workdir, server.base_url, **extra) as proxy:
            query = {"status": "RUNNING"}
            yield (
                client.get(f"{proxy}{TASKS}", params=query, auth=ADMIN),
                client.get(f"{server.base_url}{TASKS}", params=query, auth=ADMIN),
            )


def test_prism_proxy_flags_a_body_breaking_the_status_rules(bundled: Path, tmp_path: Path) -> None:
    with _through_proxy(tmp_path, "contract-running-without-progress", bundled) as (
        proxied,
        direct,
    ):
        assert direct.status_code == 200 and direct.json()["items"]  # the mutant's bad body
        assert proxied.status_code == 500, proxied.text
        assert proxied.headers["content-type"].startswith("application/problem+json")
        assert "must have required property 'progress'" in proxied.text


def test_prism_proxy_validates_nothing_against_the_contract_as_written(
    prism_cli: Path, tmp_path: Path
) -> None:
    # The same mutant through a proxy of contracts/openapi.yaml itself: Prism 5.16 does not
    # follow the schemas into contracts/schemas/ to validate (it does to serve examples).
    with _through_proxy(tmp_path, "contract-running-without-progress") as (proxied, direct):
        assert proxied.status_code == 200 and "sl-violations" not in proxied.headers
        assert proxied.json() == direct.json()


def test_prism_proxy_does_not_see_an_ignored_filter(bundled: Path, tmp_path: Path) -> None:
    # Every body is valid: Prism passes it; snapconform's FILTER-SOUNDNESS fails this mutant.
    with _through_proxy(tmp_path, "filter-ignores-status", bundled) as (proxied, _):
        assert proxied.status_code == 200 and "sl-violations" not in proxied.headers
        statuses = {item["info"]["status"] for item in proxied.json()["items"]}
        assert statuses - {"RUNNING"}, statuses  # tasks that do not match the filter


def test_prism_proxy_answers_for_the_server_without_credentials(
    bundled: Path, tmp_path: Path
) -> None:
    # Prism checks the security schemes itself: a request without credentials never reaches
    # the server and gets Prism's problem+json, not the contract's Unauthenticated body. A
    # conformance run through the proxy judges Prism's answer there, not the server's.
    with _served(None) as server, prism_proxy(tmp_path, server.base_url, document=bundled) as proxy:
        answer = httpx.get(f"{proxy}{TASKS}", timeout=60)
        direct = httpx.get(f"{server.base_url}{TASKS}", timeout=60)
    assert direct.status_code == 401 and direct.json()["error_type"] == "UNAUTHENTICATED"
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "messages" not in answer.json()
