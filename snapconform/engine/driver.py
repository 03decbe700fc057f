"""The one way snapconform runs Hypothesis: a body on seeded examples of a strategy.

The checks' explorations (``Explorer.explore``: shrinking on), schema-driven fuzzing
(``fuzzing.runner``: explicit cases first, never shrinking: a finding is not re-sent) and the
request stream of ``snapconform diff`` (distinct examples only) all call :func:`drive`, so the
settings that make a run reproducible from its seed (no example database, no deadline, no
health checks against a live server) are stated once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    test()
