"""Every shell command of README.md and docs/*.md that targets loopback runs here, as written.

Fenced ``sh`` blocks are extracted; a block of docs/ that names a non-loopback server (a staging
vCenter) or only sets up an environment is not runnable here and is listed in NOT_RUN with the
reason. Every README command runs: its ``https://vcenter.example`` is the reference server on a
loopback port standing in for vCenter (the README's principals are its documented ones). The
blocks run in a scratch project directory, against reference servers on free loopback ports
(``8080``/``9000`` are rewritten to them), in order (a server a block starts with ``&`` starts
where the block starts it), with the exit code and the output each doc promises (EXPECTED)
checked. A new loopback command without an expectation fails the test, so the docs
and the program cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Keeps each documented run short; the command line itself is run as written.
FAST_RUN_ENV = {"SNAPCONFORM_MAX_EXAMPLES": "2"}
COMMAND_TIMEOUT_S = 1800  # a hang guard only


@dataclass(frozen=True)
class Command:
    doc: str
    line: int
    text: str  # continuation lines joined, comment dropped
    background: bool  # ends with `&`, or a server started in its own terminal


def _blocks(path: Path) -> Iterator[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    for match in re.finditer(r"^[ \t]*```sh\n(.*?)^[ \t]*```", text, re.DOTALL | re.MULTILINE):
        yield text[: match.start()].count("\n") + 2, match.group(1)


def _commands(doc: Path, first_line: int, block: str) -> list[Command]:
    commands: list[Command] = []
    pending, start = "", first_line
    for number, raw in enumerate(block.splitlines(), first_line):
        line = raw.strip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = " ".join(_drop_comment(pending + line).split())
        pending = ""
        if not text:
            continue
        background = text.endswith("&") and not text.endswith("&&")
        text = text.rstrip("&").strip() if background else text
        for segment in text.split(" && "):
            if any(phrase in segment for phrase in SETUP) or segment in SKIPPED_COMMANDS:
                continue  # environment set-up, or the test suite itself
            server = background or bool(re.search(r"\bsnapconform serve\b", segment))
            commands.append(Command(str(doc.relative_to(ROOT)), start, segment, server))
    return commands


def _drop_comment(line: str) -> str:
    """A trailing ``# comment`` outside quotes (shlex knows the quoting)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        kept = list(lexer)
    except ValueError:
        return line
    if not kept:
        return ""
    cut = line.find(" #")
    return line[:cut] if cut >= 0 and "#" not in " ".join(kept) else line


def doc_blocks() -> list[list[Command]]:
    blocks = [_commands(doc, line, block) for doc in DOCS for line, block in _blocks(doc)]
    return [block for block in blocks if block]


#: The README's vCenter: the reference server on loopback stands in for it.
VCENTER = "https://vcenter.example"
README = "README.md"
#: Blocks not run here, by a phrase they contain, with the reason (the README's own vCenter
#: blocks run against the stand-in).
NOT_RUN = {
    "https://vcenter": "a real vCenter, not loopback (docs/; the README's run against a stand-in)",
    "selftest [": "a synopsis of the options, not a command",
    "npx prism": "needs Prism (`npm ci`); tests/prism/ runs these Prism commands",
}
#: Commands (or `&&` parts) that set an environment up; the test runs inside that environment.
SETUP = {
    "pip install": "installs the package (the test runs in that installation)",
    "-m venv": "creates a virtual environment",
    ". .venv/bin/activate": "activates it",
    "npm ci": "installs the Allure CLI from the npm registry (the checkout has it)",
    "export SNAPCONFORM_": "exports passwords: the test exports those of the server it runs",
}
#: Commands not run here: the README's second quick-start command is the test suite itself.
SKIPPED_COMMANDS = {"python3.11 -m pytest -n auto"}
#: The README's quick start: exactly two commands (the brief); the second is the test suite
#: itself (CI runs it), the first's `snapconform run` is run with the embedded server below.
QUICK_START = [
    "python3.11 -m pip install -e '.[test]' && python3.11 -m snapconform run",
    "python3.11 -m pip install -e '.[test]' && python3.11 -m pytest -n auto",
]


@dataclass(frozen=True)
class Expected:
    exit_code: int
    stdout: tuple[str, ...] = ()


