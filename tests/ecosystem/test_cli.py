"""The CLI's error contract: --help everywhere, one line with a hint for a wrong flag."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from snapconform import cli
from snapconform.settings import MASK


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", sorted(cli.SUBCOMMANDS))
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main([command, "--help"], capsys)
    assert code == 0, err
    assert out.startswith(f"usage: snapconform {command}")


def test_top_level_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["--help"], capsys)
    assert code == 0
    for command in cli.SUBCOMMANDS:
        assert command in out


def test_unknown_flag_is_one_line_with_a_hint(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the README promises one line (argparse printed its 9-line usage first)
    code, out, err = run_main(["config", "--base-ur", "https://x.example"], capsys)
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        "snapconform config: error: unrecognized arguments: --base-ur https://x.example "
        "(did you mean '--base-url'?)"
    ]


@pytest.mark.parametrize(
    "argv",
    [["run", "--max-examples"], ["report", "--bogus"], [], ["serve", "--port", "x"]],
)
def test_every_usage_error_is_one_line_with_a_suggestion(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run_main(argv, capsys)
    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert line.startswith("snapconform") and ": error: " in line
    assert "--help` lists the options" in line or "did you mean" in line


def test_unknown_subcommand_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["confg"], capsys)
    assert code == 2
    assert err.strip().endswith("(did you mean 'config'?)")


def test_wrong_config_value_is_one_line_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "snapconform.toml").write_text('base_ur = "https://x.example"\n')
    code, out, err = run_main(["config"], capsys)
    assert code == 2
    assert out == ""
    assert (
        err == "snapconform: snapconform.toml: unknown key 'base_ur' (did you mean 'base_url'?)\n"
    )


def test_config_prints_sources_and_masks_secrets(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "snapconform.toml").write_text('base_url = "https://file.example"\nseed = 4\n')
    monkeypatch.setenv("SNAPCONFORM_USERNAME", "administrator@vsphere.local")
    monkeypatch.setenv("SNAPCONFORM_PASSWORD", "s3cr3t-pass")
    code, out, err = run_main(["config", "--seed", "5"], capsys)
    assert code == 0, err
    assert "s3cr3t-pass" not in out + err
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert lines["base_url"].split()[1:] == ["https://file.example", "(snapconform.toml)"]
    assert lines["password"].split()[1:] == [MASK, "(env", "SNAPCONFORM_PASSWORD)"]
    assert lines["seed"].split()[1:] == ["5", "(--seed)"]
    assert lines["mode"].split()[1:] == ["observed", "(derived)"]


def test_config_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["config", "--json", "--max-examples", "3"], capsys)
    assert code == 0
    document = json.loads(out)
    assert document["max_examples"] == {"value": "3", "source": "--max-examples"}
    assert document["mode"] == {"value": "controlled", "source": "derived"}


def install_fake_subcommand(monkeypatch: pytest.MonkeyPatch, failure: BaseException) -> None:
    module = types.ModuleType("snapconform_fake_cmd")

    def add_arguments(parser: object) -> None:
        return None

    def main(args: object) -> int:
        raise failure

    module.add_arguments = add_arguments  # type: ignore[attr-defined]
    module.main = main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapconform_fake_cmd", module)
    monkeypatch.setitem(cli.SUBCOMMANDS, "boom", ("snapconform_fake_cmd", "fails"))


def test_unexpected_exception_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SNAPCONFORM_DEBUG", raising=False)
    install_fake_subcommand(monkeypatch, RuntimeError("the\nbroken thing"))
    code, _, err = run_main(["boom"], capsys)
    assert code == cli.EXIT_INTERNAL == 4
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("snapconform: internal error: RuntimeError: the broken thing")


def test_os_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SNAPCONFORM_DEBUG", raising=False)
    install_fake_subcommand(monkeypatch, PermissionError(13, "Permission denied", "/reports"))
    code, _, err = run_main(["boom"], capsys)
    assert (code, err) == (4, "snapconform: Permission denied: /reports\n")


def test_debug_env_lets_the_traceback_through(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SNAPCONFORM_DEBUG", "1")
    install_fake_subcommand(monkeypatch, RuntimeError("bug"))
    with pytest.raises(RuntimeError, match="bug"):
        cli.main(["boom"])


def test_a_broken_subsystem_does_not_take_the_cli_down(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli.SUBCOMMANDS, "ghost", ("snapconform.no_such_module", "missing"))
    code, _, _ = run_main(["config", "--help"], capsys)
    assert code == 0
    code, _, err = run_main(["ghost"], capsys)
    assert code == cli.EXIT_INTERNAL == 4
    assert err.startswith("snapconform ghost: unavailable: snapconform.no_such_module:")


@pytest.mark.slow
def test_python_dash_m_entry_point(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "snapconform", "config", "--auth", "kerberos"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == "snapconform: --auth: expected one of session, basic; got 'kerberos'\n"


def _probed(probe: str, entry: str) -> tuple[list[Any], str]:
    """Run ``probe`` (``ENTRY``: the cli function it calls) in a fresh interpreter: the JSON
    list its last stderr line reports, and the whole stderr for a failure's message."""
    result = subprocess.run(
        [sys.executable, "-c", probe.replace("ENTRY", entry)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(result.stderr.strip().splitlines()[-1]), result.stderr


#: What a process reports of its collector after the command: thresholds and frozen objects.
_COLLECTOR_PROBE = (
    "import gc, json, sys\n"
    "from snapconform import cli\n"
    "sys.argv = ['snapconform', 'config', '--json']\n"
    "code = cli.ENTRY()\n"
    "print(json.dumps([code, gc.get_threshold(), gc.get_freeze_count()]), file=sys.stderr)\n"
)


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["console_main", "main"])
def test_only_the_commands_own_process_gets_its_collector_tuned(project: Path, entry: str) -> None:
    """The console script (and ``python -m``) tunes the collector for the whole process and
    freezes what is left before the process ends, so that its shutdown collects nothing (issue
    27); ``main`` called inside another program leaves that program's collector alone."""
    from snapconform.collector import RUN_GC_THRESHOLD

    (code, threshold, frozen), stderr = _probed(_COLLECTOR_PROBE, entry)
    assert code == 0, stderr
    if entry == "console_main":
        assert tuple(threshold) == RUN_GC_THRESHOLD
        assert frozen > 10_000  # the import graph, which the shutdown then skips
    else:
        assert tuple(threshold) == (700, 10, 10) and frozen == 0


#: What the command's handler sees of the collector: frozen objects when the command starts.
_FROZEN_AT_START_PROBE = (
    "import gc, json, sys\n"
    "from snapconform import cli\n"
    "parse, seen = cli.parse_args, []\n"
    "def parse_args(argv):\n"
    "    args = parse(argv)\n"
    "    args.handler = lambda args: seen.append(gc.get_freeze_count()) or 0\n"
    "    return args\n"
    "cli.parse_args = parse_args\n"
    "sys.argv = ['snapconform', 'config', '--json']\n"
    "code = cli.ENTRY()\n"
    "print(json.dumps([code, seen]), file=sys.stderr)\n"
)


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["console_main", "main"])
def test_the_commands_own_process_starts_with_its_imports_frozen(project: Path, entry: str) -> None:
    """Once the arguments are parsed, the command's own process freezes what it imported
    (``collector.imports_settled``): no collection of the run walks those modules again
    (issue 27). ``main`` called inside another program freezes nothing of that program."""
    (code, seen), stderr = _probed(_FROZEN_AT_START_PROBE, entry)
    assert code == 0 and len(seen) == 1, stderr
    if entry == "console_main":
        assert seen[0] > 10_000  # the parser's imports: the run's engine and its libraries
    else:
        assert seen[0] == 0


