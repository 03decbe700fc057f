"""The shipped table of Unicode categories (settings.seed_unicode_table): Hypothesis' own.

Each check runs in a fresh interpreter: Hypothesis keeps its storage directory and the loaded
table in module globals.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import unicodedata
from pathlib import Path

from snapconform.settings import UNICODE_TABLES


def _in_fresh_interpreter(code: str, tmp_path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _table(path: Path) -> list[object]:
    with gzip.open(path, "rb") as data:
        return json.load(data)


def test_the_shipped_table_is_the_one_hypothesis_computes(tmp_path: Path) -> None:
    shipped = UNICODE_TABLES / f"charmap-{unicodedata.unidata_version}.json.gz"
    assert shipped.is_file(), f"no table shipped for Unicode {unicodedata.unidata_version}"
    written = _in_fresh_interpreter(
        "import sys\n"
        "from hypothesis.configuration import set_hypothesis_home_dir\n"
        "set_hypothesis_home_dir(sys.argv[1])\n"
        "from hypothesis.internal import charmap\n"
        "charmap.charmap()\n"
        "print(charmap.charmap_file())\n",
        tmp_path,
    )
    assert _table(Path(written)) == _table(shipped)


def test_a_runs_storage_gets_the_table_and_hypothesis_reads_it_without_computing(
    tmp_path: Path,
) -> None:
    # Computing the table asks unicodedata.category of every code point: made to fail here.
    out = _in_fresh_interpreter(
        "import sys, unicodedata\n"
        "from pathlib import Path\n"
        "from snapconform.settings import use_hypothesis_storage\n"
        "use_hypothesis_storage(Path(sys.argv[1]), {})\n"
        "from hypothesis.internal import charmap\n"
        "def refuse(_):\n"
        "    raise AssertionError('computed')\n"
        "unicodedata.category = refuse\n"
        "print(charmap.charmap_file())\n"
        "print(charmap.charmap()['Cs'])\n",
        tmp_path,
    )
    path, surrogates = out.splitlines()
    assert surrogates == "((55296, 57343),)"
    assert Path(path).is_relative_to(tmp_path / ".hypothesis")


def test_a_table_already_in_the_storage_is_left_alone(tmp_path: Path) -> None:
    out = _in_fresh_interpreter(
        "import sys\n"
        "from pathlib import Path\n"
        "from hypothesis.configuration import set_hypothesis_home_dir\n"
        "set_hypothesis_home_dir(Path(sys.argv[1]) / '.hypothesis')\n"
        "from hypothesis.internal import charmap\n"
        "target = charmap.charmap_file()\n"
        "target.parent.mkdir(parents=True, exist_ok=True)\n"
        "target.write_bytes(b'kept')\n"
        "from snapconform.settings import use_hypothesis_storage\n"
        "use_hypothesis_storage(Path(sys.argv[1]), {})\n"
        "print(target.read_bytes().decode())\n",
        tmp_path,
    )
    assert out == "kept"
