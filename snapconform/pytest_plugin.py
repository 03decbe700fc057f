"""The ``snapconform`` pytest plugin: the suite inside your own pytest.

    pytest -p snapconform.pytest_plugin --snapconform-base-url https://vc.example [-m ...]

There is no ``pytest11`` entry point: the other pytest sessions of an environment where
snapconform is installed never import this module. Named with ``-p`` (or in a project's
``addopts``), it stays inert unless a ``--snapconform-*`` option is on the command line: then, and
only then, it registers the engine's plugin (:data:`ENGINE_PLUGIN`: the options, the fixtures for
the target, the universe and the oracle), adds the conformance suite to what pytest collects
(the paths given, else the ini's ``testpaths`` or the working directory, as without it), and
marks every check with its requirement group (``snapconform_<feature>``) for ``-m``.

The suite runs on one :class:`snapconform.run.session.RunSession` (see
:mod:`snapconform.run.engine_plugin`); under pytest-xdist it refuses with one line.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

ENGINE_PLUGIN = "snapconform.run.engine_plugin"
OPTION_PREFIX = "--snapconform-"
FIXTURES_NAME = "snapconform-fixtures"
ACTIVE_KEY = pytest.StashKey[bool]()
#: the suite path this plugin appended to the command line (None: the user named it)
ADDED_SUITE_KEY = pytest.StashKey[Path]()
#: requirement feature (snapconform.engine.requirements.Feature) -> marker suffix
GROUP_MARKERS: dict[str, str] = {
    "contract": "contract",
    "filter semantics": "filter",
    "cap": "cap",
    "auth": "auth",
    "faults": "faults",
    "fuzzing": "fuzzing",
}


#: The suite inside an installed wheel (pyproject: tests/conformance force-included here).
PACKAGED_SUITE = Path(__file__).resolve().parent / "_suite"
#: The suite of a source checkout (an editable install has no packaged copy).
CHECKOUT_SUITE = Path(__file__).resolve().parent.parent / "tests" / "conformance"


def suite_dir(candidates: tuple[Path, ...] = (PACKAGED_SUITE, CHECKOUT_SUITE)) -> Path:
    """The conformance suite: the installed package's copy first, then this checkout's.

    When neither exists the checkout's path is returned, so that pytest names it as missing.
    """
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return CHECKOUT_SUITE


def _requested(args: list[str]) -> bool:
    """Whether the command line asks for snapconform (any ``--snapconform-*`` option)."""
    return any(arg.startswith(OPTION_PREFIX) for arg in args)


def _positional(args: list[str]) -> list[str]:
    return [arg for arg in args if not arg.startswith("-")]


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    # Before the final parse: the engine's options must exist when the command line is parsed,
    # and the suite must be among the paths pytest collects.
    if not _requested(args):
        return
    early_config.stash[ACTIVE_KEY] = True
    manager = early_config.pluginmanager
    if not manager.has_plugin(ENGINE_PLUGIN):
        manager.import_plugin(ENGINE_PLUGIN)
    suite = suite_dir()
    if not any(_within(Path(arg), suite) for arg in _positional(args)):
        args.append(str(suite))
        early_config.stash[ADDED_SUITE_KEY] = suite


def _add_default_paths(config: pytest.Config) -> None:
    """The suite is *added* to what pytest collects: when the user named no path, the suite
    (appended early, so that its conftest loads) must not replace the ini's ``testpaths`` or
    the working directory, which pytest would have collected without the plugin."""
    suite = config.stash.get(ADDED_SUITE_KEY, None)
    if suite is None or [Path(arg).resolve() for arg in config.args] != [suite.resolve()]:
        return
    config.args[:0] = _default_paths(config)


def _default_paths(config: pytest.Config) -> list[str]:
    """What pytest collects when no path is given: ``testpaths`` (globbed, from the rootdir),
    else the invocation directory."""
    invocation = config.invocation_params.dir
    testpaths = config.getini("testpaths")
    if testpaths and invocation == config.rootpath:
        found = [str(match) for pattern in testpaths for match in sorted(invocation.glob(pattern))]
        if found:
            return found
    return [str(invocation)]


def _within(path: Path, directory: Path) -> bool:
    """Whether *path* (a test path argument, maybe ``file.py::test``) lies in *directory*."""
    path = Path(str(path).split("::", 1)[0]).resolve()
    return path == directory or directory in path.parents


class SuiteFixtures:
    """Fixtures for a team's own tests next to the suite; registered only when active.

    They build on the engine's session harness (``snapconform_harness``), so they share its
    target, budget, redaction and response audit.
    """

    @pytest.fixture(scope="session")
    def snapconform_target(self, snapconform_harness: Any) -> Any:
        """The server under test (snapconform.engine.target.Target), logged in as the
        privileged principal; only GET and the session calls can be sent through it."""
        return snapconform_harness.target

    @pytest.fixture(scope="session")
    def snapconform_universe(self, snapconform_harness: Any) -> Any:
        """The tasks the oracle knows (snapconform.engine.universe.Universe): the declared or
        discovered data, or in controlled mode one universe drawn from the run's seed and
        installed on the server through the control protocol."""
        source = snapconform_harness.source
        fixed = getattr(source, "universe", None)
        if fixed is not None:
            return fixed
        universe = snapconform_harness.draw(snapconform_harness.universes(min_tasks=20))
        snapconform_harness.install(universe)
        return universe

    @pytest.fixture(scope="session")
    def snapconform_oracle(self) -> Any:
        """The oracle's pure functions (snapconform.engine.oracle): matches(), expected_ids(),
        the cap outcome and the body checks."""
        return importlib.import_module("snapconform.engine.oracle")


def pytest_configure(config: pytest.Config) -> None:
    if config.stash.get(ACTIVE_KEY, False):
        _add_default_paths(config)
        if not config.pluginmanager.has_plugin(FIXTURES_NAME):
            config.pluginmanager.register(SuiteFixtures(), FIXTURES_NAME)
        for feature, suffix in GROUP_MARKERS.items():
            config.addinivalue_line(
                "markers", f"snapconform_{suffix}: snapconform requirements of group '{feature}'"
            )


def _slug(feature: str) -> str:
    return GROUP_MARKERS.get(feature) or re.sub(r"[^a-z0-9]+", "_", feature.lower()).strip("_")


def group_of(item: pytest.Item) -> str | None:
    """The requirement group of a test: its requirement's ``feature``, if it names one."""
    marker = item.get_closest_marker("requirement")
    if marker is None or not marker.args:
        return None
    feature: Any = getattr(marker.args[0], "feature", None) or marker.kwargs.get("feature")
    if feature is None:
        return None
    return _slug(str(feature))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # before -m deselects: the group markers must be on the items by then
    if not config.stash.get(ACTIVE_KEY, False):
        return
    for item in items:
        group = group_of(item)
        if group is not None:
            item.add_marker(f"snapconform_{group}")


__all__ = ["ENGINE_PLUGIN", "group_of", "suite_dir"]
