"""A cell's starting universe is built once per process and shared (``worker.cell_state``).

Sharing is sound only while nothing changes a State: the server keeps its tasks as given and
every mutant that alters an answer builds a new dict (``mutants.base.with_info``). This test
runs cells of mutants that alter items (the item-rewriting ones) in the modes whose universes
are large and shared across cells, then compares the shared universes with fresh ones.
"""

from __future__ import annotations

from snapconform.mutants import MUTANTS
from snapconform.mutants.base import ItemRewrite
from snapconform.selftest import Cell, SelftestConfig, boundary_state, run_matrix
from snapconform.selftest.worker import cell_state
from snapconform.server.defaults import default_state

CONFIG = SelftestConfig(max_examples=2, jobs=1, focus=True, until_caught=True)
REWRITING = sorted(
    name for name, mutant in MUTANTS.items() if issubclass(mutant.behaviour_class, ItemRewrite)
)


def test_no_cell_changes_the_universe_it_shares() -> None:
    assert REWRITING  # the mutants most likely to change a task in place
    cells = [
        Cell(name, mode, 0)
        for name in REWRITING[:2]
        for mode in ("declared", "observed")
        if mode in MUTANTS[name].modes
    ]
    results = run_matrix(CONFIG, cells)
    assert all(result.verdict in ("conformant", "non-conformant") for result in results)
    assert cell_state("declared", 0)[0] == boundary_state(0)
    assert cell_state("observed", 0)[0] == default_state(0)
