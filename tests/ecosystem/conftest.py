"""Fixtures for the ecosystem tests: a clean directory and environment per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory with no SNAPCONFORM_* or CI variables leaking in."""
    import os

    for name in list(os.environ):
        if name.startswith("SNAPCONFORM_") or name == "CI":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path