#: What each loopback command promises, by a regular expression on its text.
EXPECTED: list[tuple[str, Expected]] = [
    (r"snapconform run$", Expected(0, ("verdict: CONFORMANT",))),
    (
        r"snapconform run --base-url http://127\.0\.0\.1:\d+ --control-url \S+/control"
        r"( --concurrency \d+)?$",
        Expected(0, ("verdict: CONFORMANT", "mock state: restored")),
    ),
    (
        r"snapconform run --base-url \S+ --state-file mock-state.json",
        Expected(3, ("verdict: INCOMPLETE", "AUTH-PRIVILEGE [MUST] not checked")),
    ),
    (r"^curl -X PUT --data @state.json", Expected(0)),
    (r"^curl -X POST -d .*/control/faults", Expected(0)),
    (r"^curl -u ", Expected(0, ('"error_type":"SERVICE_UNAVAILABLE"',))),  # the armed fault
    (r"snapconform report$", Expected(0, ("verdict: conformant", "html: "))),
    (r"snapconform report --compare reports-main --report-dir reports", Expected(0)),
    (r"snapconform selftest --list$", Expected(0, ("cap-truncates",))),
    # the README against the reference server standing in for vCenter: complete verdicts
    (
        r"snapconform run --base-url https://vcenter\.example --username \S+"
        r" --unprivileged-username \S+$",
        Expected(0, ("verdict: CONFORMANT", "summary: ", "report:  snapconform report")),
    ),
    (
        r"snapconform capture --base-url https://vcenter\.example .*--out captured\.json$",
        Expected(0, ("captured 1500 tasks", "replay: snapconform serve --state captured.json")),
    ),
    (
        r"snapconform run --base-url \S+ --state-file captured\.json --username \S+"
        r" --unprivileged-username \S+$",
        Expected(0, ("verdict: CONFORMANT",)),
    ),
    (
        r"snapconform diff --base-url https://vcenter\.example --against \S+",
        Expected(0, ("verdict: NO-DIFFERENCE",)),
    ),
    (r"-m pytest -p snapconform\.pytest_plugin .* -m snapconform_cap", Expected(0, (" passed",))),
]


def expectation(command: Command) -> Expected:
    for pattern, expected in EXPECTED:
        if re.search(pattern, command.text):
            return expected
    raise AssertionError(f"{command.doc}:{command.line}: no expectation for `{command.text}`")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _argv(text: str, ports: dict[str, int]) -> list[str]:
    for documented, free in ports.items():
        if documented == VCENTER:
            text = text.replace(VCENTER, f"http://127.0.0.1:{free}")
            continue
        text = text.replace(f":{documented}", f":{free}").replace(
            f"--port {documented}", f"--port {free}"
        )
    argv = shlex.split(text)
    if argv[0] in ("python3.11", "python3", "python"):
        argv[0] = sys.executable
    elif argv[0] == "snapconform":
        argv = [sys.executable, "-m", "snapconform", *argv[1:]]
    return argv


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SNAPCONFORM_", "PYTEST_"))}
    return {**env, **FAST_RUN_ENV, "CI": "true"}


def _wait_until_answering(url: str, server: subprocess.Popen[str]) -> None:
    for _ in range(1200):  # bounded: a server that never starts fails the test
        if server.poll() is not None:
            raise AssertionError(f"the documented server exited: {server.stderr.read()}")  # type: ignore[union-attr]
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def test_the_readme_quick_start_is_exactly_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    _, first = next(_blocks(ROOT / "README.md"))
    assert "## Quick start" in text.split(first)[0]
    assert [line.strip() for line in first.strip().splitlines()] == QUICK_START


def _runnable(block: list[Command]) -> bool:
    joined = " ".join(command.text for command in block)
    if VCENTER in joined and block[0].doc == README:
        return True  # against the stand-in
    if any(phrase in joined for phrase in NOT_RUN):
        return False
    return "snapconform" in joined or "127.0.0.1" in joined or "curl" in joined


def test_every_readme_command_runs() -> None:
    """The README promises verdicts for its real-server commands too: none is left out."""
    readme = [block for block in doc_blocks() if block[0].doc == README]
    assert any(VCENTER in " ".join(c.text for c in block) for block in readme)
    assert [block for block in readme if not _runnable(block)] == []


def test_every_block_is_run_or_says_why_not() -> None:
    for block in doc_blocks():
        runnable = _runnable(block)
        if not runnable:
            joined = " ".join(command.text for command in block)
            assert any(phrase in joined for phrase in NOT_RUN), block
            continue
        for command in block:
            if not command.background:
                expectation(command)  # raises when a loopback command has no expectation


