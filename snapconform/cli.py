"""The ``snapconform`` command line: run, serve, selftest, report, config.

Each subcommand lives with its subsystem and registers itself here; this module only composes.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: subcommand -> module that provides ``add_arguments(parser)`` and ``main(args) -> int``
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("snapconform.engine.cli", "check a server against the contract and write a verdict"),
    "serve": ("snapconform.server.cli", "serve the reference implementation on loopback"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="snapconform",
        description="Contract testing and fuzzing for GET /api/snapservice/tasks (vSphere 8.0.3+).",
    )
    from snapconform import __version__

    parser.add_argument("--version", action="version", version=f"snapconform {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        sub = commands.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("snapconform: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
