"""CPU of two checkouts' default verdicts, interleaved run by run (issue 27).

    .venv/bin/python bench/interleaved_cpu.py old=/path/to/checkout new=/path/to/other [--pairs 6]
                                              [--mode controlled]

Each pair runs ``snapconform run`` (the CLI in a subprocess, default settings) once per checkout,
same seed (the pair's number, 0, 1, 2, ...), against one reference server started in this process;
the order within a pair alternates. A checkout is put first on ``PYTHONPATH``, so it needs no venv
of its own (byte-compile both first for a fair comparison: ``python -m compileall -q``). Measured
in turn, minutes apart, two commits differ by the machine's drift as much as by their code;
interleaved, they share it. Prints every run and the medians; nothing is written to ``bench/``.
Stop 39: cea180a 4.17 against d48a57b 3.93 CPU-s (4 pairs); 2e40283 4.24 against 1576239 4.17
(6 pairs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from benchlib import cli_run_usage, counted_server, server_config


def checkout(text: str) -> tuple[str, Path]:
    label, _, path = text.partition("=")
    root = Path(path)
    if not label or not (root / "snapconform" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(f"want LABEL=CHECKOUT (a snapconform checkout): {text!r}")
    return label, root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs=2, type=checkout, metavar="LABEL=CHECKOUT")
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--mode", choices=("controlled", "observed"), default="controlled")
    args = parser.parse_args(argv)
    cpu: dict[str, list[float]] = {label: [] for label, _ in args.checkouts}
    config = server_config(None, control=args.mode == "controlled", latency_ms=0)
    with counted_server(config) as server:
        for seed in range(args.pairs):
            order = args.checkouts if seed % 2 == 0 else args.checkouts[::-1]
            for label, root in order:
                status, usage = cli_run_usage(
                    server, args.mode, seed=seed, checkout=root, prefix="snapconform-interleaved-"
                )
                spent = round(usage["user"] + usage["system"], 3)
                cpu[label].append(spent)
                print(f"pair {seed} {label}: exit {status}, {spent} CPU-s", flush=True)
    for label, samples in cpu.items():
        print(f"{label}: {samples} median {statistics.median(samples)}")
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
