"""Check the import layers (import-linter contracts in pyproject.toml) on the installed layout.

The repository keeps ``strategies/`` at the top while the wheel installs it as
``snapconform.strategies``; import-linter reads a package from one directory, so this assembles
the installed layout in a temporary directory (``snapconform/`` with ``strategies/`` inside it)
and runs ``lint-imports`` there, with the contracts of this checkout's pyproject.toml.

Run by ``tox -e lint`` and by tests/test_lint.py (so the README's test command enforces it).
Exit status: lint-imports' (0: every contract kept).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def assemble(where: Path) -> Path:
    """The package as the wheel installs it, under ``where``; returns ``where``."""
    package = where / "snapconform"
    shutil.copytree(ROOT / "snapconform", package, ignore=SKIP)
    shutil.copytree(ROOT / "strategies", package / "strategies", ignore=SKIP)
    return where


def lint_imports(
    *args: str, plant: Callable[[Path], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the assembled package; ``plant`` may change the copy first (tests)."""
    with tempfile.TemporaryDirectory(prefix="snapconform-layers-") as scratch:
        tree = assemble(Path(scratch))
        if plant is not None:
            plant(tree / "snapconform")
        # lint-imports puts the working directory first on sys.path: the assembled copy is the
        # snapconform it analyses, not the editable install's
        env = {**os.environ, "PYTHONPATH": str(tree)}
        command = [
            sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
            str(ROOT / "pyproject.toml"), "--no-cache", *args,
        ]  # fmt: skip
        return subprocess.run(
            command, cwd=tree, env=env, capture_output=True, text=True, timeout=600, check=False
        )


def main() -> int:
    completed = lint_imports(*sys.argv[1:])
    sys.stdout.write(completed.stdout)
    sys.stderr.write(completed.stderr)
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
