"""The engine's pytest plugin: the conformance suite as pytest tests, on the run's session.

A thin front end on :class:`snapconform.run.session.RunSession`, the same session
``snapconform run`` drives. Loaded by the ``snapconform`` plugin when a ``--snapconform-*``
option is given (``pytest -p snapconform.pytest_plugin --snapconform-base-url ...``). The options
are the settings of ``snapconform run`` (:data:`snapconform.settings.SETTINGS`, each as
``--snapconform-<key>``; secrets from the environment only, never argv), resolved the same way:
defaults < ``snapconform.toml`` or ``[tool.snapconform]`` < ``SNAPCONFORM_*`` < options, and the
same default rate limit for a remote target. Each test judges one requirement through the
session; the session's sessions on the target are deleted when pytest ends.

Under pytest-xdist the plugin refuses with one line: each worker would open its own session,
multiplying the budget and the rate limit, splitting the response audit and pushing universes
to one mock at the same time.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from snapconform.engine.harness import Harness, HarnessError
from snapconform.engine.requirements import EPIC, SPEC_URL, Requirement
from snapconform.engine.verdicts import CheckResult, outcome_label
from snapconform.run.runner import effective_rate_limit, usage_problem
from snapconform.run.session import RunSession, run_order
from snapconform.settings import SETTINGS, SettingsError, resolve_run_config

SESSION_KEY = pytest.StashKey["RunSession"]()
OPTION_PREFIX = "--snapconform-"
#: Settings that are never options: secrets come from the environment only.
_OPTIONS = tuple(setting for setting in SETTINGS if not setting.secret)


def _dest(key: str) -> str:
    return f"snapconform_{key}"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("snapconform-engine", "snapconform conformance run")
    for setting in _OPTIONS:
        flag = OPTION_PREFIX + setting.key.replace("_", "-")
        if setting.key == "insecure":
            group.addoption(flag, dest=_dest(setting.key), action="store_true", default=None)
        else:
            group.addoption(flag, dest=_dest(setting.key), default=None, help=setting.help)


def run_config_from(config: pytest.Config) -> Any:
    """The RunConfig of ``snapconform run`` for these options, the environment and the files
    (the invocation directory's ``snapconform.toml`` or ``[tool.snapconform]``)."""
    flags = {setting.key: config.getoption(_dest(setting.key)) for setting in _OPTIONS}
    run_config = resolve_run_config(
        flags, os.environ, Path(config.invocation_params.dir), warn=lambda message: None
    )
    return replace(run_config, rate_limit=effective_rate_limit(run_config))


def _under_xdist(config: pytest.Config) -> bool:
    if hasattr(config, "workerinput"):
        return True
    processes = config.getoption("numprocesses", None)
    return bool(processes) and processes != "0"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(req): the snapconform requirement a test checks"
    )
    if _under_xdist(config):
        raise pytest.UsageError(
            "snapconform: the conformance suite cannot run under pytest-xdist (-n): each worker"
            " would open its own session and multiply the request budget and the rate limit;"
            " run it without -n (or -n 0), or use `snapconform run`"
        )
    try:
        run_config = run_config_from(config)
    except SettingsError as exc:
        raise pytest.UsageError(f"snapconform: {exc}") from None
    problem = usage_problem(run_config)
    if problem is not None:
        raise pytest.UsageError(f"snapconform: {problem}")
    seed = (
        run_config.seed if run_config.seed is not None else random.SystemRandom().randrange(2**31)
    )
    config.stash[SESSION_KEY] = RunSession(run_config, seed)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _one_item_per_requirement(config, items)
    position = {r.id: index for index, r in enumerate(run_order(filter(None, map(_of, items))))}
    items.sort(key=lambda item: position.get(getattr(_of(item), "id", ""), len(position)))


def pytest_collection_finish(session: pytest.Session) -> None:
    # The plan divides the budget among the requirements this session runs (-k, a marker).
    run_session = session.config.stash.get(SESSION_KEY, None)
    selected = [r for r in map(_of, session.items) if r is not None]
    if run_session is None or not selected or run_session.harness is not None:
        return
    session.config.stash[SESSION_KEY] = RunSession(
        run_session.config, run_session.seed, requirements=tuple(selected)
    )


def _one_item_per_requirement(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each requirement runs once, even when a second copy of the suite was collected (e.g. a
    checkout's tests/conformance next to the installed snapconform/_suite): the first stays."""
    seen: set[str] = set()
    duplicates = []
    for item in items:
        requirement = _of(item)
        if requirement is None:
            continue
        if requirement.id in seen:
            duplicates.append(item)
        seen.add(requirement.id)
    if duplicates:
        config.hook.pytest_deselected(items=duplicates)
        dropped = set(map(id, duplicates))
        items[:] = [item for item in items if id(item) not in dropped]


def _of(item: pytest.Item) -> Requirement | None:
    marker = item.get_closest_marker("requirement")
    if marker is None or not marker.args or not isinstance(marker.args[0], Requirement):
        return None
    return marker.args[0]


@pytest.fixture(scope="session")
def snapconform_harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """The session's harness (pre-flight and login on first use); closed when pytest ends."""
    run_session = request.config.stash[SESSION_KEY]
    try:
        harness = run_session.open()
    except HarnessError as exc:
        pytest.exit(f"snapconform: no verdict possible: {exc}", returncode=2)
    try:
        yield harness
    finally:
        run_session.close()


@pytest.fixture
def snapconform_check(request: pytest.FixtureRequest, snapconform_harness: Harness) -> Any:
    """``snapconform_check(requirement)``: judge it through the session, as this test."""

    def check(requirement: Requirement) -> None:
        run_session = request.config.stash[SESSION_KEY]
        verify(run_session.judge(requirement).result, requirement)

    return check


def verify(result: CheckResult, requirement: Requirement) -> None:
    """A requirement's result as this test's outcome (with Allure labels when allure runs)."""
    _label(requirement)
    if result.outcome == "failed":
        pytest.fail(f"{requirement.id}: {result.detail}", pytrace=False)
    if not result.decided:
        # JUnit and Allure show these as skipped: the message says which kind, and why.
        label = outcome_label(result.outcome, result.reason)
        pytest.skip(f"{requirement.id}: {label}: {result.detail}")


def _label(requirement: Requirement) -> None:
    try:
        import allure
    except ImportError:  # allure-pytest is a dependency; tolerate its absence all the same
        return
    allure.dynamic.epic(EPIC)
    allure.dynamic.feature(requirement.feature)
    allure.dynamic.story(requirement.title)
    allure.dynamic.title(f"{requirement.id}: {requirement.title}")
    allure.dynamic.severity(requirement.severity)
    allure.dynamic.label("requirement_id", requirement.id)
    allure.dynamic.label("level", requirement.level)
    allure.dynamic.link(SPEC_URL, name="spec")


__all__ = ["run_config_from", "verify"]
