"""``snapconform serve``: the reference server on loopback, in the foreground."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import uvicorn

from snapconform.contracts import default_contracts
from snapconform.server.app import CONTROL_PREFIX, ServerConfig, create_app
from snapconform.server.behaviour import Behaviour
from snapconform.server.runner import LOOPBACK_HOSTS, bind_socket, uvicorn_config
from snapconform.state import StateDocumentError, load_state_file

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
#: A minute: beyond it a client's timeout, not latency, is what gets tested.
MAX_LATENCY_MS = 60_000
#: The largest generated universe ``--tasks`` builds (a bigger store is a state file's job).
MAX_GENERATED_TASKS = 200_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    versions = list(default_contracts().profiles()["profiles"])
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"loopback address to bind (default {DEFAULT_HOST})",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0: any free port)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="state document to load (contracts/state.schema.json); default: 1500 generated tasks",
    )
    parser.add_argument(
        "--tasks",
        type=int,
        metavar="N",
        help="size of the generated universe (default 1500; from 5000 on, a busy vCenter: the"
        " tasks spread evenly over the five statuses, so 10000 puts every status over the cap)",
    )
    parser.add_argument(
        "--churn", type=float, default=0.0, metavar="RATE", help="task changes per second"
    )
    parser.add_argument("--api-version", default="8.0.3", choices=versions)
    parser.add_argument("--seed", type=int, default=0, help="seed of the default universe")
    parser.add_argument(
        "--no-control", action="store_true", help="do not serve the control protocol"
    )
    parser.add_argument(
        "--mutant", metavar="NAME", help="serve a mutant (snapconform selftest --list)"
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="hold every endpoint and session response back MS milliseconds, like a remote "
        "server (default 0; the control protocol is never delayed)",
    )
    parser.add_argument(
        "--latency-jitter",
        type=float,
        default=0.0,
        metavar="MS",
        help="vary each delay uniformly by up to ±MS milliseconds (seeded by --seed; default 0)",
    )
    from snapconform.server.variants import VARIANTS

    listed = "; ".join(f"{v.name}: {v.description}" for v in VARIANTS.values())
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help=f"play a documented alternative (repeatable; docs/reference-server.md): {listed}",
    )


def banner(
    host: str,
    port: int,
    *,
    mutant: tuple[str, str] | None = None,
    variants: list[str] | None = None,
    control: bool = True,
    latency_ms: tuple[float, float] = (0.0, 0.0),
) -> list[str]:
    """What ``serve`` prints on start: where it listens and what it plays.

    A mutant is named with its deviation: a person who starts one must not take it for the
    faithful reference server (``selftest --list`` has every name).
    """
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    if mutant is None:
        lines = [f"snapconform reference server on {base}"]
    else:
        name, description = mutant
        lines = [
            f"snapconform MUTANT server {name!r} on {base}",
            f"  not the reference server: it deviates on purpose: {description}",
        ]
    if variants:
        lines.append(f"playing variants: {', '.join(variants)}")
    if control:
        lines.append(f"control protocol at {base}{CONTROL_PREFIX}")
    latency, jitter = latency_ms
    if latency or jitter:
        lines.append(
            f"responses delayed {latency:g} ms ± {jitter:g} ms (control protocol: not delayed)"
        )
    return lines


def main(args: argparse.Namespace) -> int:
    if args.host not in LOOPBACK_HOSTS:
        print(f"snapconform serve: refusing to bind {args.host!r}: loopback only", file=sys.stderr)
        return 2
    if args.churn < 0:
        print("snapconform serve: --churn must be >= 0", file=sys.stderr)
        return 2
    for flag, value in (("--latency", args.latency), ("--latency-jitter", args.latency_jitter)):
        if not math.isfinite(value) or not 0 <= value <= MAX_LATENCY_MS:
            print(
                f"snapconform serve: {flag} must be between 0 and {MAX_LATENCY_MS} (milliseconds),"
                f" not {value:g}",
                file=sys.stderr,
            )
            return 2
    state = None
    if args.tasks is not None:
        if args.state is not None:
            print("snapconform serve: --tasks and --state exclude each other", file=sys.stderr)
            return 2
        if not 0 <= args.tasks <= MAX_GENERATED_TASKS:
            print(
                f"snapconform serve: --tasks must be between 0 and {MAX_GENERATED_TASKS},"
                f" not {args.tasks}",
                file=sys.stderr,
            )
            return 2
        from snapconform.server.defaults import generated_state

        state = generated_state(args.seed, args.tasks)
    if args.state is not None:
        try:
            state = load_state_file(args.state)
        except StateDocumentError as exc:
            print(f"snapconform serve: {exc}", file=sys.stderr)
            return 2
    from snapconform.server.variants import UnknownVariantError, behaviour_class_with

    base: type[Behaviour] = Behaviour
    name = "faithful"
    mutant: tuple[str, str] | None = None
    if args.mutant is not None:
        from snapconform.mutants import UnknownMutantError, get

        try:
            played = get(args.mutant)
        except UnknownMutantError as exc:
            print(f"snapconform serve: {exc}", file=sys.stderr)
            return 2
        base, name, mutant = played.behaviour_class, played.name, (played.name, played.description)
    try:
        behaviour = behaviour_class_with(args.variant, base)()
    except (UnknownVariantError, ValueError) as exc:
        print(f"snapconform serve: {exc}", file=sys.stderr)
        return 2
    behaviour.name = "+".join([name, *dict.fromkeys(args.variant)])
    config = ServerConfig(
        behaviour=behaviour,
        state=state,
        api_version=args.api_version,
        churn_rate=args.churn,
        control=not args.no_control,
        seed=args.seed,
        latency=args.latency / 1000,
        latency_jitter=args.latency_jitter / 1000,
    )
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(f"snapconform serve: cannot bind {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    for line in banner(
        host,
        port,
        mutant=mutant,
        variants=list(dict.fromkeys(args.variant)),
        control=config.control,
        latency_ms=(args.latency, args.latency_jitter),
    ):
        print(line, flush=True)
    server = uvicorn.Server(uvicorn_config(create_app(config), log_level="info"))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
