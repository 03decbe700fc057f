"""`snapconform run` end to end: exit status and a schema-valid summary.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from snapconform.config import RunConfig
from snapconform.contracts import default_contracts
from snapconform.engine.requirements import CATALOGUE
from snapconform.server.app import ServerConfig
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    NOPRIVS_PASSWORD,
    NOPRIVS_USERNAME,
)
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
    # a user's own pytest settings must not reshape the suite's run
    foreign = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTEST_ADDOPTS": "-x --maxfail=1 -k nothing"}
    completed = _run(
        ["--report-dir", str(tmp_path), "--seed", "2", "--max-examples", "5"], env=foreign
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    summary = _summary(tmp_path)
    assert summary["verdict"] == "conformant" and summary["mode"] == "controlled"
    assert [r["id"] for r in summary["requirements"]] == [r.id for r in CATALOGUE]
    assert summary["requests"] > 0
    assert (
        "verdict: CONFORMANT" in completed.stdout
        and f"budget {RunConfig.max_requests} requests" in completed.stdout
    )
    # the plan is printed on the first lines, before any progress
    lines = completed.stdout.splitlines()
    assert lines[1].startswith(f"plan: {RunConfig.max_requests} requests;")
    assert "minimum for a complete verdict" in lines[1]
    assert lines[2].startswith(
        "  decisive probes: error probe 2, choice probe 14, AUTH-NO-CREDENTIALS 1"
    )
    budget = RunConfig.max_requests
    assert summary["requests"] <= budget and summary["plan"]["budget"] == budget
    assert {r["id"] for r in summary["requirements"] if r["planned_requests"] > 0} >= {
        "FILTER-SOUNDNESS",
        "AUTH-NO-CREDENTIALS",
        "CAP-OVER-LIMIT",
        "FUZZ-SCHEMATHESIS",
    }
    assert (
        sum(r["spent_requests"] for r in summary["requirements"])
        + sum(other["spent"] for other in summary["plan"]["other"].values())
        <= summary["requests"]
    )
    assert (tmp_path / "junit.xml").is_file() and any((tmp_path / "allure-results").iterdir())
    # not a terminal: one plain progress line per finished check, counting what was really sent
    total = len(CATALOGUE)
    progress = [line for line in completed.stdout.splitlines() if line.startswith("[")]
    assert len(progress) == total and "\x1b[" not in completed.stdout
    assert progress[-1].startswith(f"[{total}/{total}] passed ")
    assert progress[-1].endswith(f"({summary['requests']} requests sent, 0 failures so far)")


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
                "--unprivileged-username",
                NOPRIVS_USERNAME,
            ],
            env={
                "SNAPCONFORM_PASSWORD": ADMIN_PASSWORD,
                "SNAPCONFORM_UNPRIVILEGED_PASSWORD": NOPRIVS_PASSWORD,
            },
        )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    summary = _summary(tmp_path)
    assert summary["mode"] == "observed" and summary["verdict"] == "conformant"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert ADMIN_PASSWORD not in text and NOPRIVS_PASSWORD not in text, path


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


def test_on_a_terminal_progress_is_one_status_line_redrawn_in_place(tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()  # never sized: 0 columns, as in some CI containers
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    environ.pop("CI", None)
    environ["TERM"] = "xterm"
    args = ["run", "--report-dir", str(tmp_path), "--seed", "4", "--max-examples", "1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "snapconform", *args],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=environ,
        cwd=ROOT,
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=300) == 0, process.stderr.read() if process.stderr else ""
    text = output.decode()
    redraws = text.count("\r\x1b[K")
    assert redraws > len(CATALOGUE), text[-2000:]
    assert "checking FILTER-EMPTY" in text and "requests sent, 0 failures so far" in text
    assert "verdict: CONFORMANT" in text
    # the status line is cleared before the verdict table starts
    assert text.rindex("\r\x1b[K") < text.index("PASS ")


def test_run_judges_in_this_process_without_a_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The configuration stays one object in one process: no pytest child is started."""
    import contextlib
    import importlib
    import io
    import subprocess as subprocess_module
    from importlib.metadata import entry_points

    from snapconform.config import RunConfig
    from snapconform.engine.requirements import requirement
    from snapconform.run.runner import run

    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"snapconform run started a process: {args}")

    # The official bindings ask `uname -p` (platform.processor) once, on their first import: a
    # library's probe, not a run child. Imported first, so that only the run is watched.
    with contextlib.suppress(ImportError):
        importlib.import_module("com.vmware.snapservice_client")
    monkeypatch.setattr(subprocess_module.Popen, "__init__", no_child)
    done = run(
        RunConfig(report_dir=tmp_path, seed=1),
        out=io.StringIO(),
        requirements=[requirement("AUTH-NO-CREDENTIALS"), requirement("CONTRACT-JSON")],
    )
    outcomes = {r["id"]: r["outcome"] for r in done.summary["requirements"]}
    assert outcomes["AUTH-NO-CREDENTIALS"] == outcomes["CONTRACT-JSON"] == "passed"
    # the rest was not selected: not checked, so the verdict is incomplete, never conformant
    assert done.summary["verdict"] == "incomplete" and done.exit_code == 3
    assert (tmp_path / "junit.xml").is_file() and list((tmp_path / "allure-results").iterdir())
    # no pytest11 entry point: other pytest sessions of the environment never import the plugin
    assert not [e for e in entry_points(group="pytest11") if e.value.startswith("snapconform")]


