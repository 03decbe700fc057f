"""The conformance suite runs only inside a snapconform run (the engine plugin loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

ENGINE_PLUGIN = "snapconform.run.engine_plugin"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # The harness's own test run (plain `pytest`) does not drive a conformance run: that is
    # `snapconform run` (or `pytest -p snapconform.pytest_plugin --snapconform-...`).
    if not config.pluginmanager.has_plugin(ENGINE_PLUGIN):
        return True
    return None
