"""The one way snapconform runs Hypothesis: a body on seeded examples of a strategy.

The checks' explorations (``Explorer.explore``: shrinking on), schema-driven fuzzing
(``fuzzing.runner``: explicit cases first, never shrinking: a finding is not re-sent) and the
request stream of ``snapconform diff`` (distinct examples only) all call :func:`drive`, so the
settings that make a run reproducible from its seed (no example database, no deadline, no
health checks against a live server) are stated once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from random import Random
from typing import Any, TypeVar

from hypothesis import (
    HealthCheck,
    Phase,
    example,
    given,
    seed as hypothesis_seed,
    settings,
    strategies as st,
)

T = TypeVar("T")

#: ``len(sys.modules)`` when snapconform's own modules were last handed to Hypothesis as seen.
_modules_marked = -1


def _own_sources_are_not_constants() -> None:
    """Keep Hypothesis from mining snapconform's own source for constants to draw.

    Hypothesis parses every *local* module (one not under site-packages) for literals it then
    mixes into draws. Installed from a wheel, snapconform is not local; run from a checkout
    (an editable install) it is, so the same ``--seed`` drew other examples there, and parsing
    ~150 modules cost ~1.3 CPU-seconds per run (issue 27). Marking snapconform's modules as
    already seen makes a checkout draw what the wheel draws. The process' main module is marked
    too: the ``snapconform`` console script is a local file outside site-packages whose one
    literal (``"__main__"``) entered the draws, so ``snapconform run --seed 3`` drew other
    examples than ``python -m snapconform run --seed 3`` (702 filter cases against 700); a
    program that drives snapconform does not change its draws either. Hypothesis' private set:
    when a version renames it this does nothing (slower, still correct).
    """
    global _modules_marked
    if len(sys.modules) == _modules_marked:
        return
    from hypothesis.internal.conjecture import providers

    seen = getattr(providers, "_seen_modules", None)
    if not isinstance(seen, set):
        return
    for name, module in list(sys.modules.items()):
        if id(module) in seen:
            continue  # marked, or already mined by Hypothesis: only new modules cost a look
        spec_name = getattr(getattr(module, "__spec__", None), "name", None) or name
        if name == "__main__" or spec_name == "snapconform" or spec_name.startswith("snapconform."):
            seen.add(id(module))
    _modules_marked = len(sys.modules)


def _global_random_unregistered() -> None:
    """Give this thread Hypothesis' global Random before Hypothesis registers one itself.

    On first use in a thread Hypothesis makes that Random and registers it, and registering
    runs ``gc.collect()`` and ``gc.get_referrers`` over the run's whole heap: ~0.1 CPU-second
    in a run (issue 27). Hypothesis itself makes it unregistered when it derives a seed
    (``get_random_for_wrapped_test``): registered, it would only be reseeded inside each test
    and restored after, and a seeded exploration never reads it, so the draws do not change.
    Hypothesis' private attribute: when a version renames it this does nothing.
    """
    try:
        from hypothesis.core import threadlocal
    except ImportError:
        return
    if getattr(threadlocal, "_hypothesis_global_random", Random) is None:
        threadlocal._hypothesis_global_random = Random()


#: Generation only (fuzzing adds its explicit cases; the checks add shrinking).
GENERATE: tuple[Phase, ...] = (Phase.generate,)
EXPLICIT_THEN_GENERATE: tuple[Phase, ...] = (Phase.explicit, Phase.generate)
WITH_SHRINKING: tuple[Phase, ...] = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)


def drive(
    strategy: st.SearchStrategy[T],
    body: Callable[[T], None],
    *,
    max_examples: int,
    seed: int | None,
    phases: tuple[Phase, ...] = WITH_SHRINKING,
    explicit: Sequence[Any] = (),
) -> None:
    """Run ``body`` on examples of ``strategy``: the ``explicit`` ones first, then up to
    ``max_examples`` drawn from ``seed`` (the same examples for the same seed).

    What ``body`` raises propagates as Hypothesis leaves it (after shrinking, when ``phases``
    shrink).
    """
    _own_sources_are_not_constants()
    _global_random_unregistered()
    test: Any = given(strategy)(body)
    for case in reversed(explicit):
        test = example(case)(test)
    test = settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=phases,
        print_blob=False,
    )(test)
    if seed is not None:
        test = hypothesis_seed(seed)(test)
    # No example database, so no database key: without one set, Hypothesis derives it from the
    # body's source (inspect.getsource and a tokenize, ~2.3 ms per exploration). Hypothesis'
    # private attribute: when a version renames it this does nothing (slower, still correct).
    test._hypothesis_internal_database_key = None
    test()
