"""Run engine checks in-process against a reference server with a given Behaviour."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from snapconform.config import Credentials, RunConfig
from snapconform.engine.audit import ResponseAudit
from snapconform.engine.harness import Harness
from snapconform.engine.requirements import requirement
from snapconform.engine.verdicts import CheckResult
from snapconform.selftest.worker import cell_state
from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    NOPRIVS_PASSWORD,
    NOPRIVS_USERNAME,
)
from snapconform.server.runner import ServerHandle, serve_in_thread
from snapconform.state import State


def reach_options(
    mode: str, handle: ServerHandle, state_file: Path | None = None
) -> dict[str, Any]:
    """How a run in ``mode`` reaches the reference server behind ``handle``: its control
    endpoint (controlled), or the documented administrator and unprivileged principal (declared
    and observed; declared also names its ``state_file``)."""
    if mode == "controlled":
        return {"control_url": handle.control_url}
    return {
        "credentials": Credentials(ADMIN_USERNAME, ADMIN_PASSWORD),
        "unprivileged": Credentials(NOPRIVS_USERNAME, NOPRIVS_PASSWORD),
        "state_file": state_file,
    }


def mode_universe(mode: str, tmp_path: Path, seed: int = 0) -> tuple[State, Path | None]:
    """The universe a selftest cell's server starts from in ``mode`` (``worker.cell_state``)
    and, in declared mode, its state file written under ``tmp_path``."""
    state, state_text = cell_state(mode, seed)
    if state_text is None:
        return state, None
    state_file = tmp_path / "state.json"
    state_file.write_text(state_text, encoding="utf-8")
    return state, state_file


@contextmanager
def harness_for(
    behaviour: Behaviour | None = None,
    *,
    mode: str = "controlled",
    seed: int = 1,
    max_examples: int = 4,
    server: dict[str, Any] | None = None,
    run: dict[str, Any] | None = None,
    background: Callable[[ServerHandle], AbstractContextManager[Any]] | None = None,
) -> Iterator[Harness]:
    """A Harness against a loopback reference server running ``behaviour`` in ``mode``.

    ``background(handle)`` is entered once the server listens and before the harness opens
    (e.g. a thread that changes the server's data the way a shared vCenter does).
    """
    server_config = ServerConfig(behaviour=behaviour or Behaviour(), **(server or {}))
    with (
        serve_in_thread(server_config, "127.0.0.1", 0) as handle,
        (background or (lambda _: nullcontext()))(handle),
    ):
        options: dict[str, Any] = {
            "base_url": handle.base_url,
            "max_examples": max_examples,
            "seed": seed,
            **reach_options(mode, handle),
        }
        options.update(run or {})
        config = RunConfig(**options)
        control = handle.control_url if mode == "controlled" else None
        harness = Harness.open(config, base_url=handle.base_url, control_url=control, seed=seed)
        try:
            yield harness
        finally:
            harness.close()


def run_checks(harness: Harness, ids: Iterable[str]) -> dict[str, CheckResult]:
    return {rid: requirement(rid).check(harness) for rid in ids}


def audit_verdict(audit: ResponseAudit, requirement_id: str, what: str = "") -> CheckResult:
    """A run-wide requirement's verdict over what ``audit`` judged, settled as a run settles
    it: its check asks the audit (``after_run``, which raises ``Violation`` on a finding) and
    ``Requirement.check`` makes the failed result; the contract probe is left out."""
    judged = dataclasses.replace(
        requirement(requirement_id), function=lambda h, req: h.audit.result(req.id, what)
    )
    return judged.check(SimpleNamespace(audit=audit, redactor=audit.redactor))  # type: ignore[arg-type]
