"""Certify Prism mocks of the contract, as a mock author who starts from it would.

Prism's static mode serves the contract's first example of each response whatever the request:
its bodies must be schema-valid (the examples of contracts/openapi.yaml), so snapconform passes
every contract requirement and fails, precisely, the filter and credential requirements a mock
that ignores its request cannot meet. Without examples (the contract before issue 25) the same
mock breaks the contract itself. Prism's dynamic mode (``-d``)
invents a new body for every request. In every case the run ends with a verdict, never a crash.
docs/certifying-mocks.md ("Certify a Prism mock") quotes these runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from snapconform.contracts import ERROR_SCHEMAS_BY_STATUS, Contracts, default_contracts
from tests.prism.prism_server import CONTRACT, ROOT, prism_mock

TASKS = "/api/snapservice/tasks"
SESSIONS = "/api/snapservice/sessions"
USERNAME = "administrator@vsphere.local"
UNPRIVILEGED = "readonly@vsphere.local"
#: A Prism mock accepts any credentials; these only have to be present.
ENV = {"SNAPCONFORM_PASSWORD": "prism-accepts-any", "SNAPCONFORM_UNPRIVILEGED_PASSWORD": "any"}
SEED = "25"
#: Verdicts and their exit statuses: a crash or "no verdict possible" (2) is neither.
VERDICT_EXIT = {"conformant": 0, "non-conformant": 1, "incomplete": 3}

#: What a mock serving one fixed body to every request cannot meet: filters that return tasks
#: not matching them, and credentials (wrong, bogus, unprivileged) that are accepted.
STATIC_MOCK_CANNOT_MEET = frozenset(
    {"FILTER-SOUNDNESS", "AUTH-BOGUS-SESSION", "AUTH-WRONG-PASSWORD", "AUTH-PRIVILEGE"}
)
#: Requirements the static mock may fail besides: other filter semantics (a fixed body matches
#: no filter), the session requirements, and fuzzing (Prism answers invalid filters with 200).
STATIC_MOCK_MAY_FAIL = STATIC_MOCK_CANNOT_MEET | {"AUTH-SESSION-ENDED", "FUZZ-SCHEMATHESIS"}
#: What the examples of contracts/openapi.yaml make a static mock meet (besides CONTRACT-*).
STATIC_MOCK_MEETS = frozenset(
    {"AUTH-NO-CREDENTIALS", "AUTH-CHALLENGE", "AUTH-WWW-AUTHENTICATE", "CAP-NEVER-MORE"}
)


@dataclass(frozen=True)
class Run:
    """One `snapconform run` against a Prism mock: exit status, output, summary.json."""

    returncode: int
    stdout: str
    stderr: str
    summary: dict[str, Any]

    def outcomes(self) -> dict[str, str]:
        return {r["id"]: r["outcome"] for r in self.summary["requirements"]}

    def with_outcome(self, outcome: str) -> set[str]:
        return {rid for rid, found in self.outcomes().items() if found == outcome}

    def detail(self, requirement: str) -> str:
        found = next(r for r in self.summary["requirements"] if r["id"] == requirement)
        return str(found.get("detail") or found.get("reason") or "")

    def __str__(self) -> str:
        return f"exit {self.returncode}\n{self.stdout[-6000:]}\n{self.stderr[-3000:]}"


def certify(base_url: str, workdir: Path, *options: str) -> Run:
    """`snapconform run` in observed mode against ``base_url`` (both principals given)."""
    report_dir = workdir / "reports"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    command = [
        *(sys.executable, "-m", "snapconform", "run", "--base-url", base_url),
        *("--username", USERNAME, "--unprivileged-username", UNPRIVILEGED),
        *("--report-dir", str(report_dir), "--seed", SEED, *options),
    ]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**environment, **ENV},
        cwd=workdir,
        timeout=1800,  # a bound against a hang, far above a run on a loaded machine
        check=False,
    )
    summary_path = report_dir / "summary.json"
    assert summary_path.exists(), f"no summary.json: {completed.stdout}{completed.stderr}"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return Run(completed.returncode, completed.stdout, completed.stderr, summary)


def assert_a_verdict(run: Run, contracts: Contracts) -> None:
    """The run ended with a verdict and its exit status: no traceback, no "no verdict" (2)."""
    assert "Traceback" not in run.stdout + run.stderr, run
    assert contracts.errors("summary", run.summary) == [], run
    assert run.returncode == VERDICT_EXIT.get(run.summary["verdict"]), run
    assert run.summary["mode"] == "observed", run


@pytest.fixture(scope="module")
def contracts() -> Contracts:
    return default_contracts()


@pytest.fixture(scope="module")
def static_run(static_prism: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return certify(static_prism, tmp_path_factory.mktemp("certify-static"))


def without_examples(workdir: Path) -> Path:
    """contracts/openapi.yaml as it was before issue 25: no example, no WWW-Authenticate."""
    document = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    document["components"].pop("examples")
    document["components"].pop("headers")
    for item in document["paths"].values():
        for operation in item.values():
            for response in operation["responses"].values():
                response.pop("headers", None)
                for media in response.get("content", {}).values():
                    media.pop("examples", None)
    shutil.copytree(CONTRACT.parent / "schemas", workdir / "schemas")
    path = workdir / "openapi.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def without_examples_run(prism_cli: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    workdir = tmp_path_factory.mktemp("certify-without-examples")
    with prism_mock(workdir, document=without_examples(workdir)) as base_url:
        return certify(base_url, workdir, "--max-examples", "10")


@pytest.fixture(scope="module")
def dynamic_run(dynamic_prism: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return certify(dynamic_prism, tmp_path_factory.mktemp("certify-dynamic"), "--max-examples", "3")


# ------------------------------------------------------------------ the static mock's bodies


def _answers(base_url: str) -> Iterator[tuple[str, int, httpx.Response]]:
    """(call, documented status, answer) for every documented response of the list call.

    Prism serves another documented status on request (``Prefer: code=N``): each must come
    with the body the contract documents for it.
    """
    basic = ("administrator@vsphere.local", "any")
    with httpx.Client(base_url=base_url, timeout=60) as client:
        yield "GET tasks, no credentials", 401, client.get(TASKS)
        yield "GET tasks", 200, client.get(TASKS, auth=basic)
        for status in ERROR_SCHEMAS_BY_STATUS:
            answer = client.get(TASKS, auth=basic, headers={"Prefer": f"code={status}"})
            yield f"GET tasks, Prefer: code={status}", status, answer


def test_the_static_mock_serves_schema_valid_bodies(
    static_prism: str, contracts: Contracts
) -> None:
    # Issue 25: Prism 5.16 answered every 401 with error_type ERROR and every 200 with a task
    # that breaks the status rules; the contract's examples are what it serves now.
    for call, status, answer in _answers(static_prism):
        assert answer.status_code == status, (call, answer.text)
        schemas = ERROR_SCHEMAS_BY_STATUS.get(status, ("ListResult",))
        body = answer.json()
        assert any(contracts.errors(name, body) == [] for name in schemas), (call, body)
        if status == 401:
            assert body["error_type"] == "UNAUTHENTICATED" and isinstance(body["challenge"], str)
            assert answer.headers["www-authenticate"] == body["challenge"]
    with httpx.Client(base_url=static_prism, timeout=60) as client:
        token = client.post(SESSIONS, auth=(USERNAME, "any"))
        assert token.status_code == 201 and contracts.errors("SessionToken", token.json()) == []
        info = client.get(SESSIONS, headers={"vmware-api-session-id": token.json()})
        assert info.status_code == 200 and contracts.errors("SessionInfo", info.json()) == []


# ------------------------------------------------------------------ certifying the static mock


def test_the_static_mock_is_non_conformant_for_what_it_cannot_do(
    static_run: Run, contracts: Contracts
) -> None:
    assert_a_verdict(static_run, contracts)
    assert static_run.summary["verdict"] == "non-conformant", static_run
    failed = static_run.with_outcome("failed")
    assert failed >= STATIC_MOCK_CANNOT_MEET, static_run
    other_filters = {rid for rid in failed if rid.startswith("FILTER-")}
    assert failed <= STATIC_MOCK_MAY_FAIL | other_filters, static_run
    assert "NON-CONFORMANT" in static_run.stdout
    for requirement in failed:
        assert requirement in static_run.stdout, (requirement, static_run)
    # The findings say what the mock did: it accepted what it must refuse.
    assert "HTTP 200" in static_run.detail("AUTH-WRONG-PASSWORD"), static_run
    assert "HTTP 200" in static_run.detail("AUTH-PRIVILEGE"), static_run
    assert "do not match" in static_run.detail("FILTER-SOUNDNESS"), static_run


def test_the_static_mock_meets_the_contract_requirements(static_run: Run) -> None:
    outcomes = static_run.outcomes()
    contract = {rid for rid in outcomes if rid.startswith("CONTRACT-")}
    assert len(contract) >= 10, outcomes
    not_passed = {rid: outcomes[rid] for rid in contract | STATIC_MOCK_MEETS}
    assert {rid: found for rid, found in not_passed.items() if found != "passed"} == {}, static_run


def test_without_examples_the_mock_breaks_the_contract(
    without_examples_run: Run, contracts: Contracts
) -> None:
    # The contract checks can fail: from the contract without examples Prism invents a 401
    # with error_type ERROR (the first value of the shared enum) and tasks breaking the
    # status rules (FAILED without end_time).
    run = without_examples_run
    assert_a_verdict(run, contracts)
    failed = run.with_outcome("failed")
    assert {"CONTRACT-ERROR-BODY", "CONTRACT-STATUS-CONDITIONAL"} <= failed, run
    assert "'ERROR'" in run.detail("CONTRACT-ERROR-BODY"), run


# ------------------------------------------------------------------ the dynamic mock


def test_the_dynamic_mock_gets_a_verdict(dynamic_run: Run, contracts: Contracts) -> None:
    # `prism mock -d` invents every body: tasks that break the status rules, credentials that
    # are never checked. The run must end with a verdict, and not "conformant".
    assert_a_verdict(dynamic_run, contracts)
    assert dynamic_run.summary["verdict"] == "non-conformant", dynamic_run
    failed = dynamic_run.with_outcome("failed")
    assert {"CONTRACT-STATUS-CONDITIONAL", "AUTH-WRONG-PASSWORD"} <= failed, dynamic_run
    # Data invented per request is no evidence for the filter requirements that compare reads:
    # a repeated request differs (failed), the visible set is never the same twice (not passed).
    outcomes = dynamic_run.outcomes()
    assert outcomes["FILTER-DETERMINISTIC"] == "failed", dynamic_run
    assert outcomes["FILTER-EMPTY"] != "passed", dynamic_run
    assert outcomes["FILTER-COMPLETENESS"] != "passed", dynamic_run


def test_the_dynamic_mock_passes_no_filter_requirement(dynamic_run: Run) -> None:
    # Issue 23: a mock that invents its data must not pass a filter MUST. Its ids change between
    # two identical reads (FILTER-DETERMINISTIC), the tasks it lists do not match the filter,
    # and what it leaves out is never confirmed (not checked, never passed).
    musts = {r["id"]: r for r in dynamic_run.summary["requirements"] if r["level"] == "MUST"}
    passed = {
        rid for rid, r in musts.items() if rid.startswith("FILTER-") and r["outcome"] == "passed"
    }
    assert passed == set(), dynamic_run
    assert musts["FILTER-DETERMINISTIC"]["outcome"] == "failed", dynamic_run


def test_prism_is_pinned_exactly() -> None:
    manifest = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    pinned = manifest["devDependencies"]["@stoplight/prism-cli"]
    assert pinned[0].isdigit(), f"Prism must be pinned to one version, not {pinned!r}"
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/@stoplight/prism-cli"]["version"] == pinned
