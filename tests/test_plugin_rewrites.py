"""tests/conftest.py caches pytest's rewrite of the installed plugins' packages once.

A throwaway distribution that installs a pytest plugin (so pytest rewrites its package) stands
in for Hypothesis and schemathesis: with bytecode writes off, as on CI, a pytest session
rewrites it afresh unless ``cache_plugin_rewrites`` ran first, after which it reads the cache.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")
PACKAGE = "snapconform_rewrite_probe"
IMPORTS = f"""
import {PACKAGE}


def test_imports():
    assert {PACKAGE}.answer() == 42
"""


def _conftest():  # the session's own conftest, as a module of its own (no second registration)
    spec = importlib.util.spec_from_file_location("rewrites_conftest", CONFTEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def plugin_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution on PYTHONPATH whose package declares a pytest plugin; its source."""
    site = tmp_path / "site"
    package = site / PACKAGE
    package.mkdir(parents=True)
    source = package / "__init__.py"
    source.write_text("def answer():\n    assert True\n    return 42\n", encoding="utf-8")
    info = site / f"{PACKAGE}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[pytest11]\nprobe = {PACKAGE}\n")
    (info / "RECORD").write_text(f"{PACKAGE}/__init__.py,,\n{info.name}/RECORD,,\n")
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.syspath_prepend(str(site))  # found by this process too (never imported here)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # writes off, as on CI
    return source


def _session_trace(project: Path) -> str:
    """pytest's own trace of a session (writes off) importing the probe package."""
    (project / "test_probe.py").write_text(IMPORTS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
        cwd=project,
        env={**env, "PYTEST_DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout + done.stderr


def test_the_rewrite_cache_is_where_pytest_reads_it(plugin_distribution: Path) -> None:
    from _pytest.assertion.rewrite import PYC_TAIL

    expected = plugin_distribution.parent / "__pycache__" / f"__init__{PYC_TAIL}"
    assert _conftest().rewritten_bytecode(plugin_distribution) == expected


def test_a_cached_rewrite_is_read_by_every_later_session(
    plugin_distribution: Path, tmp_path: Path
) -> None:
    conftest = _conftest()
    rewriting = f"rewriting {plugin_distribution!r}"  # pytest's trace names the Path
    (tmp_path / "cold").mkdir()
    assert rewriting in _session_trace(tmp_path / "cold")
    assert not conftest.rewritten_bytecode(plugin_distribution).exists()  # writes were off
    assert not conftest.plugin_rewrites_cached(PACKAGE)

    done = conftest.cache_plugin_rewrites(IMPORTS)
    assert done is not None and done.returncode == 0, done and done.stdout + done.stderr
    assert conftest.rewritten_bytecode(plugin_distribution).exists()
    assert conftest.plugin_rewrites_cached(PACKAGE)

    (tmp_path / "warm").mkdir()
    warm = _session_trace(tmp_path / "warm")
    assert f"found cached rewritten pyc for {plugin_distribution}" in warm
    assert rewriting not in warm
