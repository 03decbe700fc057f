"""Guards of the whole test session: strict skips under CI, and no writes into the checkout.

Strict skips. A test that needs a tool CI installs (the official bindings, chromium with node and
playwright-core, the Allure 3 CLI, Prism, the snapconform pytest plugin) carries that tool's marker
(added here from the fixtures it uses, or written on the test). Locally such a test skips with a
reason when its tool is missing; under CI (``CI=true``, which ``.ci/run`` sets) the skip fails
the run, naming the tool, because a green run that skipped them proves nothing about them.

No writes. Tests write into temporary paths only. The session records the checkout's files
(tracked, untracked and ignored, bytecode caches and the environments aside) and the current
directory's entries before the first test and fails if they changed after the last one.
Hypothesis' storage (``.hypothesis/`` in the current directory by default) goes to a temporary
directory.

Only the outermost session guards: pytest sessions the tests start themselves (the sample suite,
``snapconform run``) inherit ``SCTESTS_OUTER_SESSION`` and leave both checks to it.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis.configuration import set_hypothesis_home_dir

ROOT = Path(__file__).resolve().parent.parent

# No test may depend on how fast this machine is (a loaded 2-core CI machine ran test_oracle's
# examples past Hypothesis' 200 ms default deadline): property tests have no deadline.
hypothesis_settings.register_profile("snapconform-tests", deadline=None)
hypothesis_settings.load_profile("snapconform-tests")

#: Marker -> the tool CI provides for it, and how CI installs it.
CI_TOOLS: dict[str, str] = {
    "bindings": "the official VMware bindings (vmware-vsan-data-protection and "
    "vmware-vapi-common-client; `pip install -e '.[test]'`)",
    "browser": "chromium with node and playwright-core (`apt-get install chromium`; `npm ci`)",
    "allure_cli": "the Allure 3 CLI (`npm ci`)",
    "plugin_suite": "the snapconform pytest plugin (`pip install -e '.[test]'`)",
    "prism": "Prism, the OpenAPI mock server (@stoplight/prism-cli, pinned; `npm ci`)",
}
#: Marker -> words a skip reason for its tool contains.
TOOL_WORDS: dict[str, str] = {
    "bindings": r"bindings|vmware",
    "browser": r"chromium|playwright|\bnode\b",
    "allure_cli": r"allure",
    "plugin_suite": r"plugin",
    "prism": r"prism|\bnode\b",
}
#: Fixture -> the marker of the tool it provides (it skips when the tool is missing).
TOOL_FIXTURES: dict[str, str] = {
    "bindings": "bindings",
    "chromium": "browser",
    "browser_drive": "browser",
    "allure_cli": "allure_cli",
    "prism_cli": "prism",
}
#: Tools that run as node processes (seconds each): their tests are slow.
NODE_TOOLS = frozenset({"browser", "allure_cli", "prism"})
OUTER_SESSION = "SCTESTS_OUTER_SESSION"
#: Paths that may change during a run: bytecode, the environments, the tools' installs.
UNGUARDED_PARTS = frozenset({"__pycache__", ".venv", "node_modules", ".git"})

#: Hypothesis' storage (example database, cached constants): a temporary directory, here and in
#: every process the tests start (the conformance runs, the sample suite), unless one is set.
HYPOTHESIS_STORAGE = "HYPOTHESIS_STORAGE_DIRECTORY"
_hypothesis_home: Path | None = None
if HYPOTHESIS_STORAGE not in os.environ:
    _hypothesis_home = Path(tempfile.mkdtemp(prefix="snapconform-tests-hypothesis-"))
    os.environ[HYPOTHESIS_STORAGE] = str(_hypothesis_home)
set_hypothesis_home_dir(os.environ[HYPOTHESIS_STORAGE])


def ci_strict() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def pytest_configure(config: pytest.Config) -> None:
    # The conformance run (`snapconform run` from this checkout loads this file too) is the
    # product, not a test session: its skips and its reports/ are its own business.
    conformance_run = config.getoption("snapconform_outcomes", default=None) is not None
    if not conformance_run:
        # The suite's processes hold a large import graph and allocate many short-lived
        # containers (Hypothesis, decoded bodies): fewer collections, as `snapconform run` has
        # (snapconform.collector.RUN_GC_THRESHOLD), and the graph frozen once collected.
        from snapconform.collector import tune_this_process

        tune_this_process()
    nested = OUTER_SESSION in os.environ or hasattr(config, "workerinput")
    if not nested and not conformance_run:
        os.environ[OUTER_SESSION] = str(os.getpid())
        compile_product()
        config.pluginmanager.register(SessionGuards(strict=ci_strict()), "snapconform-guards")


@pytest.hookimpl(tryfirst=True)  # before xdist's, which turns an unset --dist into "load"
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Under ``-n``, workers that run dry take tests queued for the others (``worksteal``).

    xdist's default ``load`` hands out chunks that stay with the worker they were sent to:
    in one ``-n 3`` run of this suite, two workers idled for the last 155 s while the third
    worked through the 47 mutation-matrix cells queued for it. An explicit ``--dist`` is kept.
    """
    numprocesses = getattr(config.option, "numprocesses", None)
    if numprocesses and getattr(config.option, "dist", None) == "no":
        config.option.dist = "worksteal"


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto``: one worker more than the cores this process may use.

    Much of the suite waits rather than computes (servers answering with latency, the CLI and
    node processes it starts): with one worker per core, a core idled about a third of the
    time (issue 27: 884 CPU-seconds in 653 s on 2 cores). xdist's own override,
    ``PYTEST_XDIST_AUTO_NUM_WORKERS``, still decides when set; ``-n N`` is never changed.
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's hook reads it
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return (len(usable) if usable else os.cpu_count() or 1) + 1


