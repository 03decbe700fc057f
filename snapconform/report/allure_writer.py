"""Allure results written directly by the run (allure-python-commons, no pytest, no globals).

:class:`AllureWriter` writes one ``*-result.json`` per judged requirement into an
``allure-results`` directory through its own ``AllureFileLogger``: labels (epic, feature, story,
severity, requirement id, level), the spec link, the check's last exchanges as steps (request,
response and a curl line each, masked again), the detail, the expected/actual task ids and their
diff, and the minimal counterexample. Nothing goes through ``allure``'s process-wide plugin
manager, so two runs in one process (selftest cells in threads) never mix their results.
:func:`snapconform.report.results.finalize_allure_results` adds categories and environment.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from allure_commons.logger import AllureFileLogger
from allure_commons.model2 import (
    Attachment,
    ExecutableItem,
    Label,
    Link,
    StatusDetails,
    TestResult,
    TestStepResult,
)
from allure_commons.types import AttachmentType

from snapconform.engine.requirements import EPIC, SPEC_URL, Requirement
from snapconform.engine.verdicts import CheckResult, outcome_label
from snapconform.redaction import mask_text
from snapconform.report.allure_steps import (
    ACTUAL_IDS_ATTACHMENT,
    COUNTEREXAMPLE_ATTACHMENT,
    CURL_ATTACHMENT,
    DIFF_ATTACHMENT,
    EXPECTED_IDS_ATTACHMENT,
    curl_line,
    exchange_title,
    pretty_json,
    request_document,
    response_document,
    set_diff_text,
    view_exchange,
)

#: Exchanges attached per check: the last ones (after shrinking, the failing replay is last).
MAX_ATTACHED_EXCHANGES = 20
#: CheckResult outcome -> Allure status (a requirement not judged is "skipped", its message says
#: which kind and why; snapconform.report.results categorises it).
ALLURE_STATUS = {
    "passed": "passed",
    "failed": "failed",
    "not_checked": "skipped",
    "not_applicable": "skipped",
}


class AllureWriter:
    """Writes one run's Allure results into ``results_dir`` (emptied first when ``clean``)."""

    def __init__(self, results_dir: Path, *, clean: bool = True, secrets: Sequence[str] = ()):
        self.results_dir = results_dir
        self._logger = AllureFileLogger(str(results_dir), clean=clean)
        self._secrets = tuple(secrets)

    # -- building blocks -----------------------------------------------------------------

    def attach(self, node: ExecutableItem, body: str, name: str, kind: AttachmentType) -> None:
        source = f"{uuid.uuid4()}-attachment.{kind.extension}"
        write_new_file(self.results_dir / source, body.encode("utf-8"))
        node.attachments.append(Attachment(name=name, source=source, type=kind.mime_type))

    @staticmethod
    def step(parent: ExecutableItem, title: str, at_ms: int) -> TestStepResult:
        step = TestStepResult(
            name=title, status="passed", stage="finished", start=at_ms, stop=at_ms
        )
        parent.steps.append(step)
        return step

    def exchange_step(
        self, parent: ExecutableItem, exchange: Any, *, base_url: str | None, at_ms: int
    ) -> None:
        """One exchange as a step: request, response (pretty JSON) and a curl line."""
        view = view_exchange(exchange, self._secrets, base_url=base_url)
        step = self.step(parent, exchange_title(view), at_ms)
        self.attach(step, pretty_json(request_document(view)), "request", AttachmentType.JSON)
        self.attach(step, pretty_json(response_document(view)), "response", AttachmentType.JSON)
        self.attach(step, curl_line(view), CURL_ATTACHMENT, AttachmentType.TEXT)

    # -- one requirement -----------------------------------------------------------------

    def write_requirement(
        self,
        requirement: Requirement,
        result: CheckResult,
        exchanges: Iterable[Any] = (),
        *,
        base_url: str | None,
        seed: int | None,
        start_ms: int,
        stop_ms: int,
    ) -> Path:
        """Write the result of ``requirement``'s check; return the results directory."""
        test = TestResult(
            uuid=str(uuid.uuid4()),
            historyId=hashlib.md5(requirement.id.encode()).hexdigest(),
            testCaseId=hashlib.md5(requirement.check_name.encode()).hexdigest(),
            name=f"{requirement.id} {requirement.title}",
            fullName=f"snapconform.engine.checks.{requirement.check_name}",
            description=(
                f"{requirement.source}\n\nCheck: snapconform.engine.checks.{requirement.check_name}"
            ),
            labels=[
                Label(name="epic", value=EPIC),
                Label(name="feature", value=requirement.feature),
                Label(name="story", value=f"{requirement.id}: {requirement.title}"),
                Label(name="severity", value=requirement.severity),
                Label(name="requirement_id", value=requirement.id),
                Label(name="level", value=requirement.level),
                *([Label(name="hypothesis_seed", value=str(seed))] if seed is not None else []),
            ],
            links=[Link(type="link", url=SPEC_URL, name="spec")],
            status=ALLURE_STATUS[result.outcome],
            statusDetails=StatusDetails(
                message=self._message(requirement, result), trace=self._trace(result)
            ),
            stage="finished",
            start=start_ms,
            stop=stop_ms,
        )
        self._evidence(test, result, list(exchanges), base_url=base_url, seed=seed, at_ms=stop_ms)
        self._logger.report_result(test)
        return self.results_dir

    def _message(self, requirement: Requirement, result: CheckResult) -> str | None:
        detail = mask_text(result.detail, self._secrets)
        if result.outcome == "passed":
            return None
        if result.outcome == "failed":
            return f"{requirement.id}: {detail}"
        return f"{requirement.id}: {outcome_label(result.outcome, result.reason)}: {detail}"

    @staticmethod
    def _trace(result: CheckResult) -> str | None:
        """Under a failure's message: expected versus actual task ids, as a readable diff."""
        evidence = result.evidence
        if evidence.expected_ids is None or evidence.actual_ids is None:
            return None
        return set_diff_text(sorted(evidence.expected_ids), sorted(evidence.actual_ids))

    def _evidence(
        self,
        test: TestResult,
        result: CheckResult,
        recorded: list[Any],
        *,
        base_url: str | None,
        seed: int | None,
        at_ms: int,
    ) -> None:
        """The check's last exchanges, its detail and its evidence (see module docstring)."""
        shown = recorded[-MAX_ATTACHED_EXCHANGES:]
        if len(recorded) > len(shown):
            self.step(test, f"{len(recorded) - len(shown)} earlier exchanges not shown", at_ms)
        for exchange in shown:
            self.exchange_step(test, exchange, base_url=base_url, at_ms=at_ms)
        detail = mask_text(result.detail, self._secrets)
        self.attach(test, detail, f"{result.outcome}: detail", AttachmentType.TEXT)
        evidence = result.evidence
        if evidence.expected_ids is not None and evidence.actual_ids is not None:
            expected, actual = sorted(evidence.expected_ids), sorted(evidence.actual_ids)
            self.attach(test, set_diff_text(expected, actual), DIFF_ATTACHMENT, AttachmentType.TEXT)
            self.attach(test, "\n".join(expected), EXPECTED_IDS_ATTACHMENT, AttachmentType.TEXT)
            self.attach(test, "\n".join(actual), ACTUAL_IDS_ATTACHMENT, AttachmentType.TEXT)
        failing = evidence.exchange
        if failing is not None:
            step = self.step(test, "failing exchange (minimal example)", at_ms)
            self.exchange_step(step, failing, base_url=base_url, at_ms=at_ms)
        if evidence.counterexample is not None:
            self._counterexample(
                test,
                evidence.counterexample,
                seed=seed,
                exchange=failing or (shown[-1] if shown else None),
                reason=detail if result.outcome == "failed" else None,
                base_url=base_url,
                curl=evidence.curl,
            )

    def _counterexample(
        self,
        test: TestResult,
        query: Mapping[str, Any] | str,
        *,
        seed: int | None,
        exchange: Any,
        reason: str | None,
        base_url: str | None,
        curl: str | None,
    ) -> None:
        """The minimal failing input: its query, the seed, why it fails, a curl line (rendered
        from the exchange, credentials from environment variables; else the engine's own)."""
        document: dict[str, Any] = {"query": query, "hypothesis_seed": seed}
        if reason:
            document["reason"] = reason
        if seed is not None:
            document["replay"] = f"snapconform run --seed {seed}"
        if exchange is not None:
            document["curl"] = curl_line(view_exchange(exchange, self._secrets, base_url=base_url))
        elif curl:
            document["curl"] = curl
        text = mask_text(pretty_json(document), self._secrets)
        self.attach(test, text, COUNTEREXAMPLE_ATTACHMENT, AttachmentType.JSON)


def write_new_file(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist) holding ``data``.

    allure-python-commons writes each attachment to a ``.tmp`` file and renames it, so that a
    reader watching the directory never sees half a file. snapconform's results are read after
    the run, and the rename made the kernel work per attachment about three times as costly (a
    run writes ~900 of them). ``O_EXCL``: a name that exists is an error, never overwritten.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
    finally:
        os.close(descriptor)
