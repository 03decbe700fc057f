"""``snapconform selftest``: run the engine against every mutant and the faithful server.

Prints the mutation matrix (mutant x mode -> the requirement that caught it and the requests it
took), the mutation score, and writes a JSON result. A mutant *cell* is caught when the verdict is
non-conformant AND one of the requirements the mutant declares is among the failed ones; a mutant
whose requirements are all SHOULD-level (it cannot make the verdict non-conformant, by design) is
caught when one of them failed. A faithful cell passes when the verdict is conformant.

Each cell's server (the mutant, the faithful server or a documented variant) is served with
``serve_in_thread`` and ``snapconform run``'s session runs against it in the same process,
exactly as ``snapconform run`` runs (``snapconform.run.runner.run``: the same plan, order and
verdict), writing the cell's report directory. With ``--jobs`` above 1 each cell runs so in a
worker process of its own (``python -m snapconform.selftest``), so cells run in parallel.
Whichever process ran it, a cell is judged from its ``summary.json`` alone
(``contracts/summary.schema.json``, validated): the only protocol between the processes. A run
that crashes or leaves no valid summary is that cell's error, not the matrix's.

Requests-to-detect comes from the summary too: an audit requirement's ``first_failure_request``
(the run's request count at the first response the audit flagged), a check's
``first_failure_request - started_at_request`` (the requests the check sent until its first
violation, before shrinking), or, when the violation came with no request of the check's own,
``ended_at_request - started_at_request`` (shrinking included). A cell's requests are the
summary's ``requests`` plus its ``closing_requests`` (the logouts after the checks): every
request the server received.

The package, one job per module: :mod:`~snapconform.selftest.cells` (configuration, cells,
results, score), :mod:`~snapconform.selftest.boundary` (declared mode's universe),
:mod:`~snapconform.selftest.worker` (running one cell), :mod:`~snapconform.selftest.runner`
(the matrix: cells run, results read from their summaries), :mod:`~snapconform.selftest.render`
(the matrix, README block and JSON document) and :mod:`~snapconform.selftest.cli` (the command).
"""

from __future__ import annotations

from snapconform.selftest.boundary import BOUNDARY_STATUS_COUNTS, boundary_state
from snapconform.selftest.cells import (
    FAITHFUL,
    MODES,
    TRAFFIC,
    VARIANT_PREFIX,
    Cell,
    CellResult,
    Score,
    SelftestConfig,
    SelftestError,
    is_variant,
    plan,
    score,
    should_only,
    variant_subject,
)
from snapconform.selftest.cli import add_arguments, config_from, main
from snapconform.selftest.render import (
    README_END,
    README_START,
    matrix_rows,
    render_markdown,
    render_text,
    result_document,
    update_readme,
)
from snapconform.selftest.runner import (
    read_cell,
    requests_to_detect,
    result_of,
    run_cell,
    run_matrix,
)
from snapconform.selftest.worker import cell_dir, execute

__all__ = [
    "BOUNDARY_STATUS_COUNTS",
    "FAITHFUL",
    "MODES",
    "README_END",
    "README_START",
    "TRAFFIC",
    "VARIANT_PREFIX",
    "Cell",
    "CellResult",
    "Score",
    "SelftestConfig",
    "SelftestError",
    "add_arguments",
    "boundary_state",
    "cell_dir",
    "config_from",
    "execute",
    "is_variant",
    "main",
    "matrix_rows",
    "plan",
    "read_cell",
    "render_markdown",
    "render_text",
    "requests_to_detect",
    "result_document",
    "result_of",
    "run_cell",
    "run_matrix",
    "score",
    "should_only",
    "update_readme",
    "variant_subject",
]