#: The product's source directories (``strategies/`` is ``snapconform.strategies``).
PRODUCT_SOURCES: tuple[str, ...] = ("snapconform", "strategies")


def compile_product() -> None:
    """Byte-compile the product's modules once, before any test starts a process.

    Many tests start ``python -m snapconform`` processes that import it from this checkout
    (the CLI runs; the mutation matrix's cells run in the test process itself). Where
    ``PYTHONDONTWRITEBYTECODE`` is set (this project's CI machines) none of them keeps the
    bytecode it compiled, so each compiled the ~130 modules again: ~0.25 CPU-seconds per
    process (issue 27). ``compileall`` writes
    regardless, into ``__pycache__`` (ignored by git and by the no-writes guard), and every
    process reads it; a module edited later is compiled afresh as usual.
    """
    import compileall

    for directory in PRODUCT_SOURCES:
        compileall.compile_dir(ROOT / directory, quiet=1)


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.getoption("snapconform_outcomes", default=None) is None:
        # what is alive now (modules, collected items) lives for the session: no collection
        # needs to walk it again
        gc.freeze()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _hypothesis_home is not None:
        shutil.rmtree(_hypothesis_home, ignore_errors=True)
        os.environ.pop(HYPOTHESIS_STORAGE, None)
    if config.pluginmanager.get_plugin("snapconform-guards") is not None:
        os.environ.pop(OUTER_SESSION, None)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in TOOL_FIXTURES.items():
            # Markers, not keywords: a directory named like a marker (tests/prism) is a keyword.
            uses = fixture in getattr(item, "fixturenames", ())
            if uses and item.get_closest_marker(marker) is None:
                item.add_marker(marker)
                if marker in NODE_TOOLS and item.get_closest_marker("slow") is None:
                    item.add_marker("slow")  # node processes: not in the fast tier


# ------------------------------------------------------------------------------ strict skips


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def tool_skips(report: pytest.TestReport | pytest.CollectReport) -> list[tuple[str, str, str]]:
    """(node id, marker, reason) for a skip of a test whose tool CI provides."""
    if not report.skipped or getattr(report, "wasxfail", None) is not None:
        return []
    markers = [m for m in CI_TOOLS if m in report.keywords]
    reason = _skip_reason(report)
    # A test needing two tools (the Allure CLI and chromium) names the one its reason names.
    named = [m for m in markers if re.search(TOOL_WORDS[m], reason, re.IGNORECASE)]
    return [(report.nodeid, marker, reason) for marker in named or markers]


def strict_skip_problems(skips: list[tuple[str, str, str]]) -> list[str]:
    """One line per missing tool (with the tests it cost) for the CI failure message."""
    by_marker: dict[str, list[tuple[str, str]]] = {}
    for nodeid, marker, reason in skips:
        by_marker.setdefault(marker, []).append((nodeid, reason))
    lines = []
    for marker, tests in by_marker.items():
        reasons = sorted({reason for _, reason in tests})
        lines.append(
            f"missing {CI_TOOLS[marker]}: {len(tests)} test(s) skipped"
            f" (e.g. {tests[0][0]}); skip reason: {'; '.join(reasons)[:300]}"
        )
    return lines


# ------------------------------------------------------------------------------ no writes


def snapshot() -> dict[str, tuple[int, int]]:
    """Every file of the checkout and of the current directory: path -> (size, mtime_ns).

    Bytecode caches, the environments and .git are not guarded (their contents change
    legitimately); that they exist is.
    """
    files: dict[str, tuple[int, int]] = {}
    for root in {ROOT.resolve(), Path.cwd().resolve()}:
        for directory, subdirs, names in os.walk(root):
            subdirs[:] = [d for d in subdirs if d not in UNGUARDED_PARTS]
            for name in names:
                path = Path(directory, name)
                if name.endswith(".pyc"):
                    continue
                try:
                    stat = path.stat()
                except OSError:
                    continue
                files[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return files


def writes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    """What happened between two snapshots, as readable lines (created, changed, deleted)."""
    created = sorted(set(after) - set(before))
    deleted = sorted(set(before) - set(after))
    changed = sorted(p for p in set(before) & set(after) if before[p] != after[p])
    return (
        [f"created {p}" for p in created]
        + [f"changed {p}" for p in changed]
        + [f"deleted {p}" for p in deleted]
    )


# ------------------------------------------------------------------------------ the plugin


class SessionGuards:
    """Registered in the outermost session only (the xdist controller, or a plain session)."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.skips: list[tuple[str, str, str]] = []
        self.before = snapshot()
        self.problems: list[str] = []

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.skips.extend(tool_skips(report))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self.skips.extend(tool_skips(report))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.skips and self.strict:
            self.problems += [
                "CI=true: tests skipped although CI provides their tool"
                " (a green run must have run them):",
                *(f"  {line}" for line in strict_skip_problems(self.skips)),
            ]
        changed = writes(self.before, snapshot())
        if changed and session.exitstatus != pytest.ExitCode.INTERRUPTED:
            self.problems += [
                "the tests wrote into the checkout or the current directory"
                " (tests write to temporary paths only):",
                *(f"  {line}" for line in changed[:30]),
            ]
        if self.problems and session.exitstatus in (
            pytest.ExitCode.OK,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.problems:
            terminalreporter.section("session guards failed", sep="=", red=True, bold=True)
            for line in self.problems:
                terminalreporter.line(line, red=True)
