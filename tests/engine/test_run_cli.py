"""`snapconform run` end to end: exit status and a schema-valid summary.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from snapconform.contracts import default_contracts
from snapconform.engine.requirements import CATALOGUE
from snapconform.server.app import ServerConfig
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME
from snapconform.server.runner import serve_in_thread

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "snapconform", "run", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def _summary(report_dir: Path) -> dict:
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    assert default_contracts().errors("summary", summary) == []
    return summary


def test_embedded_run_is_conformant(tmp_path: Path) -> None:
    completed = _run(["--report-dir", str(tmp_path), "--seed", "2", "--max-examples", "5"])
    assert completed.returncode == 0, completed.stdout + completed.stderr
    summary = _summary(tmp_path)
    assert summary["verdict"] == "conformant" and summary["mode"] == "controlled"
    assert [r["id"] for r in summary["requirements"]] == [r.id for r in CATALOGUE]
    assert summary["requests"] > 0
    assert "verdict: CONFORMANT" in completed.stdout and "budget 5000 requests" in completed.stdout
    assert (tmp_path / "junit.xml").is_file() and any((tmp_path / "allure-results").iterdir())


def test_observed_run_keeps_the_password_out_of_argv_and_reports(tmp_path: Path) -> None:
    with serve_in_thread(ServerConfig(), "127.0.0.1", 0) as server:
        completed = _run(
            [
                "--base-url",
                server.base_url,
                "--username",
                ADMIN_USERNAME,
                "--report-dir",
                str(tmp_path),
                "--seed",
                "3",
                "--max-examples",
                "3",
            ],
            env={"SNAPCONFORM_PASSWORD": ADMIN_PASSWORD},
        )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    summary = _summary(tmp_path)
    assert summary["mode"] == "observed"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert ADMIN_PASSWORD not in path.read_text(encoding="utf-8", errors="replace"), path


def test_unreachable_target_gives_exit_2_with_one_line(tmp_path: Path) -> None:
    completed = _run(
        ["--base-url", "http://127.0.0.1:9", "--username", "u", "--report-dir", str(tmp_path)],
        env={"SNAPCONFORM_PASSWORD": "pw-xyz"},
    )
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and "no verdict possible" in lines[0]
        and "Traceback" not in completed.stderr
    )
    assert _summary(tmp_path)["verdict"] == "error"


def test_refused_login_gives_exit_2(tmp_path: Path) -> None:
    with serve_in_thread(ServerConfig(), "127.0.0.1", 0) as server:
        completed = _run(
            [
                "--base-url",
                server.base_url,
                "--username",
                ADMIN_USERNAME,
                "--report-dir",
                str(tmp_path),
            ],
            env={"SNAPCONFORM_PASSWORD": "definitely-wrong"},
        )
    assert completed.returncode == 2
    assert "refused" in completed.stderr and "definitely-wrong" not in completed.stderr


def test_broken_server_gives_exit_1(tmp_path: Path) -> None:
    from tests.engine.test_broken_servers import NoCap

    with serve_in_thread(ServerConfig(behaviour=NoCap()), "127.0.0.1", 0) as server:
        completed = _run(
            [
                "--base-url",
                server.base_url,
                "--control-url",
                server.control_url,
                "--report-dir",
                str(tmp_path),
                "--seed",
                "1",
                "--max-examples",
                "3",
            ],
        )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    summary = _summary(tmp_path)
    failed = {r["id"] for r in summary["requirements"] if r["outcome"] == "failed"}
    assert {"CAP-OVER-LIMIT", "CAP-NEVER-MORE"} <= failed
