"""Issue 23, item 7 (the gaps): the cap error without ``error_type``, the injected fault's type,
over-cap cases for a restricted principal.

Each test runs the engine in-process (``engine_against``) against a server that has the gap's
behaviour, and shows the requirement judges it: a documented answer passes, a deviation fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from snapconform.engine import oracle
from snapconform.server.behaviour import Behaviour, EndpointError
from tests.engine.test_gaps_cap_auth import engine_against, outcome_of

pytestmark = pytest.mark.slow


class CapErrorWithoutType(Behaviour):
    """The cap error leaves out ``error_type`` (page line 224: "Can be missing or null for
    compatibility with preceding implementations"): a documented answer."""

    def error_document(self, error: EndpointError, **extra: Any) -> dict[str, Any]:
        document = super().error_document(error, **extra)
        if error.error_type == "RESOURCE_INACCESSIBLE":
            del document["error_type"]
        return document


@pytest.mark.parametrize(
    ("status", "body", "cap_error"),
    [
        (500, {"error_type": "RESOURCE_INACCESSIBLE", "messages": []}, True),
        (500, {"messages": []}, True),
        (500, {"error_type": None, "messages": []}, True),
        (500, {"error_type": "ERROR", "messages": []}, False),
        (400, {"error_type": "INVALID_ARGUMENT", "messages": []}, False),
        # the vAPI runtime's map sends ResourceInaccessible as 400: only when it says so
        (400, {"error_type": "RESOURCE_INACCESSIBLE", "messages": []}, True),
        (400, {"messages": []}, False),
        (200, {"items": []}, False),
        (500, "Internal Server Error", False),
    ],
)
def test_the_cap_error_is_defined_once(status: int, body: Any, cap_error: bool) -> None:
    assert oracle.is_cap_error(status, body) is cap_error
    assert oracle.is_refusal(status, body) is (status == 400 and not cap_error)


@pytest.mark.parametrize("mode", ["controlled", "observed"])
def test_a_cap_error_without_error_type_passes_cap_over_limit(mode: str, tmp_path: Path) -> None:
    with engine_against(None, mode, tmp_path, behaviour=CapErrorWithoutType()) as harness:
        result = outcome_of(harness, "CAP-OVER-LIMIT")
    assert result.outcome == "passed", result.detail


@pytest.mark.parametrize(
    ("mutant", "requirement_id"),
    [
        ("fault-inaccessible-as-error", "FAULT-500"),
        ("cap-truncates-for-restricted-view", "CAP-OVER-LIMIT"),
    ],
)
def test_the_gap_mutants_are_caught_and_the_faithful_server_passes(
    mutant: str, requirement_id: str, tmp_path: Path
) -> None:
    with engine_against(mutant, "controlled", tmp_path) as harness:
        caught = outcome_of(harness, requirement_id)
    assert caught.outcome == "failed", caught.detail
    with engine_against(None, "controlled", tmp_path) as harness:
        faithful = outcome_of(harness, requirement_id)
    assert faithful.outcome == "passed", faithful.detail
