"""``snapconform capture``: the command line around ``snapconform.capture``.

Its options (``run``'s that apply to a capture, plus ``--out``, ``--principal`` and
``--pseudonymize``), the terminal summary of a capture, and the exit status: 0 complete, 1
written with gaps (listed), 2 nothing written.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from snapconform.capture import CaptureResult, capture, parse_principal_options
from snapconform.config_cli import add_settings_arguments
from snapconform.errors import CaptureError
from snapconform.settings import SettingsError, resolve_settings
from snapconform.state import SYSTEM_READ

EXIT_COMPLETE = 0
EXIT_GAPS = 1
EXIT_USAGE = 2

#: ``run``'s options that apply to a capture (the rest concern the conformance checks).
CAPTURE_SETTINGS: tuple[str, ...] = (
    "base_url",
    "username",
    "unprivileged_username",
    "auth",
    "api_version",
    "max_requests",
    "rate_limit",
    "insecure",
    "ca_bundle",
    "timeout",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_settings_arguments(parser, CAPTURE_SETTINGS)
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help="where to write the state document (contracts/state.schema.json)",
    )
    parser.add_argument(
        "--principal",
        action="append",
        metavar="USER=VARIABLE",
        help="another principal to capture (e.g. one that sees only some tasks); its password is"
        " read from environment variable VARIABLE (repeatable)",
    )
    parser.add_argument(
        "--pseudonymize",
        action="store_true",
        help="replace user names and task ids consistently across the document (for sharing"
        " outside the team)",
    )
    parser.epilog = (
        "Read-only: GET and the session calls only, within --max-requests and --rate-limit. "
        "Secrets come from the environment only: SNAPCONFORM_PASSWORD, "
        "SNAPCONFORM_UNPRIVILEGED_PASSWORD; the document names them as placeholders. "
        "Exit status: 0 complete, 1 written with gaps (listed), 2 nothing written."
    )


def render_report(result: CaptureResult, out_path: Path) -> str:
    """The terminal summary: what was captured, what was not, and how to replay it."""
    lines = [
        f"captured {len(result.document['tasks'])} tasks with {result.requests} requests"
        f" -> {out_path}"
    ]
    for principal in result.principals:
        name = principal.username
        shown = result.user_pseudonyms.get(name)
        who = f"{name} (as {shown})" if shown else name
        if principal.problem is not None:
            lines.append(f"  NOT CAPTURED  {who}: {principal.problem}")
        elif SYSTEM_READ not in principal.privileges:
            lines.append(f"  principal     {who}: lacks System.Read (HTTP 403)")
        else:
            seen = len(principal.visible or ())
            how = f" ({principal.discovered})" if principal.discovered else ""
            lines.append(f"  principal     {who}: sees {seen} task(s){how}")
    if result.changed:
        lines.append(
            f"  changed       {len(result.changed)} open task(s) changed while the capture ran"
            f" (their last state is recorded): {_ids(result.changed)}"
        )
    if result.vanished:
        lines.append(
            f"  vanished      {len(result.vanished)} task(s) disappeared while the capture ran"
            f" (left out): {_ids(result.vanished)}"
        )
    for gap in result.gaps:
        lines.append(f"  NOT CAPTURED  {gap}")
    for note in result.notes:
        lines.append(f"  note          {note}")
    if result.user_pseudonyms:
        lines.append(
            "  pseudonymized user names and task ids (log in to a replay with the pseudonym)"
        )
    variables = sorted({p.password_variable for p in result.principals if p.problem is None})
    state = shlex.quote(str(out_path))  # the commands are printed to be pasted as they are
    lines.append(
        f"replay: snapconform serve --state {state} (passwords from "
        + ", ".join(f"${v}" for v in variables)
        + f"); certify a mock with it: snapconform run --base-url http://127.0.0.1:8080"
        f" --state-file {state}"
    )
    lines.append("complete" if result.complete else "INCOMPLETE: see NOT CAPTURED above")
    return "\n".join(lines)


def _ids(ids: list[str], shown: int = 5) -> str:
    head = ", ".join(ids[:shown])
    return head + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


def main(args: argparse.Namespace) -> int:
    try:
        flags = {k: v for k, v in vars(args).items() if k in (*CAPTURE_SETTINGS, "config")}
        resolved = resolve_settings(flags, os.environ, Path.cwd())
        extra = parse_principal_options(args.principal or [], os.environ)
        config = resolved.run_config(logs_in=True)
    except SettingsError as exc:
        print(f"snapconform capture: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for message in [*resolved.warnings, *resolved.unused_secrets()]:
        print(f"snapconform capture: warning: {message}", file=sys.stderr)
    try:
        result = capture(config, pseudonymize=args.pseudonymize, principals=extra)
    except CaptureError as exc:
        print(f"snapconform capture: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out: Path = args.out
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps(result.document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    except OSError as exc:
        print(f"snapconform capture: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    print(render_report(result, out))
    return EXIT_COMPLETE if result.complete else EXIT_GAPS
