"""Start Prism (npm ``@stoplight/prism-cli``, pinned in package.json) on loopback for a test.

Prism is the most used OpenAPI mock server: ``prism mock contracts/openapi.yaml`` serves the
contract's first example of each response (static mode), ``prism mock -d`` invents a body from
the schemas for every request (dynamic mode), and ``prism proxy`` forwards to a real server and
flags what breaks the contract. :func:`running_prism` starts any of them on a free loopback port,
waits until it answers and stops it afterwards; :func:`prism_mock` and :func:`prism_proxy` are
the two commands the tests and docs/certifying-mocks.md use. Reusable from any test:
``from tests.prism.prism_server import prism_mock``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from snapconform.contracts import default_contracts

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "contracts" / "openapi.yaml"
#: Where `npm ci` installs the pinned CLI.
PRISM_BIN = ROOT / "node_modules" / ".bin" / "prism"
#: Prism starts in 1-3 s on an idle machine; far more on a loaded one. A bound, not a timing:
#: a Prism that never answers fails the test with its log instead of hanging it.
START_ATTEMPTS = 1200
START_POLL_SECONDS = 0.1
#: Tries with a new port when another process took the free port before Prism bound it.
PORT_TRIES = 3


class PrismMissingError(RuntimeError):
    """Prism or node is not installed (the message says how to install it)."""


class PrismFailedError(RuntimeError):
    """Prism exited or never answered (the message carries its log)."""


def find_prism() -> Path:
    """The pinned Prism CLI of this checkout (:class:`PrismMissingError`: how to install it)."""
    if shutil.which("node") is None:
        raise PrismMissingError("node not installed: Prism needs node and `npm ci`")
    if not PRISM_BIN.exists():
        raise PrismMissingError(f"Prism not installed at {PRISM_BIN} (`npm ci` installs it)")
    return PRISM_BIN


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_prism(arguments: list[str], workdir: Path, prism: Path | None = None) -> Iterator[str]:
    """Run ``prism ARGUMENTS`` on 127.0.0.1 and yield its base URL; stop it on the way out.

    Prism logs every request: the log goes to ``workdir/prism-PORT.log`` (a pipe nobody reads
    would fill up and stall it). It runs in its own process group, which is ended afterwards.
    """
    binary = prism or find_prism()
    for _ in range(PORT_TRIES):
        port = free_loopback_port()
        log_path = workdir / f"prism-{port}.log"
        command = [str(binary), *arguments, "--host", "127.0.0.1", "--port", str(port)]
        with log_path.open("w", encoding="utf-8") as log:
            process = subprocess.Popen(
                command,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
                start_new_session=True,
            )
        try:
            base_url = f"http://127.0.0.1:{port}"
            if _wait_until_answering(base_url, process, log_path):
                yield base_url
                return
            if "EADDRINUSE" not in log_path.read_text(encoding="utf-8", errors="replace"):
                raise PrismFailedError(_failure(command, process, log_path))
        finally:
            _stop(process)
    raise PrismFailedError(f"no free port after {PORT_TRIES} tries: {' '.join(command)}")


def _wait_until_answering(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> bool:
    """True once Prism says it listens on ``base_url`` and answers there; False when it exited
    first (the port taken: ``EADDRINUSE`` in its log).

    An answer alone does not say whose it is: between :func:`free_loopback_port` and Prism's
    bind, another test's server may take the port, answer these polls, and the test would talk
    to it instead (seen once under xdist: a reference server's 401 taken for Prism's). Prism
    logs ``Prism is listening on URL`` once the port is its own.
    """
    listening = f"Prism is listening on {base_url}"
    for _ in range(START_ATTEMPTS):
        if process.poll() is not None:
            return False
        if listening in log_path.read_text(encoding="utf-8", errors="replace"):
            try:
                httpx.get(f"{base_url}/", timeout=5)  # a 404 is an answer: Prism is serving
                return True
            except httpx.HTTPError:
                pass
        time.sleep(START_POLL_SECONDS)
    raise PrismFailedError(f"Prism never answered on {base_url}")


def _failure(command: list[str], process: subprocess.Popen[bytes], log_path: Path) -> str:
    log = log_path.read_text(encoding="utf-8", errors="replace")
    return f"`{' '.join(command)}` exited with {process.returncode}:\n{log[-4000:]}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End Prism's process group (the CLI and any child it forked), then reap it."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def prism_mock(workdir: Path, *, dynamic: bool = False, document: Path = CONTRACT) -> Iterator[str]:
    """``prism mock contracts/openapi.yaml`` (``-d``: dynamic) on loopback; yields its base URL."""
    arguments = ["mock", str(document), *(["--dynamic"] if dynamic else [])]
    with running_prism(arguments, workdir) as base_url:
        yield base_url


@contextmanager
def prism_proxy(
    workdir: Path, upstream: str, *, errors: bool = True, document: Path = CONTRACT
) -> Iterator[str]:
    """``prism proxy DOCUMENT UPSTREAM [--errors]``: Prism's own validation of a server.

    With ``--errors`` a response that breaks the contract is replaced by a 500 naming the
    violations; without it the violations are only in the ``sl-violations`` header. Prism 5.16
    validates only against a self-contained document (:func:`bundled_contract`).
    """
    arguments = ["proxy", str(document), upstream, *(["--errors"] if errors else [])]
    with running_prism(arguments, workdir) as base_url:
        yield base_url


def bundled_contract(workdir: Path) -> Path:
    """contracts/openapi.yaml with every schema copied in (no file reference), as YAML.

    Prism 5.16 serves the examples of the document as written, but validates requests and
    responses only against schemas inside the document: with the schemas referenced from
    contracts/schemas/ it flags nothing. docs/certifying-mocks.md gives the same command.
    """
    path = workdir / "openapi.bundled.yaml"
    bundled = default_contracts().bundled_openapi()
    path.write_text(yaml.safe_dump(bundled, sort_keys=False), encoding="utf-8")
    return path
