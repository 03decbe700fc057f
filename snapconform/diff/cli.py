"""``snapconform diff --base-url A --against B``: compare two servers request by request.

Options are ``run``'s where they apply (configuration file, environment, flags; secrets from the
environment only, the same credentials on both sides) plus ``--against``. Exit status: 0 no
confirmed difference, 1 at least one, 2 no comparison possible (usage, target or login problem).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from snapconform.config_cli import add_settings_arguments
from snapconform.diff.engine import DEFAULT_MAX_REQUESTS, DiffError, run_diff
from snapconform.diff.report import render_terminal, verdict, write_allure, write_document
from snapconform.settings import (
    SETTINGS_BY_KEY,
    SettingsError,
    resolve_settings,
    use_hypothesis_storage,
)
from snapconform.settings_catalogue import parse_url

EXIT_SAME = 0
EXIT_DIFFERENT = 1
EXIT_USAGE = 2

DIFF_SETTINGS: tuple[str, ...] = (
    "base_url",
    "username",
    "unprivileged_username",
    "auth",
    "api_version",
    "report_dir",
    "seed",
    "max_requests",
    "rate_limit",
    "insecure",
    "ca_bundle",
    "timeout",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_settings_arguments(parser, DIFF_SETTINGS)
    parser.add_argument(
        "--against",
        required=True,
        metavar="URL",
        help="server B, compared with --base-url (A): e.g. a mock loaded with A's capture",
    )
    for action in parser._actions:
        if action.dest == "max_requests":
            action.help = (
                f"request budget per server (default {DEFAULT_MAX_REQUESTS}; env"
                f" {SETTINGS_BY_KEY['max_requests'].env_var})"
            )
    parser.epilog = (
        "Only GET and the session calls are sent, never a control call. Secrets come from the "
        "environment only: SNAPCONFORM_PASSWORD, SNAPCONFORM_UNPRIVILEGED_PASSWORD. Writes "
        "REPORT_DIR/diff.json and a 'snapconform diff' section in REPORT_DIR/allure-results. "
        "Exit status: 0 no difference, 1 differences, 2 no comparison possible."
    )


def main(args: argparse.Namespace) -> int:
    try:
        flags = {k: v for k, v in vars(args).items() if k in (*DIFF_SETTINGS, "config")}
        resolved = resolve_settings(flags, os.environ, Path.cwd())
        against = _parse_against(args.against)
        config = resolved.run_config(logs_in=True)
    except SettingsError as exc:
        print(f"snapconform diff: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for message in [*resolved.warnings, *resolved.unused_secrets()]:
        print(f"snapconform diff: warning: {message}", file=sys.stderr)
    budget = resolved.values["max_requests"]
    max_requests = DEFAULT_MAX_REQUESTS if budget.source == "default" else int(budget.value)
    if config.base_url is None:
        print("snapconform diff: --base-url is required (server A)", file=sys.stderr)
        return EXIT_USAGE
    use_hypothesis_storage(config.report_dir, os.environ)
    try:
        result = run_diff(config, against, max_requests=max_requests)
    except DiffError as exc:
        print(f"snapconform diff: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report_dir = config.report_dir
    path = write_document(result, report_dir)
    write_allure(result, report_dir / "allure-results")
    for note in result.notes:
        print(f"note: {note}")
    print(render_terminal(result))
    print(f"diff: {path}")
    return EXIT_DIFFERENT if verdict(result) == "different" else EXIT_SAME


def _parse_against(value: str) -> str:
    try:
        return parse_url(value)
    except ValueError as exc:
        raise SettingsError(f"--against: {exc}") from None