def test_python_dash_m_runs_console_main() -> None:
    # the console script's entry point is checked in the built wheel
    # (test_wheel_isolation.py::test_the_wheel_adds_one_top_level_name)
    import snapconform.__main__ as dunder_main

    assert dunder_main.console_main is cli.console_main


#: A command whose main handles an interrupt that left a function built with ``exec``, as the
#: standard library and Hypothesis build them, then returns 130; run with ``python -m``.
_INTERRUPTED_IN_EXEC = """
import sys

from snapconform import cli


def main(argv=None, *, own_process=False) -> int:  # cli.main's signature
    try:
        exec("raise KeyboardInterrupt")
    except KeyboardInterrupt:
        print("snapconform: interrupted", file=sys.stderr)
        return cli.EXIT_INTERRUPTED
    return 0


def raising_main(argv=None, *, own_process=False) -> int:
    raise KeyboardInterrupt


cli.main = MAIN
sys.exit(cli.ENTRY())
"""


@pytest.mark.parametrize(
    ("entry", "main", "code"),
    [
        ("console_main", "main", 130),
        # main as it returned: a KeyboardInterrupt no handler of main's saw
        ("console_main", "raising_main", 130),
        # without console_main, CPython 3.11 ends the process with SIGINT: what it guards against
        pytest.param(
            "main",
            "main",
            -signal.SIGINT,
            marks=pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="CPython 3.11's"),
        ),
    ],
)
def test_an_interrupted_command_exits_130_with_one_line(
    tmp_path: Path, entry: str, main: str, code: int
) -> None:
    (tmp_path / "interrupted_command.py").write_text(
        _INTERRUPTED_IN_EXEC.replace("MAIN", main).replace("ENTRY", entry), encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "interrupted_command"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr.strip()) == (code, "snapconform: interrupted")
