"""``snapconform run``: check a server against the contract and write a verdict.

Options come from flags, the environment (SNAPCONFORM_*; secrets only from there) and a
configuration file (``snapconform.settings``). Exit status: 0 every MUST requirement holds,
1 at least one fails, 2 no verdict possible (one line on stderr says why).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from snapconform.config_cli import add_settings_arguments
from snapconform.engine.runner import EXIT_NO_VERDICT, INTERRUPTED, render_table, run
from snapconform.settings import SettingsError, resolve_run_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_settings_arguments(parser)
    parser.epilog = (
        "Secrets come from the environment only: SNAPCONFORM_PASSWORD, "
        "SNAPCONFORM_UNPRIVILEGED_PASSWORD. Exit status: 0 conformant, 1 non-conformant, "
        "2 no verdict possible."
    )


def main(args: argparse.Namespace) -> int:
    try:
        config = resolve_run_config(vars(args), os.environ, Path.cwd())
    except SettingsError as exc:
        print(f"snapconform: {exc}", file=sys.stderr)
        return EXIT_NO_VERDICT
    result = run(config)
    summary = result.summary
    if summary["reason"] == INTERRUPTED:
        # the suite was stopped and has deleted its sessions; the partial summary is on disk
        print("snapconform: interrupted", file=sys.stderr)
        return result.exit_code
    if summary["verdict"] == "error":
        print(f"snapconform: no verdict possible: {summary['reason']}", file=sys.stderr)
        print(f"summary: {result.summary_path}")
        return result.exit_code
    for note in summary.get("notes", []):
        print(f"note: {note}")
    print(render_table(summary))
    print(f"summary: {result.summary_path}")
    return result.exit_code
