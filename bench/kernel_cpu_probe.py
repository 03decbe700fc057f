"""Where a verdict's CPU goes between user space and the kernel, run after run (issue 27).

    .venv/bin/python bench/kernel_cpu_probe.py [--runs 6] [--mode controlled]

Runs ``snapconform run`` (the CLI in a subprocess, default settings, seeds 0, 1, 2, 0, ...) against
one reference server started in this process, one run after the other, and prints each run's
user and system CPU, page faults, blocks read from and written to disk, and context switches
(``getrusage(RUSAGE_CHILDREN)`` deltas). Nothing is written to ``bench/``: this is a probe for
the question the CPU benches raised, why the same verdict costs 20-25% more CPU at one moment
than at another. Stop 39: the first of six runs read 49 376 blocks and spent 0.90 CPU-s in the
kernel, the next five 32 to 1 376 blocks and 0.19 to 0.29 CPU-s; user CPU was 3.5 to 4.0 s.
"""

from __future__ import annotations

import argparse
import sys

from benchlib import cli_run_usage, counted_server, server_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--mode", choices=("controlled", "observed"), default="controlled")
    args = parser.parse_args(argv)
    config = server_config(None, control=args.mode == "controlled", latency_ms=0)
    with counted_server(config) as server:
        for number in range(args.runs):
            seed = number % 3
            status, usage = cli_run_usage(server, args.mode, seed=seed, prefix="snapconform-probe-")
            print(
                f"run {number} seed {seed} exit {status}:"
                f" user {usage['user']:.2f} s,"
                f" system {usage['system']:.2f} s,"
                f" minor faults {usage['minflt']},"
                f" major faults {usage['majflt']},"
                f" blocks read {usage['inblock']},"
                f" blocks written {usage['oublock']},"
                f" voluntary switches {usage['nvcsw']},"
                f" involuntary {usage['nivcsw']}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
