"""The tree stays ruff clean: lint and formatting are part of the test run, not an afterthought."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module", autouse=True)
def _ruff_installed() -> None:
    if shutil.which("ruff") is None and _ruff("--version").returncode != 0:
        pytest.skip("ruff is not installed (it comes with the test extra)")


def test_ruff_check_is_clean() -> None:
    result = _ruff("check", "--no-cache", ".")  # no .ruff_cache/ in the checkout
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = _ruff("format", "--no-cache", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def _layers_checker() -> ModuleType:
    if importlib.util.find_spec("importlinter") is None:
        pytest.skip("import-linter is not installed (it comes with the test extra)")
    spec = importlib.util.spec_from_file_location("lint_imports", ROOT / ".ci" / "lint_imports.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_import_layers_point_one_way() -> None:
    """The import-linter contracts of pyproject.toml (docs/ARCHITECTURE.md, "Layers")."""
    result = _layers_checker().lint_imports()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout and "4 kept, 0 broken" in result.stdout


def _importing(module: str, line: str) -> Callable[[Path], None]:
    def plant(package: Path) -> None:
        path = package.joinpath(*module.split(".")[1:]).with_suffix(".py")
        path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")

    return plant


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # the contract layer reaching up into the engine
        ("snapconform.contracts", "import snapconform.engine.oracle", "layers point one way"),
        # the strategies reaching up into the engine (the cycle issue 14 broke)
        ("snapconform.strategies.filters", "import snapconform.engine.oracle", "layers point"),
        # the engine starting the reference server itself
        ("snapconform.engine.harness", "import snapconform.server.runner", "never import the"),
        ("snapconform.mutants.base", "import snapconform.strategies.values", "mutants build on"),
        ("snapconform.fastvalidate", "import snapconform.contracts", "fast validator"),
    ],
)
def test_a_wrong_way_import_breaks_the_layers(module: str, line: str, contract: str) -> None:
    result = _layers_checker().lint_imports(plant=_importing(module, line))
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout[-3000:]
