"""snapconform works when a ``snapconform/`` folder without ``__init__.py`` shadows the install.

A CI run failed this way: the machine's site-packages held an empty ``snapconform/`` directory
(pip leaves one behind when it uninstalls a regular install whose folder held files it did not
record), and ``pip install -e`` then put the checkout behind setuptools' editable finder, which
Python consults only after the path finder. The path finder took the empty folder for a namespace
package, so ``snapconform/__init__.py`` never ran and ``from snapconform import __version__``
failed in every command started outside the checkout. A project's settings folder named
``snapconform/`` in the working directory does the same to ``python -m snapconform``.

Each test starts the harness from this test environment (an editable install in development and
in CI) with such a folder first on ``sys.path``: once through the working directory, once through
``PYTHONPATH`` the way a leftover in site-packages is found.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from snapconform._version import __version__

pytestmark = pytest.mark.slow


def _environment(extra_path: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SNAPCONFORM_", "PYTEST_"))}
    env.pop("PYTHONPATH", None)
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    return env


def _shadow(directory: Path) -> Path:
    """A folder named ``snapconform/`` with a settings file and no ``__init__.py``."""
    (directory / "snapconform").mkdir(parents=True)
    (directory / "snapconform" / "settings.toml").write_text('base_url = "not this"\n')
    return directory


@pytest.mark.parametrize("shadowed_by", ["working directory", "PYTHONPATH"])
def test_version_and_a_complete_run_survive_a_namespace_shadow(
    shadowed_by: str, tmp_path: Path
) -> None:
    shadow = _shadow(tmp_path / "shadow")
    cwd = shadow if shadowed_by == "working directory" else tmp_path
    env = _environment(shadow if shadowed_by == "PYTHONPATH" else None)
    command = [sys.executable, "-m", "snapconform"]

    version = subprocess.run(
        [*command, "--version"], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )
    assert version.returncode == 0, version.stderr[-3000:]
    assert version.stdout.strip() == f"snapconform {__version__}"

    reports = tmp_path / "reports"
    run = subprocess.run(
        [*command, "run", "--seed", "3", "--max-examples", "2", "--report-dir", str(reports)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=1200,
    )  # fmt: skip
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert "Traceback" not in run.stdout + run.stderr
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert summary["verdict"] == "conformant"


def test_no_module_reads_an_attribute_of_the_package_init() -> None:
    """``from snapconform import X`` must name a submodule: the ``__init__`` may not have run."""
    package = Path(__file__).resolve().parents[2] / "snapconform"
    offenders = []
    for module in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            absolute = isinstance(node, ast.ImportFrom) and node.level == 0
            if absolute and node.module == "snapconform":
                for alias in node.names:
                    name = alias.name
                    if not (package / f"{name}.py").exists() and not (package / name).is_dir():
                        offenders.append(f"{module.relative_to(package)}:{node.lineno} {name}")
    assert offenders == []
