"""The tree stays ruff clean: lint and formatting are part of the test run, not an afterthought."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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
