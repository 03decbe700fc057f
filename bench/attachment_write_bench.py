"""CPU of writing one run's Allure attachments: allure-commons' ``.tmp`` + rename, or in place.

    .venv/bin/python bench/attachment_write_bench.py REPORT_DIR/allure-results [--repeats 5]

Reads the ``*-attachment.*`` files of a run's results (names and bodies) and writes them all into
a fresh directory, alternately as ``allure_commons.logger.AllureFileLogger.report_attached_data``
does (write ``NAME.tmp``, then ``os.replace``) and as ``snapconform.report.allure_writer
.write_new_file`` does (``O_EXCL``, one write), printing this process' CPU for each pass and the
medians. Stop 39, ~860 files of one controlled run: 0.058 CPU-s with the rename, 0.021 in place
(medians of 5) on a quiet machine; 0.448 and 0.431 (medians of 3) while the detection bench ran
two runs at a time beside it. File creation is kernel work whose cost moves with what else the
machine does, far more than Python work does.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from snapconform.report.allure_writer import write_new_file


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def with_rename(directory: Path, name: str, body: bytes) -> None:
    temporary = directory / f"{name}.tmp"
    with open(temporary, "wb") as file:
        file.write(body)
    os.replace(temporary, directory / name)


def in_place(directory: Path, name: str, body: bytes) -> None:
    write_new_file(directory / name, body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a run's allure-results directory")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    files = [(p.name, p.read_bytes()) for p in sorted(args.results.glob("*-attachment.*"))]
    if not files:
        parser.error(f"no *-attachment.* files in {args.results}")
    ways = {"tmp + rename": with_rename, "in place": in_place}
    spent: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(args.repeats):
        for way, write in ways.items():
            directory = Path(tempfile.mkdtemp(prefix="snapconform-attachments-"))
            before = cpu_seconds()
            for name, body in files:
                write(directory, name, body)
            spent[way].append(round(cpu_seconds() - before, 3))
            shutil.rmtree(directory, ignore_errors=True)
    print(f"{len(files)} attachment files, {sum(len(b) for _, b in files)} bytes")
    for way, samples in spent.items():
        print(f"{way}: {samples} CPU-s, median {statistics.median(samples)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
