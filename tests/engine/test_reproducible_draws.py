"""The same seed draws the same examples whatever PYTHONHASHSEED the process got.

A strategy that samples from a set draws in the set's iteration order, which follows the hash
seed of the process: ``snapconform run --seed N`` would then send other requests on every run.
"""

from __future__ import annotations

import os
import subprocess
import sys

DRAW = """
from snapconform.engine.driver import GENERATE, drive
from snapconform.strategies.filters import invalid_status_values
seen = []
def keep(value):
    seen.append(value)
drive(invalid_status_values(), keep, max_examples=60, seed=11, phases=GENERATE)
print(repr(seen))
"""


def _draws(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", DRAW], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_invalid_status_values_do_not_depend_on_the_hash_seed() -> None:
    first = _draws("1")
    assert first == _draws("2") == _draws("3")
