"""The same verdicts with reads in flight (``--concurrency 4``): the faithful server conformant in
every mode, and mutants whose checks read in batches caught in each mode.

The mutants chosen fail the batched checks (soundness, completeness, OR/AND, order and repeats,
determinism, exact values, unknown identifiers, the contract probe, fuzzing's reads): a batch
that lost, reordered or misattributed an answer would let one of them through or fail the
faithful server.
"""

from __future__ import annotations

import pytest

from snapconform.selftest import FAITHFUL, Cell, SelftestConfig, run_matrix
from snapconform.selftest.render import render_text

pytestmark = pytest.mark.slow

SEED = 0
#: CI's matrix settings (focused, until caught), four reads in flight
CONCURRENT = SelftestConfig(
    seed=SEED,
    faithful_seeds=(SEED,),
    max_examples=5,
    jobs=1,
    focus=True,
    until_caught=True,
    concurrency=4,
)
CELLS = [
    Cell(FAITHFUL, "controlled", SEED),
    Cell(FAITHFUL, "declared", SEED),
    Cell(FAITHFUL, "observed", SEED),
    Cell("filter-ignores-status", "controlled", SEED),
    Cell("filter-and-within-field", "controlled", SEED),
    Cell("filter-invents-task-ids", "observed", SEED),
    Cell("intermittent-drops-item", "declared", SEED),
    Cell("filter-prefix-match", "controlled", SEED),
    Cell("filter-unknown-task-id-500", "declared", SEED),
    Cell("contract-datetime-space", "controlled", SEED),
    Cell("intermittent-ignores-users", "observed", SEED),
]


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: f"{c.subject}/{c.mode}")
def test_the_same_verdict_with_reads_in_flight(cell: Cell) -> None:
    [result] = run_matrix(CONCURRENT, [cell])
    assert result.ok, (
        f"{cell.subject}/{cell.mode}: verdict {result.verdict}, failed {list(result.failed)},"
        f" caught_by {list(result.caught_by)}\n{render_text([result])}"
    )
