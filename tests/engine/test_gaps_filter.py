"""Gaps the mutation matrix found in filter semantics and contract strictness, closed.

Each test serves a mutant of ``snapconform.mutants`` (``get(name).server_config()``) on loopback,
runs the engine's check in-process, and asserts that the mutant's requirement fails, and fails
within a few requests: the filter checks start with a deterministic phase (a rich universe and
``snapconform.strategies.filters.informative_filters``) before Hypothesis' random examples. The
faithful server passes the same checks in the same modes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest

from snapconform.config import RunConfig
from snapconform.engine.harness import Harness
from snapconform.engine.requirements import requirement
from snapconform.engine.verdicts import CheckResult
from snapconform.mutants import get
from snapconform.server.app import ServerConfig
from snapconform.server.runner import serve_in_thread
from snapconform.strategies.filters import informative_filters, near_misses
from snapconform.strategies.states import HarnessPrincipals, rich_state_document
from tests.engine.helpers import reach_options

#: Whole engine checks against served mutants: minutes on 2 cores (the fast tier leaves them out).
pytestmark = pytest.mark.slow

#: Requests a filter check may send before it reports one of these mutants (the goal: a
#: median of at most 20 requests to detect, see docs/mutation.md).
FAST = 20


@contextmanager
def engine_against(config: ServerConfig, mode: str, seed: int = 0) -> Iterator[Harness]:
    """A Harness against ``config`` served on loopback, in controlled or observed mode."""
    config = replace(config, control=mode == "controlled")
    with serve_in_thread(config, "127.0.0.1", 0) as handle:
        options: dict[str, object] = {
            "base_url": handle.base_url,
            "max_examples": 5,
            "seed": seed,
            **reach_options(mode, handle),
        }
        control = handle.control_url if mode == "controlled" else None
        harness = Harness.open(
            RunConfig(**options),  # type: ignore[arg-type]
            base_url=handle.base_url,
            control_url=control,
            seed=seed,
        )
        try:
            yield harness
        finally:
            harness.close()


def check(harness: Harness, requirement_id: str) -> tuple[CheckResult, int]:
    """The check's result and the requests it sent."""
    before = harness.stats.requests
    result = requirement(requirement_id).check(harness)
    return result, harness.stats.requests - before


def mutant_config(name: str) -> ServerConfig:
    return get(name).server_config()


# --- 1. prefix matching --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["controlled", "observed"])
@pytest.mark.parametrize("requirement_id", ["FILTER-SOUNDNESS", "FILTER-EXACT-ENCODED"])
def test_prefix_matching_is_caught(mode: str, requirement_id: str) -> None:
    with engine_against(mutant_config("filter-prefix-match"), mode) as harness:
        result, sent = check(harness, requirement_id)
    assert result.outcome == "failed", result.detail
    assert "do not match" in result.detail or "differs" in result.detail, result.detail
    if requirement_id == "FILTER-SOUNDNESS":
        assert sent <= FAST, (sent, result.detail)


def test_near_misses_of_held_values_are_drawn_first() -> None:
    principals = HarnessPrincipals(("a@h", "p-1"), ("b@h", "p-2"), ("c@h", "p-3"))
    items = rich_state_document(principals)["tasks"]
    sent = {value for spec in informative_filters(items) for value in spec.query_pairs()}
    held = {item["task"] for item in items}
    prefixes = {(n, v) for n, v in sent if v != "" and v not in held and n == "tasks"}
    assert ("tasks", "") in sent and prefixes
    assert near_misses("abc") == ("ab", "", "a", "abcc", "abc-x")


# --- 2. strict integers --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["controlled", "observed"])
def test_an_integral_float_for_an_integer_is_caught(mode: str) -> None:
    with engine_against(mutant_config("contract-total-as-float"), mode) as harness:
        result, _ = check(harness, "CONTRACT-200-BODY")
    assert result.outcome == "failed", result.detail
    assert "'total': 100.0" in result.detail, result.detail


# --- 4. detection speed of the other filter mutants ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "requirement_id"),
    [
        ("filter-ignores-tasks", "FILTER-SOUNDNESS"),
        ("filter-ignores-operations", "FILTER-SOUNDNESS"),
        ("filter-ignores-services", "FILTER-SOUNDNESS"),
        ("filter-ignores-status", "FILTER-SOUNDNESS"),
        ("filter-ignores-users", "FILTER-SOUNDNESS"),
        ("filter-or-across-fields", "FILTER-OR-AND"),
        ("filter-and-within-field", "FILTER-OR-AND"),
        ("filter-last-repeated-only", "FILTER-ORDER-REPEATS"),
        ("filter-first-repeated-only", "FILTER-ORDER-REPEATS"),
        ("filter-no-percent-decoding", "FILTER-COMPLETENESS"),
    ],
)
def test_filter_mutants_are_caught_within_a_few_requests(name: str, requirement_id: str) -> None:
    with engine_against(mutant_config(name), "controlled") as harness:
        result, sent = check(harness, requirement_id)
    assert result.outcome == "failed", result.detail
    assert sent <= FAST, (sent, result.detail)


@pytest.mark.parametrize("name", ["filter-ignores-status", "filter-ignores-users"])
def test_ignored_fields_are_caught_fast_on_a_big_observed_universe(name: str) -> None:
    # 1500 tasks: a single-status filter ignored is the empty filter, over the cap (a 500);
    # the informative ANDs keep the answer a list.
    with engine_against(mutant_config(name), "observed") as harness:
        result, sent = check(harness, "FILTER-SOUNDNESS")
    assert result.outcome == "failed", result.detail
    assert sent <= FAST, (sent, result.detail)


# --- the faithful server passes the same checks --------------------------------------------------

FILTER_CHECKS = (
    "FILTER-EMPTY",
    "FILTER-SOUNDNESS",
    "FILTER-COMPLETENESS",
    "FILTER-OR-AND",
    "FILTER-ORDER-REPEATS",
    "FILTER-EXACT-ENCODED",
    "FILTER-DETERMINISTIC",
    "CONTRACT-200-BODY",
)


@pytest.mark.parametrize("mode", ["controlled", "observed"])
def test_faithful_server_passes(mode: str) -> None:
    with engine_against(ServerConfig(), mode) as harness:
        results = {rid: check(harness, rid)[0] for rid in FILTER_CHECKS}
    failed = {rid: r.detail for rid, r in results.items() if r.outcome != "passed"}
    assert not failed, failed
