"""``snapconform selftest``: run the engine against every mutant and the faithful server.

Prints the mutation matrix (mutant x mode -> the requirement that caught it and the requests it
took), the mutation score, and writes a JSON result. A mutant *cell* is caught when the verdict is
non-conformant AND one of the requirements the mutant declares is among the failed ones; a mutant
whose requirements are all SHOULD-level (it cannot make the verdict non-conformant, by design) is
caught when one of them failed. A faithful cell passes when the verdict is conformant.

Each cell serves its server with ``serve_in_thread`` in this process and runs the conformance
suite in a pytest subprocess exactly as ``snapconform run`` does (the runner's own command line,
environment and verdict), so cells run in parallel (``--jobs``).

Requests-to-detect comes from the engine's summary when it carries ``first_failure_request``
(the run's request count at a requirement's first violation, before shrinking): an audit
requirement's count as is, a check's minus the count at which the check started. Otherwise it is
measured outside the engine. For a requirement judged by a regular check it is the number of
requests that check sent until it reported its failure (from the suite's progress events, which
carry the harness's request count; includes Hypothesis' shrinking). For an audit requirement
(judged on every response) the server numbers every API request (control protocol excluded) and
replays each list response through the engine's own ResponseAudit as it is sent, so it is the
number of the first response the audit flags.



The package, one job per module: :mod:`~snapconform.selftest.cells` (configuration, cells,
results, score), :mod:`~snapconform.selftest.probe` (the server side),
:mod:`~snapconform.selftest.runner` (running cells), :mod:`~snapconform.selftest.render` (the
matrix, README block and JSON document) and :mod:`~snapconform.selftest.cli` (the command).
"""

from __future__ import annotations

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
from snapconform.selftest.probe import (
    BOUNDARY_STATUS_COUNTS,
    ServerProbe,
    boundary_state,
    instrumented,
)
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
    _FailureRequests,
    _requests_to_detect,
    run_cell,
    run_matrix,
)

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
    "ServerProbe",
    "_FailureRequests",
    "_requests_to_detect",
    "add_arguments",
    "boundary_state",
    "config_from",
    "instrumented",
    "is_variant",
    "main",
    "matrix_rows",
    "plan",
    "render_markdown",
    "render_text",
    "result_document",
    "run_cell",
    "run_matrix",
    "score",
    "should_only",
    "update_readme",
    "variant_subject",
]
