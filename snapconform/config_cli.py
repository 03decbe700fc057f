"""``snapconform config``: the effective configuration, secrets masked, with each value's source.

Takes the same configuration flags as ``snapconform run`` so that "what would this command line
do?" can be answered without running anything.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Collection
from pathlib import Path

from snapconform.settings import CONFIG_PATH_FLAG, SETTINGS, resolve_settings


def add_settings_arguments(
    parser: argparse.ArgumentParser, keys: Collection[str] | None = None
) -> None:
    """``--config`` and one flag per non-secret setting, every default None ("not given").

    ``keys``: only these settings (a command that uses a subset of ``run``'s options).
    """
    parser.add_argument(
        "--config",
        dest=CONFIG_PATH_FLAG,
        metavar="PATH",
        help="configuration file (default: ./snapconform.toml, else [tool.snapconform] in "
        "./pyproject.toml)",
    )
    for setting in SETTINGS:
        if setting.secret:
            continue  # secrets come from the environment, never from a command line
        if keys is not None and setting.key not in keys:
            continue
        if setting.parse.__name__ == "_parse_bool":
            parser.add_argument(
                setting.flag,
                dest=setting.key,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{setting.help} (env {setting.env_var})",
            )
        else:
            parser.add_argument(
                setting.flag,
                dest=setting.key,
                metavar=setting.key.split("_")[-1].upper(),
                help=f"{setting.help} (env {setting.env_var})",
            )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_settings_arguments(parser)
    parser.add_argument(
        "--json", action="store_true", help="print JSON (key -> {value, source}) instead of a table"
    )


def main(args: argparse.Namespace) -> int:
    resolved = resolve_settings(vars(args), os.environ, Path.cwd())
    for message in resolved.warnings:
        print(f"snapconform: warning: {message}", file=sys.stderr)
    rows = resolved.describe()
    # What a command that logs in would say about the credentials (config itself shows them
    # all, whatever is exported: it is where troubleshooting starts)
    problem = resolved.credential_problem()
    notes = [
        *([f"a command that logs in (run against a server, capture, diff) refuses: {problem}"]
          if problem else []),
        *resolved.unused_secrets(),
    ]  # fmt: skip
    if args.json:
        document: dict[str, object] = {
            key: {"value": shown, "source": source} for key, shown, source in rows
        }
        print(json.dumps(document, indent=2))
        for note in notes:
            print(f"snapconform: note: {note}", file=sys.stderr)
        return 0
    where = str(resolved.config_file) if resolved.config_file else "none found"
    print(f"configuration file: {where}")
    key_width = max(len(key) for key, _, _ in rows)
    value_width = min(48, max(len(shown) for _, shown, _ in rows))
    for key, shown, source in rows:
        print(f"  {key:<{key_width}}  {shown:<{value_width}}  ({source})")
    for note in notes:
        print(f"note: {note}")
    return 0
