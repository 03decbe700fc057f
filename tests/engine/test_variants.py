"""Documented alternatives (issue 15): each passes the requirement it touches, and is recorded.

Each test serves the faithful reference server playing one variant of
``snapconform.server.variants`` and runs the requirement in-process: it must pass, and the
run's ``variants`` record must name the variant's answer. The same requirement still fails the
mutant that plays a behaviour no source allows (the contrast that proves the check can fail).
``snapconform selftest`` runs every variant through whole runs in every mode.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from snapconform.engine.harness import Harness
from snapconform.mutants import get as get_mutant
from snapconform.server.behaviour import Behaviour
from snapconform.server.defaults import (
    default_state,
)
from snapconform.server.variants import VARIANTS, behaviour_with
from tests.engine.test_gaps_cap_auth import engine_against, outcome_of

pytestmark = pytest.mark.slow


def engine_on(
    behaviour: Behaviour, mode: str, tmp_path: Path, *, seed: int = 0
) -> AbstractContextManager[Harness]:
    """A Harness in ``mode`` against a server playing ``behaviour`` (selftest's set-up)."""
    return engine_against(None, mode, tmp_path, seed=seed, behaviour=behaviour)


@pytest.mark.parametrize(
    ("variant", "mode", "requirement_id", "mutant"),
    [
        # (the contrast was intermittent-drops-item, whose every-third-list drop no longer
        # lands on an empty-filter answer once the decisive choice probes shift the count)
        ("requires-tasks-or-services", "controlled", "FILTER-EMPTY", "filter-empty-lists-nothing"),
        (
            "refuses-repeated-values",
            "controlled",
            "FILTER-ORDER-REPEATS",
            "filter-last-repeated-only",
        ),
        (
            "unknown-status-matches-none",
            "controlled",
            "FILTER-INVALID-STATUS",
            "filter-lenient-status",
        ),
        ("users-case-insensitive", "controlled", "FILTER-EXACT-ENCODED", "filter-case-insensitive"),
        (
            "unknown-task-id-inaccessible",
            "controlled",
            "FILTER-UNKNOWN-IDS",
            "filter-unknown-task-id-500",
        ),
        (
            "refuses-unknown-identifiers",
            "controlled",
            "FILTER-UNKNOWN-IDS",
            "filter-unknown-task-id-500",
        ),
        (
            "internal-server-error",
            "controlled",
            "FAULT-500",
            "contract-500-service-unavailable-type",
        ),
        ("cap-counts-all-matching", "controlled", "CAP-COUNTS-MATCHING", "cap-counts-store"),
        ("cap-counts-all-matching", "declared", "CAP-COUNTS-MATCHING", "cap-counts-store"),
    ],
)
def test_a_documented_variant_passes_and_is_recorded(
    variant: str, mode: str, requirement_id: str, mutant: str, tmp_path: Path
) -> None:
    chosen = VARIANTS[variant]
    with engine_on(behaviour_with([variant]), mode, tmp_path) as harness:
        result = outcome_of(harness, requirement_id)
        recorded = harness.choices.choices(chosen.question)
    assert result.outcome == "passed", result.detail
    assert chosen.choice in recorded, (chosen.question, recorded)
    with engine_on(get_mutant(mutant).behaviour(), mode, tmp_path) as harness:
        caught = outcome_of(harness, requirement_id)
    assert caught.outcome == "failed", caught.detail


def test_observed_discovery_goes_through_services_when_the_empty_filter_is_refused(
    tmp_path: Path,
) -> None:
    """A target requiring tasks or services: observed discovery lists every task through
    ``services=`` (the bindings' service ids, then the ones learned), and says so."""
    state = default_state(0)
    with engine_on(behaviour_with(["requires-tasks-or-services"]), "observed", tmp_path) as h:
        universe = h.source.universe  # type: ignore[attr-defined]
    assert {item["task"] for item in universe.items} == {t["task"] for t in state.tasks}
    assert universe.discovery is not None
    assert universe.discovery["method"] == "services"
    assert universe.discovery["complete"] is True
    assert "cannot be found through services=" in universe.discovery["certain"]
