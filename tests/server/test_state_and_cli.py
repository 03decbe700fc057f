"""State documents (parse, round trip, files) and the ``serve`` subcommand's refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from snapconform.cli import parse_args
from snapconform.server.defaults import default_state
from snapconform.state import (
    StateDocumentError,
    load_state_file,
    parse_state_document,
    state_to_document,
)


def test_default_state_round_trips_and_is_deterministic() -> None:
    state = default_state(seed=5, size=120)
    document = state_to_document(state)
    assert parse_state_document(document) == state
    assert state_to_document(default_state(seed=5, size=120)) == document
    assert state_to_document(default_state(seed=6, size=120)) != document


def test_principal_repr_hides_the_password() -> None:
    principal = default_state(size=6).principals[0]
    assert principal.password not in repr(principal)


@pytest.mark.parametrize(
    ("document", "mentions"),
    [
        ([], "$: [] is not of type 'object'"),
        ({"tasks": [], "principals": [{"username": "a", "password": "p"}]}, "$.principals[0]"),
        (
            {"tasks": [], "principals": [{"username": "a", "password": "p", "privileges": []}] * 2},
            "duplicate username 'a'",
        ),
    ],
)
def test_invalid_documents_name_the_problem(document: Any, mentions: str) -> None:
    with pytest.raises(StateDocumentError, match=None) as caught:
        parse_state_document(document)
    assert mentions in str(caught.value)


def test_load_state_file_errors(tmp_path: Path) -> None:
    with pytest.raises(StateDocumentError, match="cannot read state file"):
        load_state_file(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(StateDocumentError, match="is not JSON"):
        load_state_file(broken)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(state_to_document(default_state(size=12))), encoding="utf-8")
    assert len(load_state_file(good).tasks) == 12


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--host", "0.0.0.0"], "loopback only"),
        (["serve", "--churn", "-1"], "--churn must be >= 0"),
        (["serve", "--state", "/nonexistent/state.json"], "cannot read state file"),
    ],
)
def test_serve_refuses_bad_options(argv: list[str], message: str, capsys: Any) -> None:
    args = parse_args(argv)
    assert args.handler(args) == 2
    assert message in capsys.readouterr().err


def test_serve_rejects_unknown_api_versions(capsys: Any) -> None:
    with pytest.raises(SystemExit):
        parse_args(["serve", "--api-version", "7.0"])
    assert "invalid choice" in capsys.readouterr().err


def test_serve_help_shows_the_default_host_and_port(capsys: Any) -> None:
    with pytest.raises(SystemExit):
        parse_args(["serve", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--host HOST loopback address to bind (default 127.0.0.1)" in shown
    assert "--port PORT port (default 8080;" in shown


def test_serve_names_the_mutant_it_plays_on_start() -> None:
    """`serve --mutant NAME` says, before anything else, which mutant answers (it printed the
    reference server's banner); read from a real `snapconform serve` process."""
    import subprocess
    import sys

    from snapconform.mutants import get

    mutant = get("cap-truncates")
    process = subprocess.Popen(
        [sys.executable, "-m", "snapconform", "serve", "--mutant", mutant.name, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        first, second = process.stdout.readline(), process.stdout.readline()  # type: ignore[union-attr]
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert first.startswith("snapconform MUTANT server 'cap-truncates' on http://127.0.0.1:")
    assert "not the reference server" in second and mutant.description in second


def test_the_faithful_server_banner_names_no_mutant() -> None:
    from snapconform.serve_cli import banner

    lines = banner("127.0.0.1", 8080, control=False)
    assert lines == ["snapconform reference server on http://127.0.0.1:8080"]
