"""The reference server passes in declared and observed mode; churn gives no false positive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from snapconform.engine.discovery import discover
from snapconform.engine.requirements import CATALOGUE
from snapconform.state import parse_state_document
from snapconform.strategies.states import HarnessPrincipals, state_documents
from tests.engine.helpers import harness_for, run_checks

pytestmark = pytest.mark.slow

#: Requirements whose check is not about the fuzzer (that one has its own tests in tests/fuzzing).
IDS = [r.id for r in CATALOGUE if r.feature != "fuzzing"]


def _failed(results: dict) -> dict[str, str]:
    return {rid: r.detail for rid, r in results.items() if r.outcome == "failed"}


@pytest.mark.parametrize("seed", [1, 2])
def test_reference_passes_observed_default_state(seed: int) -> None:
    with harness_for(mode="observed", seed=seed, max_examples=4) as harness:
        assert harness.mode == "observed"
        results = run_checks(harness, IDS)
    assert not _failed(results)
    # the 1500-task default universe is over the cap: discovery partitioned, the cap was judged
    assert results["CAP-OVER-LIMIT"].outcome == "passed"
    assert (results["AUTH-VISIBILITY"].outcome, results["AUTH-VISIBILITY"].reason) == (
        "not_applicable",
        "mode",
    )


@pytest.mark.parametrize("seed", [3, 4])
def test_no_false_positive_under_churn(seed: int) -> None:
    server = {"churn_rate": 20.0, "churn_interval": 0.05, "seed": seed}
    with harness_for(mode="observed", seed=seed, max_examples=4, server=server) as harness:
        results = run_checks(harness, IDS)
        before = harness.source.universe.by_id  # type: ignore[attr-defined]
        after = discover(harness.target).by_id
    assert not _failed(results)
    # the data really moved while the checks ran
    assert set(after) != set(before) or any(after[t] != before[t] for t in before if t in after)


def test_reference_passes_declared(tmp_path: Path) -> None:
    principals = HarnessPrincipals(
        ("admin@declared", "pw-admin-1"),
        ("noprivs@declared", "pw-noprivs-1"),
        ("limited@declared", "pw-limited-1"),
    )
    documents: list[dict] = []

    @settings(max_examples=1, database=None, suppress_health_check=list(HealthCheck))
    @given(state_documents(principals, min_tasks=5, max_tasks=40))
    def draw(document: dict) -> None:
        documents.append(document)

    draw()
    document = documents[0]
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(document), encoding="utf-8")
    from snapconform.config import Credentials

    run = {
        "state_file": state_file,
        "credentials": Credentials(*principals.privileged),
        "unprivileged": Credentials(*principals.unprivileged),
    }
    with harness_for(
        mode="declared", server={"state": parse_state_document(document)}, run=run, max_examples=4
    ) as harness:
        assert harness.mode == "declared"
        results = run_checks(harness, IDS)
    assert not _failed(results)
    assert results["AUTH-VISIBILITY"].outcome == "passed"
    assert results["FILTER-COMPLETENESS"].outcome == "passed"


def test_declared_mode_refuses_credentials_not_in_the_file(tmp_path: Path) -> None:
    from snapconform.config import Credentials
    from snapconform.engine.harness import HarnessError

    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps({"tasks": [], "principals": []}), encoding="utf-8")
    with (
        pytest.raises(HarnessError, match="do not match a principal"),
        harness_for(
            mode="declared",
            run={"state_file": state_file, "credentials": Credentials("x", "secret-pw")},
        ),
    ):
        pass


def test_observed_mode_catches_a_broken_server() -> None:
    from tests.engine.test_broken_servers import CaseInsensitiveIdentifiers, NoCap

    with harness_for(NoCap(), mode="observed", max_examples=3) as harness:
        results = run_checks(harness, ["CAP-OVER-LIMIT", "CAP-NEVER-MORE"])
    assert all(r.outcome == "failed" for r in results.values()), results
    with harness_for(CaseInsensitiveIdentifiers(), mode="observed", max_examples=3) as harness:
        results = run_checks(harness, ["FILTER-EXACT-ENCODED", "FILTER-SOUNDNESS"])
    assert any(r.outcome == "failed" for r in results.values()), results