def _prepare_project(cwd: Path, block: list[Command], ports: dict[str, int]) -> None:
    """Files a block presumes: the state file of the declared-mode example, earlier reports."""
    joined = " ".join(command.text for command in block)
    if "mock-state.json" in joined:
        from snapconform.server.defaults import default_state
        from snapconform.state import state_to_document

        document = state_to_document(default_state(0, size=40))
        document["principals"].append(
            {"username": "reader@vsphere.local", "password": "reader-pw",
             "privileges": ["System.Read"]}
        )  # fmt: skip
        (cwd / "mock-state.json").write_text(json.dumps(document), encoding="utf-8")
    if "@state.json" in joined:
        from snapconform.server.defaults import default_state
        from snapconform.state import state_to_document

        document = state_to_document(default_state(0))
        (cwd / "state.json").write_text(json.dumps(document), encoding="utf-8")
    if "snapconform report" in joined and not (cwd / "reports" / "summary.json").is_file():
        subprocess.run(
            [sys.executable, "-m", "snapconform", "run"], cwd=cwd, env=_environment(),
            capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=True,
        )  # fmt: skip
    if "reports-main" in joined:
        shutil.copytree(cwd / "reports", cwd / "reports-main", dirs_exist_ok=True)


def _servers_for(block: list[Command], cwd: Path) -> tuple[dict[str, int], list[Command]]:
    """The free port of each documented one, and the servers the test starts before the block:
    the vCenter stand-in, and the reference server of a block that talks to one it does not
    start."""
    ports: dict[str, int] = {}
    joined = " ".join(c.text for c in block)
    if VCENTER in joined:
        ports[VCENTER] = _free_port()
    for command in block:
        for documented in re.findall(r"(?:127\.0\.0\.1:|--port )(\d+)", command.text):
            ports.setdefault(documented, _free_port())
    started = []
    if VCENTER in joined:
        started.append(Command("(test)", 0, f"snapconform serve --port {ports[VCENTER]}", True))
    documented_ports = [p for p in ports if p != VCENTER]
    if not any(c.background for c in block) and documented_ports:
        port = documented_ports[0]
        state = " --state mock-state.json" if "--state-file mock-state.json" in joined else ""
        started.append(Command("(test)", 0, f"snapconform serve --port {port}{state}", True))
    return ports, started


RUNNABLE = [block for block in doc_blocks() if _runnable(block)]


@pytest.mark.slow
@pytest.mark.parametrize("block", RUNNABLE, ids=[f"{b[0].doc}:{b[0].line}" for b in RUNNABLE])
def test_the_documented_commands_do_what_the_doc_says(block: list[Command], tmp_path: Path) -> None:
    ports, servers = _servers_for(block, tmp_path)
    _prepare_project(tmp_path, block, ports)
    env = _environment()
    joined = " ".join(c.text for c in block)
    if "--state-file mock-state.json" in joined:
        env["SNAPCONFORM_PASSWORD"] = "reader-pw"  # "SNAPCONFORM_PASSWORD in the environment"
    if VCENTER in joined:  # the README's `export` line, with the stand-in's passwords
        from snapconform.server.defaults import ADMIN_PASSWORD, NOPRIVS_PASSWORD

        env["SNAPCONFORM_PASSWORD"] = ADMIN_PASSWORD
        env["SNAPCONFORM_UNPRIVILEGED_PASSWORD"] = NOPRIVS_PASSWORD
    running: list[subprocess.Popen[str]] = []

    def start(server: Command) -> None:
        process = subprocess.Popen(
            _argv(server.text, ports), cwd=tmp_path, env=env, text=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        running.append(process)
        argv = _argv(server.text, ports)
        port = argv[argv.index("--port") + 1] if "--port" in argv else "8080"  # serve's default
        _wait_until_answering(f"http://127.0.0.1:{port}/api/snapservice/tasks", process)

    try:
        for server in servers:
            start(server)
        for command in block:  # in the documented order: a replay starts after its capture
            if command.background:
                start(command)
                continue
            expected = expectation(command)
            completed = subprocess.run(
                _argv(command.text, ports), cwd=tmp_path, env=env, capture_output=True,
                text=True, timeout=COMMAND_TIMEOUT_S, check=False,
            )  # fmt: skip
            where = f"{command.doc}:{command.line} `{command.text}`"
            output = completed.stdout + completed.stderr
            assert completed.returncode == expected.exit_code, f"{where}\n{output[-3000:]}"
            for promised in expected.stdout:
                assert promised in completed.stdout, f"{where}: {promised!r}\n{output[-3000:]}"
            assert "Traceback" not in output, where
    finally:
        for process in running:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