def test_run_reads_snapconform_toml_then_environment_then_flags(tmp_path: Path) -> None:
    # a refused target: the run reads its whole configuration, then ends quickly (no verdict)
    (tmp_path / "snapconform.toml").write_text(
        'base_url = "http://127.0.0.1:9"\nusername = "u"\nmax_examples = 2\nseed = 11\n'
        'rate_limit = 4\nreport_dir = "from-file"\n',
        encoding="utf-8",
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    environ.update(SNAPCONFORM_PASSWORD="pw-xyz", SNAPCONFORM_MAX_REQUESTS="77")

    def run(*flags: str) -> tuple[str, str]:
        completed = subprocess.run(
            [sys.executable, "-m", "snapconform", "run", *flags],
            capture_output=True,
            text=True,
            env=environ,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
        assert completed.returncode == 2, completed.stdout + completed.stderr
        return completed.stdout.splitlines()[0], completed.stderr

    first, _ = run()
    assert "against http://127.0.0.1:9 " in first and "seed 11" in first
    assert "2 examples per check" in first and "budget 77 requests" in first
    assert "rate limit 4/s" in first
    assert (tmp_path / "from-file" / "summary.json").is_file()

    first, _ = run("--max-examples", "3", "--max-requests", "50", "--seed", "12")
    assert "3 examples per check" in first and "budget 50 requests" in first
    assert "seed 12" in first and "rate limit 4/s" in first


def test_a_remote_target_gets_5_requests_per_second_unless_told_otherwise(tmp_path: Path) -> None:
    from snapconform.config import RunConfig
    from snapconform.run.runner import effective_rate_limit

    # never contacted: only the configuration is read
    remote = RunConfig(base_url="https://vcenter.example", report_dir=tmp_path)
    assert effective_rate_limit(remote) == 5.0
    assert effective_rate_limit(RunConfig(base_url="https://vcenter.example", rate_limit=2)) == 2
    for loopback in ("http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:2", None):
        assert effective_rate_limit(RunConfig(base_url=loopback)) is None


def test_the_suite_is_found_in_the_package_first_then_in_the_checkout(tmp_path: Path) -> None:
    from snapconform.pytest_plugin import CHECKOUT_SUITE, suite_dir

    packaged, checkout = tmp_path / "snapconform" / "_suite", tmp_path / "tests" / "conformance"
    checkout.mkdir(parents=True)
    assert suite_dir((packaged, checkout)) == checkout
    packaged.mkdir(parents=True)
    assert suite_dir((packaged, checkout)) == packaged
    assert suite_dir((tmp_path / "a", tmp_path / "b")) == CHECKOUT_SUITE  # pytest names it
    # this editable checkout has no packaged copy: the plugin collects tests/conformance
    assert suite_dir() == CHECKOUT_SUITE == ROOT / "tests" / "conformance"


def test_the_wheel_carries_the_suite_and_contracts_where_the_lookups_expect_them() -> None:
    import tomllib

    from snapconform.contracts import PACKAGED_CONTRACTS
    from snapconform.pytest_plugin import PACKAGED_SUITE

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapped = pyproject["tool"]["setuptools"]["package-dir"]
    for package, folder, lookup in (
        ("snapconform._suite", "tests/conformance", PACKAGED_SUITE),
        ("snapconform._contracts", "contracts", PACKAGED_CONTRACTS),
    ):
        assert mapped[package] == folder
        assert lookup.relative_to(ROOT).as_posix() == package.replace(".", "/")
