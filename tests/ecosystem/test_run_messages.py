"""What `snapconform run` says before it starts: credentials it will not use, --insecure,
an unreachable control endpoint (issue 16, item 9)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from snapconform.config import Credentials, RunConfig
from snapconform.engine.harness import Harness, HarnessError
from tests.safety.hostile import refused_url

ADMIN = Credentials("administrator@vsphere.local", "for-a-real-server")


@pytest.mark.parametrize(
    ("config", "environ", "said"),
    [
        (RunConfig(credentials=ADMIN), {}, "the embedded reference server logs in with principals"),
        (RunConfig(), {"SNAPCONFORM_PASSWORD": "x"}, "the configured SNAPCONFORM_PASSWORD are not"),
        (
            RunConfig(base_url="http://127.0.0.1:1", control_url="http://127.0.0.1:1/c",
                      credentials=ADMIN),
            {},
            "controlled mode logs in with principals it pushes to the mock",
        ),
    ],
)  # fmt: skip
def test_credentials_that_will_not_be_used_are_named(
    config: RunConfig, environ: dict[str, str], said: str
) -> None:
    from snapconform.run.cli import unused_credentials_note

    note = unused_credentials_note(config, environ)
    assert note is not None and said in note
    assert "for-a-real-server" not in note


def test_credentials_for_the_target_are_not_remarked_on() -> None:
    from snapconform.run.cli import unused_credentials_note

    config = RunConfig(base_url="http://127.0.0.1:1", credentials=ADMIN)
    assert unused_credentials_note(config, {"SNAPCONFORM_PASSWORD": "x"}) is None
    assert unused_credentials_note(RunConfig(), {}) is None


def test_insecure_warns_on_the_run(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    environ["SNAPCONFORM_PASSWORD"] = "pw"
    completed = subprocess.run(
        [sys.executable, "-m", "snapconform", "run", "--base-url", refused_url(),
         "--username", "u", "--insecure", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, env=environ, cwd=tmp_path, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 2, completed.stdout + completed.stderr
    warning, error = completed.stderr.strip().splitlines()
    assert warning.startswith("snapconform: warning: --insecure: the server's TLS certificate")
    assert error.startswith("snapconform: no verdict possible: cannot connect to")


def test_an_unreachable_control_endpoint_names_its_url_and_the_cause() -> None:
    control = refused_url() + "/control"
    with pytest.raises(HarnessError) as caught:
        Harness.open(RunConfig(), base_url=refused_url(), control_url=control, seed=1)
    message = str(caught.value)
    assert f"control endpoint GET {control}/state failed: ConnectError: " in message
    assert "Connection refused" in message and "--control-url" in message
