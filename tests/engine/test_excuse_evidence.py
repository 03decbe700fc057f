"""An excuse needs evidence (issue 23, items 1-3).

1. A documented alternative is the server's choice, made once: the decisive probe records it
   and a later answer choosing otherwise fails, naming both requests.
2. A refusal is excused only when the same filter without its documented reason is accepted.
3. Uncertainty is asked again and bounded: the same 5xx twice fails, a 5xx once is asked again
   and the second answer judged; ids that appear in one read and exist nowhere are invented
   data (FILTER-DETERMINISTIC); too few judged or too many uncertain cases: not checked.

Each over-excused server is a mutant of the library (``snapconform/mutants/evidence.py``);
``snapconform selftest`` runs them in every mode. Here the engine runs in-process.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest

from snapconform.contracts import default_contracts
from snapconform.engine.alternatives import QUESTIONS, ChoiceLog
from snapconform.engine.checks.common import Tally, finish
from snapconform.engine.requirements import requirement
from snapconform.server.behaviour import Behaviour, EndpointError, Reply
from snapconform.server.runtime import Runtime
from snapconform.server.variants import behaviour_with
from tests.engine.test_gaps_cap_auth import engine_against, outcome_of

# --- the choice log: one choice per rule --------------------------------------------------


def test_a_rule_keeps_its_first_choice_and_returns_it_on_a_contradiction() -> None:
    log = ChoiceLog()
    first = log.record("repeated-values", "deduplicated", "{a}", request="services=a&services=a")
    assert first is None
    earlier = log.record("repeated-values", "refused", "{b}", request="status=X&status=X")
    assert earlier is not None and earlier.choice == "deduplicated"
    assert earlier.request == "services=a&services=a"
    assert log.chosen_for("repeated-values") == "deduplicated"  # the first choice is held
    assert log.contradictions and "refused" in log.contradictions[0]


def test_unknown_identifiers_are_one_rule_per_field() -> None:
    log = ChoiceLog()
    assert log.record("unknown-identifiers", "inaccessible", "{t}", field="tasks") is None
    assert log.record("unknown-identifiers", "omitted", "{u}", field="users") is None
    assert log.chosen_for("unknown-identifiers", "tasks") == "inaccessible"
    assert log.chosen_for("unknown-identifiers", "users") == "omitted"
    assert log.choices("unknown-identifiers") == {"inaccessible", "omitted"}


def test_the_variants_document_has_one_choice_per_rule_and_fits_the_summary_schema() -> None:
    log = ChoiceLog()
    log.record("filter-without-tasks-or-services", "listed", "{op}", request="operations=a")
    log.record("filter-without-tasks-or-services", "refused", "{st}", request="status=A")
    document = log.document()
    assert set(document) == set(QUESTIONS)
    entry = document["filter-without-tasks-or-services"]
    assert [o["choice"] for o in entry["observed"]] == ["listed"]
    assert entry["contradictions"]
    schema = default_contracts().documents["summary"]["properties"]["variants"]
    jsonschema.validate(document, schema)


# --- the bound on uncertainty ---------------------------------------------------------------


def _harness(uncertain: int, minimum: int = 1) -> Any:
    return SimpleNamespace(
        uncertain={"FILTER-COMPLETENESS": [f"case {n}: changed" for n in range(uncertain)]},
        minimum_cases=lambda _rid: minimum,
    )


@pytest.mark.parametrize(
    ("asked", "judged", "uncertain", "outcome"),
    [
        (20, 20, 2, "passed"),  # a tenth: still passed, the detail says so
        (20, 18, 3, "not_checked"),  # more than a tenth uncertain
        (5, 0, 0, "not_checked"),  # nothing judged (every case refused)
        (1, 1, 0, "passed"),
    ],
)
def test_too_few_judged_or_too_many_uncertain_cases_are_not_checked(
    asked: int, judged: int, uncertain: int, outcome: str
) -> None:
    req = requirement("FILTER-COMPLETENESS")
    result = finish(_harness(uncertain), req, None, "fine", Tally(asked=asked, judged=judged))
    assert result.outcome == outcome, result.detail
    if outcome == "not_checked":
        assert result.reason == "uncertain"


# --- the mutants, in-process ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["controlled", "observed"])
def test_an_inconsistent_choice_fails_naming_both_requests(mode: str, tmp_path: Path) -> None:
    with engine_against("filter-refuses-status-pairs", mode, tmp_path) as harness:
        result = outcome_of(harness, "FILTER-COMPLETENESS")
    assert result.outcome == "failed", result.detail
    assert "no documented reason applies" in result.detail
    assert "GET ?" in result.detail  # the request that showed the target's choice
    assert "status=" in result.detail  # ... and the refused one (its curl line)


@pytest.mark.slow
def test_a_refusal_whose_reason_is_not_shown_fails(tmp_path: Path) -> None:
    """Every users filter refused: the unknown-user probe is refused too, but a filter with a
    known user and a service (no documented reason) must be listed."""
    with engine_against("filter-refuses-users", "declared", tmp_path) as harness:
        result = outcome_of(harness, "FILTER-COMPLETENESS")
        chosen = harness.choices.chosen_for("unknown-identifiers", "users")
    assert result.outcome == "failed", result.detail
    assert result.detail.startswith("filter {")
    assert "HTTP 400" in result.detail
    assert chosen == "refused"  # the probe's refusal was confirmed: {services: [s]} listed


class ServerErrorOnce(Behaviour):
    """Every other users filter fails with 500 Error once (a transient fault): asked again, it
    answers. Conformant: nothing may fail."""

    def __init__(self) -> None:
        self.failed: set[bytes] = set()

    def list_tasks(self, runtime: Runtime, headers: Mapping[str, str], raw_query: bytes) -> Reply:
        if b"users=" in raw_query and raw_query not in self.failed:
            self.failed.add(raw_query)
            return self.error_reply(
                EndpointError("ERROR", "com.vmware.snapservice.internal", "Internal error.")
            )
        return super().list_tasks(runtime, headers, raw_query)


@pytest.mark.slow
def test_the_same_5xx_twice_fails_and_a_5xx_once_is_asked_again(tmp_path: Path) -> None:
    with engine_against("filter-users-500", "observed", tmp_path) as harness:
        caught = outcome_of(harness, "FILTER-COMPLETENESS")
    assert caught.outcome == "failed", caught.detail
    assert "HTTP 500 ERROR twice" in caught.detail
    with engine_against(None, "observed", tmp_path, behaviour=ServerErrorOnce()) as harness:
        transient = outcome_of(harness, "FILTER-COMPLETENESS")
    assert transient.outcome == "passed", transient.detail


@pytest.mark.slow
def test_ids_that_change_between_identical_reads_fail_filter_deterministic(
    tmp_path: Path,
) -> None:
    with engine_against("filter-invents-task-ids", "observed", tmp_path) as harness:
        result = outcome_of(harness, "FILTER-DETERMINISTIC")
        completeness = outcome_of(harness, "FILTER-COMPLETENESS")
    assert result.outcome == "failed", result.detail
    assert "a second identical request gave another set" in result.detail
    assert completeness.outcome != "passed", completeness.detail


@pytest.mark.slow
@pytest.mark.parametrize(
    "variant",
    ["requires-tasks-or-services", "refuses-repeated-values", "refuses-unknown-identifiers"],
)
def test_a_refusing_variant_is_recorded_by_the_decisive_probe(variant: str, tmp_path: Path) -> None:
    with engine_against(None, "controlled", tmp_path, behaviour=behaviour_with([variant])) as h:
        result = outcome_of(h, "FILTER-COMPLETENESS")
        document = h.choices.document()
    assert result.outcome == "passed", result.detail
    refused = [
        o
        for entry in document.values()
        for o in entry["observed"]
        if o["choice"] == "refused" and o["decided_by"] == "probe"
    ]
    assert refused, document
    assert not any(entry["contradictions"] for entry in document.values())
