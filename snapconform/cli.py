"""The ``snapconform`` command line: run, serve, selftest, report, config, capture, diff.

Each subcommand lives with its subsystem and registers itself here; this module only composes,
and owns the error contract: a wrong flag is one line with a suggestion (exit 2), a wrong
configuration value is one line (exit 2), and nothing ever ends in a traceback unless
``SNAPCONFORM_DEBUG=1`` asks for one.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Callable, Collection, Sequence
from typing import NoReturn

from snapconform.collector import imports_settled, nothing_left_to_collect, tune_this_process
from snapconform.errors import did_you_mean

#: subcommand -> module that provides ``add_arguments(parser)`` and ``main(args) -> int``
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("snapconform.run.cli", "check a server against the contract and write a verdict"),
    "serve": ("snapconform.serve_cli", "serve the reference implementation on loopback"),
    "selftest": ("snapconform.selftest", "run the engine against mutant servers: mutation matrix"),
    "config": ("snapconform.config_cli", "show the effective configuration and where it came from"),
    "report": ("snapconform.report.cli", "render summary.md and the HTML report; compare two runs"),
    "capture": ("snapconform.capture_cli", "capture a server's visible data as a state document"),
    "diff": ("snapconform.diff.cli", "send the same requests to two servers; report differences"),
}

EXIT_USAGE = 2  # wrong flag or configuration value (argparse's convention)
#: A bug or an environment problem we did not anticipate (3 is `run`'s incomplete verdict).
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130
DEBUG_ENV = "SNAPCONFORM_DEBUG"

_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<given>[^']*)' \(choose from (?P<choices>.*)\)")

Handler = Callable[[argparse.Namespace], int]


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are one line with a suggestion: a did-you-mean for a misspelt
    option or choice, else where the options are listed (``--help``); no usage block."""

    def error(self, message: str) -> NoReturn:
        choice = _INVALID_CHOICE.search(message)
        if choice:
            options = re.findall(r"'([^']*)'", choice.group("choices"))
            message += did_you_mean(choice.group("given"), options)
        if "did you mean" not in message:
            message = f"{message} (`{self.prog} --help` lists the options)"
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

    def option_hint(self, unknown: str) -> str:
        """`` (did you mean '--base-url'?)`` for an option close to *unknown*, else ``''``."""
        if not unknown.startswith("-"):
            return ""
        name = unknown.split("=", 1)[0]
        options = [option for option in self._option_string_actions if option.startswith("--")]
        return did_you_mean(name, options)


def _unavailable(name: str, module_name: str, problem: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        print(f"snapconform {name}: unavailable: {module_name}: {problem}", file=sys.stderr)
        return EXIT_INTERNAL

    return handler


def build_parser(
    load: Collection[str] | None = None,
) -> tuple[ArgumentParser, dict[str, ArgumentParser]]:
    """The top-level parser and each subcommand's parser (for usage in error messages).

    *load* names the subcommands whose modules are imported to add their options (``None``:
    all); the others get a bare parser. Importing every subsystem costs a `run` ~0.2 CPU-s
    (selftest, diff, capture, server...) for parsers it never uses."""
    parser = ArgumentParser(
        prog="snapconform",
        allow_abbrev=False,
        description="Contract testing and fuzzing for GET /api/snapservice/tasks (vSphere 8.0.3+).",
        epilog="Start with `snapconform serve` (a reference server) and `snapconform run` "
        "(check a server). `snapconform COMMAND --help` lists a command's options.",
    )
    from snapconform._version import __version__

    parser.add_argument("--version", action="version", version=f"snapconform {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    subparsers: dict[str, ArgumentParser] = {}
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        # no abbreviations: a CI script's `--base` must not change meaning when a flag is added
        sub = commands.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
        subparsers[name] = sub
        if load is not None and name not in load:
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as error:  # one broken subsystem must not take the whole CLI down
            sub.set_defaults(handler=_unavailable(name, module_name, _one_line(error)))
            continue
        module.add_arguments(sub)
        sub.set_defaults(handler=module.main)
    return parser, subparsers


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand *argv* names: its first word that is not an option (the top level has
    only --help and --version, which take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    words = sys.argv[1:] if argv is None else argv
    chosen = _chosen_command(words)
    parser, subparsers = build_parser(load=() if chosen is None else (chosen,))
    args, extras = parser.parse_known_args(argv)
    if extras:
        # report against the subcommand's own usage, with a hint for a misspelt option
        owner = subparsers.get(getattr(args, "command", ""), parser)
        hint = owner.option_hint(extras[0])
        owner.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
    return args


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _skip_httpx_command_line() -> None:
    """Keep httpx from importing its own command line into this process.

    ``import httpx`` imports ``httpx._main`` (click, rich and pygments) whenever those are
    installed, and schemathesis installs them: ~50 ms of CPU in every snapconform command,
    which never runs httpx's command line. httpx falls back to a stub when that import fails,
    which a ``None`` in ``sys.modules`` makes it do. Only once httpx is not yet imported.
    """
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None, *, own_process: bool = False) -> int:
    """The ``snapconform`` command; ``own_process``: the process is the command's alone
    (:func:`console_main`), whose imports may be frozen (:func:`imports_settled`)."""
    _skip_httpx_command_line()
    args = parse_args(argv)
    if own_process:
        imports_settled()
    from snapconform.settings import SettingsError

    try:
        return int(args.handler(args))
    except SettingsError as error:
        print(f"snapconform: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("snapconform: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (`snapconform config | head`): not an error worth a message
        sys.stderr.close()
        return 0
    except OSError as error:
        if os.environ.get(DEBUG_ENV):
            raise
        where = f": {error.filename}" if error.filename else ""
        print(f"snapconform: {error.strerror or _one_line(error)}{where}", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as error:
        if os.environ.get(DEBUG_ENV):
            raise
        print(
            f"snapconform: internal error: {_one_line(error)} "
            f"(set {DEBUG_ENV}=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def console_main() -> int:
    """The ``snapconform`` command in a process of its own (the console script, and
    ``python -m snapconform``): :func:`main`, with the collector tuned for the whole process
    and no collection left for its exit (:mod:`snapconform.collector`). A caller that runs
    :func:`main` inside its own process keeps its collector as it was."""
    tune_this_process()
    try:
        code = main(own_process=True)
    except KeyboardInterrupt:  # a signal that landed outside main's handling: as it returned
        print("snapconform: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    finally:
        nothing_left_to_collect()
    forget_caught_keyboard_interrupts()
    return code


def forget_caught_keyboard_interrupts() -> None:
    """Keep the exit code :func:`main` returned after an interrupt it handled.

    CPython (3.11) remembers a KeyboardInterrupt that left an ``exec`` or ``eval`` of a string
    (the standard library and Hypothesis build functions that way), even one a caller then
    caught, and at the end of ``python -m`` kills its own process with SIGINT. A signal that
    landed in such code once turned an interrupted run, which had printed its summary and
    returned 130, into a process killed by SIGINT (exit -2), with nothing on stderr to say why.
    Every evaluation of a string clears that memory as it starts: this one leaves it clear.
    """
    exec("pass")


if __name__ == "__main__":
    sys.exit(console_main())
