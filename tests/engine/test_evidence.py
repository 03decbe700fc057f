"""A failing filter check carries its evidence: expected/actual ids, counterexample, exchange.

The broken server ignores the ``status`` filter. In-process, the CheckResult must carry the id
sets of the minimal example; through `snapconform run`'s Allure writer, the Allure results
must hold the id diff attachment and the summary's detail must stay one line.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from snapconform.config import RunConfig
from snapconform.engine.requirements import requirement
from snapconform.report.allure_steps import DIFF_ATTACHMENT, EXPECTED_IDS_ATTACHMENT
from snapconform.run.runner import run
from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour
from snapconform.server.runner import serve_in_thread
from tests.engine.helpers import harness_for, run_checks
from tests.engine.test_broken_servers import FirstValueOnly

pytestmark = pytest.mark.slow


class IgnoresStatus(Behaviour):
    def field_matches(self, field_name: str, wanted: Sequence[str], actual: Any) -> bool:
        if field_name == "status":
            return True
        return super().field_matches(field_name, wanted, actual)


def test_failed_filter_check_carries_id_sets_and_counterexample() -> None:
    with harness_for(IgnoresStatus(), max_examples=6, seed=5) as harness:
        results = run_checks(harness, ["FILTER-SOUNDNESS"])
        passwords = [p for _, p in (harness.principals.privileged, harness.principals.limited)]  # type: ignore[union-attr]
    soundness = results["FILTER-SOUNDNESS"]
    assert soundness.outcome == "failed", soundness.detail
    assert soundness.expected_ids is not None and soundness.actual_ids is not None
    # the extra tasks are the ones the server should have filtered out by status
    assert soundness.actual_ids - soundness.expected_ids
    counterexample = soundness.counterexample
    assert counterexample is not None and "status" in counterexample["filter"]
    assert "status=" in counterexample["query"]
    universe = counterexample["universe"]
    assert universe["mode"] == "controlled"
    # shrunk: a small universe, shown whole, and the wrongly returned task is in it
    assert universe["tasks"] <= 12 and len(universe["items"]) == universe["tasks"]
    assert soundness.exchange is not None and soundness.exchange.status == 200
    assert soundness.curl is not None and soundness.curl.startswith("curl -sS")
    with harness_for(FirstValueOnly(), max_examples=6, seed=5) as harness:
        results |= run_checks(harness, ["FILTER-COMPLETENESS", "FILTER-OR-AND"])
        passwords += [p for _, p in (harness.principals.privileged, harness.principals.limited)]  # type: ignore[union-attr]
    for rid in ("FILTER-COMPLETENESS", "FILTER-OR-AND"):
        result = results[rid]
        assert result.outcome == "failed", f"{rid}: {result.detail}"
        assert result.expected_ids is not None and result.actual_ids is not None
        # the server dropped tasks matching a second value: expected has more than actual
        assert result.expected_ids - result.actual_ids, rid
        assert result.counterexample is not None and result.exchange is not None
    assert "parts" in results["FILTER-OR-AND"].counterexample  # type: ignore[operator]
    for result in results.values():
        assert "\n" not in result.detail and "seed 5" in result.detail
        assert result.exchange is not None
        recorded = result.exchange.to_document()
        blob = json.dumps([result.detail, result.counterexample, recorded, result.curl])
        assert not any(p in blob for p in passwords)


def test_allure_results_hold_the_id_diff(tmp_path: Path) -> None:
    # 9.0: sessions exist, so the evidence's curl line carries the (masked) session header.
    server_config = ServerConfig(behaviour=IgnoresStatus(), api_version="9.0")
    with serve_in_thread(server_config, "127.0.0.1", 0) as server:
        config = RunConfig(
            api_version="9.0",
            base_url=server.base_url,
            control_url=server.control_url,
            report_dir=tmp_path,
            max_examples=4,
            seed=9,
        )
        done = run(config, out=io.StringIO(), requirements=[requirement("FILTER-SOUNDNESS")])
    assert done.exit_code == 1, done.summary
    (soundness,) = [r for r in done.summary["requirements"] if r["id"] == "FILTER-SOUNDNESS"]
    detail = soundness["detail"]
    assert "\n" not in detail and "seed 9" in detail and "curl -sS" in detail
    results = [
        json.loads(path.read_text()) for path in (tmp_path / "allure-results").glob("*-result.json")
    ]
    (failed,) = [r for r in results if r["status"] == "failed"]
    attachments = {a["name"]: a["source"] for a in _attachments(failed)}
    assert DIFF_ATTACHMENT in attachments and EXPECTED_IDS_ATTACHMENT in attachments
    diff = (tmp_path / "allure-results" / attachments[DIFF_ATTACHMENT]).read_text()
    assert "unexpected (returned, not expected):" in diff
    counterexample = json.loads(
        (tmp_path / "allure-results" / attachments["minimal counterexample"]).read_text()
    )
    assert counterexample["hypothesis_seed"] == 9 and "status" in counterexample["query"]["filter"]
    assert counterexample["curl"].startswith("curl")
    every = " ".join(p.read_text(errors="replace") for p in (tmp_path / "allure-results").iterdir())
    assert "vmware-api-session-id: ***" in every or "$SNAPCONFORM_SESSION_ID" in every


def _attachments(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(node.get("attachments", []))
    for step in node.get("steps", []):
        found += _attachments(step)
    return found
