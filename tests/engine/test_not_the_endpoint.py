"""A target that does not serve the endpoint gets no verdict, before the budget is spent.

Seen: a static file server (404 for every path) with ``--auth basic`` was judged NON-CONFORMANT
after 2593 requests, with 7 requirements "passed". The pre-flight now asks the tasks path once
with the given credentials and stops with exit 2 and one line saying what the target answered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from snapconform.server.app import ServerConfig
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME
from snapconform.server.runner import serve_in_thread


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_file_server(root: Path) -> Iterator[str]:
    """``python -m http.server`` on an empty directory: 404 (HTML) for every API path."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    environ["SNAPCONFORM_PASSWORD"] = ADMIN_PASSWORD
    return subprocess.run(
        [sys.executable, "-m", "snapconform", "run", "--username", ADMIN_USERNAME, *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("auth", ["basic", "session"])
def test_a_static_file_server_is_not_the_endpoint(auth: str, tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    reports = tmp_path / "reports"
    with static_file_server(www) as base_url:
        completed = _run(
            ["--base-url", base_url, "--auth", auth, "--report-dir", str(reports)], tmp_path
        )
    assert completed.returncode == 2, completed.stdout + completed.stderr
    (line,) = completed.stderr.strip().splitlines()
    assert line.startswith("snapconform: no verdict possible: ")
    if "session creation" in line:  # http.server answers POST with 501 (others 404/405)
        assert f"POST {base_url}/api/snapservice/sessions answered HTTP 501" in line
    else:
        assert f"GET {base_url}/api/snapservice/tasks answered HTTP 404" in line
        assert "File not found" in line  # what the target answered, in short
    assert "check --base-url" in line
    assert ADMIN_PASSWORD not in completed.stdout + completed.stderr
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert summary["verdict"] == "error"
    assert 1 <= summary["requests"] <= 2  # the pre-flight (a login, one GET), not the budget
    assert all(r["outcome"] != "passed" for r in summary["requirements"])


def test_a_json_404_on_the_tasks_path_is_not_the_endpoint(tmp_path: Path) -> None:
    """A wrong base URL (an API prefix too many) on a real server: JSON 404 NOT_FOUND."""
    with serve_in_thread(ServerConfig(), "127.0.0.1", 0) as server:
        completed = _run(
            ["--base-url", f"{server.base_url}/v2", "--report-dir", str(tmp_path / "r")], tmp_path
        )
    assert completed.returncode == 2, completed.stdout + completed.stderr
    (line,) = completed.stderr.strip().splitlines()
    assert "not the snapservice tasks endpoint; check --base-url" in line
    assert f"{server.base_url}/v2/api/snapservice/tasks answered HTTP 404" in line
