"""Leave the mock as found: a controlled run saves ``GET {control}/state`` before its first push
and puts it back at the end, also after a failing verdict and after Ctrl-C.

Seen: after ``snapconform run --control-url …`` against ``snapconform serve`` the documented
principals got 401 and the server held 4 tasks until restarted; the curl examples of
docs/reference-server.md stopped working. These tests run those curl lines after the run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from snapconform.contracts import default_contracts
from snapconform.engine.harness import Harness
from snapconform.engine.target import TargetError
from snapconform.mutants import get as get_mutant
from snapconform.server.app import ServerConfig
from snapconform.server.runner import serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DOC = ROOT / "docs" / "reference-server.md"


def documented_read_curls(port: int) -> list[list[str]]:
    """The `curl -u …` examples of docs/reference-server.md, on ``port`` (they only read)."""
    text = REFERENCE_DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    commands = " ".join(blocks).replace("\\\n", " ")
    found = []
    for line in commands.splitlines():
        line = line.strip()
        if line.startswith("curl -u "):
            argv = shlex.split(line.replace(":8080", f":{port}"))
            found.append([*argv[:1], "-sS", "-o", "/dev/null", "-w", "%{http_code}", *argv[1:]])
    assert found, "docs/reference-server.md lost its curl -u example"
    return found


def _run(args: list[str], report_dir: Path) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    return subprocess.Popen(
        [sys.executable, "-m", "snapconform", "run", "--report-dir", str(report_dir),
         "--seed", "5", "--max-examples", "3", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ, cwd=ROOT,
    )  # fmt: skip


def _state(control_url: str) -> dict:
    return httpx.get(f"{control_url}/state", timeout=30).json()


def _assert_left_as_found(server: Any, before: dict, report_dir: Path) -> dict:
    assert _state(server.control_url) == before
    port = int(server.base_url.rsplit(":", 1)[1])
    for argv in documented_read_curls(port):
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert completed.stdout == "200", (argv, completed.stdout, completed.stderr)
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    assert default_contracts().errors("summary", summary) == []
    assert summary["mock_state"]["restored"] is True, summary["mock_state"]
    assert "was put back with PUT" in summary["mock_state"]["detail"]
    assert "1500 tasks" in summary["mock_state"]["detail"]
    return summary


@pytest.mark.slow
@pytest.mark.parametrize("mutant", [None, "filter-ignores-status"], ids=["conformant", "failing"])
def test_a_controlled_run_leaves_the_reference_server_as_found(
    mutant: str | None, tmp_path: Path
) -> None:
    config = get_mutant(mutant).server_config() if mutant else ServerConfig()
    with serve_in_thread(config, "127.0.0.1", 0) as server:
        before = _state(server.control_url)
        process = _run(
            ["--base-url", server.base_url, "--control-url", server.control_url], tmp_path
        )
        out, err = process.communicate(timeout=600)
        assert process.returncode == (1 if mutant else 0), out + err
        assert "mock state: restored: the mock's state saved before the run" in out
        _assert_left_as_found(server, before, tmp_path)
    assert "Mock state: restored" in (tmp_path / "summary.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_ctrl_c_mid_run_still_restores_the_state(tmp_path: Path) -> None:
    # 10 ms per endpoint answer (the control protocol is never delayed): the run's ~750
    # requests take seconds after its first push, so the Ctrl-C lands mid-run. Without it a
    # loaded CI machine once polled the first push so late that the Ctrl-C arrived in the
    # run's closing clean-up, which holds it back (a complete verdict, exit 0).
    with serve_in_thread(ServerConfig(latency=0.01), "127.0.0.1", 0) as server:
        before = _state(server.control_url)
        process = _run(
            ["--base-url", server.base_url, "--control-url", server.control_url], tmp_path
        )
        # synchronise on the run's work, not on time: the first push replaced the state
        for _ in range(600):
            if _state(server.control_url) != before or process.poll() is not None:
                break
            time.sleep(0.1)
        assert process.poll() is None, "the run ended before it changed the state"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 130, out + err
        summary = _assert_left_as_found(server, before, tmp_path)
    assert summary["reason"] == "interrupted"


class _Control:
    control_url = "http://127.0.0.1:9/control"
    state_pushed, fault_armed = True, False

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.pushed = fail, []

    def put_state(self, document: dict) -> None:
        if self.fail:
            raise TargetError("PUT http://127.0.0.1:9/control/state: HTTP 500")
        self.pushed.append(document)


@pytest.mark.parametrize(
    ("saved", "fail", "restored", "said"),
    [
        (None, False, False, "offers no GET http://127.0.0.1:9/control/state"),
        ({"tasks": [], "principals": []}, True, False, "restoring the mock's state failed"),
        ({"tasks": [{}], "principals": []}, False, True, "(1 tasks, 0 principals) was put back"),
    ],
)
def test_the_summary_says_when_the_state_was_not_restored(
    saved: dict | None, fail: bool, restored: bool, said: str
) -> None:
    control = _Control(fail)
    outcome = Harness._restore_mock_state(SimpleNamespace(saved_state=saved), control)  # type: ignore[arg-type]
    assert outcome["restored"] is restored and said in outcome["detail"]
    assert control.pushed == ([saved] if restored else [])


def test_ctrl_c_during_the_pre_flight_still_says_the_state_was_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C after the first push but before the harness is open: the mock's state is put
    back, and the outcomes say so (seen: a summary without ``mock_state`` on a fast machine)."""
    from snapconform.config import RunConfig
    from snapconform.engine import harness as harness_module
    from snapconform.run.session import RunSession

    def interrupted(self: Harness) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(harness_module.Harness, "_probe_endpoint", interrupted)
    with serve_in_thread(ServerConfig(), "127.0.0.1", 0) as server:
        before = _state(server.control_url)
        config = RunConfig(base_url=server.base_url, control_url=server.control_url, seed=5)
        holder = RunSession(config, 5)
        with pytest.raises(KeyboardInterrupt):
            holder.open()
        assert holder.harness is None
        assert _state(server.control_url) == before
        document = holder.document()
        holder.close()
    assert document["mock_state"] is not None
    assert document["mock_state"]["restored"] is True
    assert "was put back with PUT" in document["mock_state"]["detail"]
