"""``snapconform run``: check a server against the contract and write a verdict.

Options come from flags, the environment (SNAPCONFORM_*; secrets only from there) and a
configuration file (``snapconform.settings``). Exit status: :data:`EXIT_STATUS` (0 every MUST
requirement holds, 1 at least one fails, 2 no verdict possible, 3 incomplete, 130 interrupted).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from snapconform.config import RunConfig
from snapconform.config_cli import add_settings_arguments
from snapconform.run.runner import (
    EXIT_NO_VERDICT,
    INTERRUPTED,
    render_table,
    run,
    where_lines,
)
from snapconform.settings import SettingsError, resolve_run_config

#: The one wording of the exit statuses (README, docs/quickstart.md and docs/ci.md say the same;
#: tests/docs check it).
EXIT_STATUS = (
    "0 conformant, 1 non-conformant, 2 no verdict possible (a wrong flag or setting, or a "
    "target that cannot be checked: one line on stderr says why), 3 incomplete (no MUST "
    "failed, but an applicable MUST was not checked: budget, time, ...; the last lines say "
    "which and why), 130 interrupted"
)
INSECURE_WARNING = (
    "snapconform: warning: --insecure: the server's TLS certificate is not verified, so the "
    "credentials go to whoever answers; for a lab only (prefer --ca-bundle)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_settings_arguments(parser)
    parser.epilog = (
        "Secrets come from the environment only: SNAPCONFORM_PASSWORD, "
        f"SNAPCONFORM_UNPRIVILEGED_PASSWORD. Exit status: {EXIT_STATUS}."
    )


def unused_credentials_note(
    config: RunConfig, environ: Mapping[str, str] | None = None
) -> str | None:
    """Why configured credentials are not used, when they are not (else None).

    The embedded reference server and controlled mode log in with principals the harness pushes
    itself (fresh passwords per run); a SNAPCONFORM_PASSWORD meant for a real server does not
    fit them and must not be silently ignored.
    """
    given = [
        name
        for name, credentials in (
            ("SNAPCONFORM_USERNAME/SNAPCONFORM_PASSWORD", config.credentials),
            ("SNAPCONFORM_UNPRIVILEGED_USERNAME/_PASSWORD", config.unprivileged),
        )
        if credentials is not None
    ]
    # a password exported without its user name (a CI job's secrets, there for every step)
    for name, credentials in (
        ("SNAPCONFORM_PASSWORD", config.credentials),
        ("SNAPCONFORM_UNPRIVILEGED_PASSWORD", config.unprivileged),
    ):
        if credentials is None and (environ or {}).get(name):
            given.append(name)
    if not given:
        return None
    if config.base_url is None:
        where = "the embedded reference server logs in with principals of its own"
        hint = "; give --base-url to check another server with them"
    elif config.control_url is not None:
        where = "controlled mode logs in with principals it pushes to the mock"
        hint = ""
    else:
        return None
    return f"{where}: the configured {' and '.join(given)} are not used{hint}"


def main(args: argparse.Namespace) -> int:
    try:
        config = resolve_run_config(vars(args), os.environ, Path.cwd())
    except SettingsError as exc:
        print(f"snapconform: {exc}", file=sys.stderr)
        return EXIT_NO_VERDICT
    if config.insecure:
        print(INSECURE_WARNING, file=sys.stderr)
    unused = unused_credentials_note(config, os.environ)
    if unused:
        print(f"note: {unused}", flush=True)
    result = run(config)
    summary = result.summary
    mock_state = summary.get("mock_state")
    if mock_state:  # controlled mode: was the mock left as it was found?
        shown = (
            "not changed" if mock_state.get("changed") is False
            else "restored" if mock_state["restored"] else "NOT restored"
        )  # fmt: skip
        print(f"mock state: {shown}: {mock_state['detail']}")
    report_dir = result.summary_path.parent
    if summary["reason"] == INTERRUPTED:
        # the suite was stopped and has deleted its sessions; the partial summary is on disk,
        # and what it decided before the interruption is shown like a finished run's
        print("snapconform: interrupted", file=sys.stderr)
        print(render_table(summary, terminal_width()))
        print("\n".join(where_lines(report_dir)))
        return result.exit_code
    if summary["verdict"] == "error":
        print(f"snapconform: no verdict possible: {summary['reason']}", file=sys.stderr)
        print(where_lines(report_dir)[0])
        return result.exit_code
    for note in summary.get("notes", []):
        print(f"note: {note}")
    # the table, the verdict, the failures in full, what was not checked; then where to read on
    print(render_table(summary, terminal_width()))
    print("\n".join(where_lines(report_dir)))
    return result.exit_code


def terminal_width() -> int:
    """The width the end of a run is wrapped to: the terminal's (COLUMNS), 110 in a pipe."""
    return min(160, max(60, shutil.get_terminal_size((110, 24)).columns))
