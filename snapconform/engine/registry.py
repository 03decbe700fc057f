"""The requirement registry: each requirement is declared once, on the check that judges it.

A check is a function ``check_x(h: Harness, req: Requirement) -> CheckResult`` of the
``snapconform.engine.checks`` package, declared with :func:`requirement`::

    @requirement(
        id="FILTER-SOUNDNESS",
        title="Every returned task matches the filter",
        level="MUST",
        feature="filter semantics",
        sources=(AT_MOST_1000_VISIBLE, FIELDS_COMBINE_WITH_AND),  # engine.quotes
        alternatives=("users-case",),
    )
    def check_filter_soundness(h: Harness, req: Requirement) -> CheckResult: ...

It returns passed, not checked or not applicable, and fails one way: it raises
``verdicts.Violation`` with its evidence (:meth:`Requirement.check` makes the failed result).
The check receives its own :class:`Requirement` (``req.id`` for uncertain cases, the plan's
minimum, the audit's findings), so no id is typed twice. Everything else is built from the
registry: :func:`catalogue` (the documented order), the conformance suite (one test per
requirement of a feature: :func:`requirements_for`), ``docs/requirements.md``
(``python -m snapconform.engine.requirements``), the Allure labels and the summary rows.

This module imports no check: :func:`catalogue` imports the checks package, whose import
registers every declaration.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar

from snapconform.config import Mode
from snapconform.engine.verdicts import CheckResult, Violation
from snapconform.sources import (
    QUOTE_GAP as QUOTE_GAP,
    SPEC_URL as SPEC_URL,
    Source as Source,
    SourceKind as SourceKind,
    bindings as bindings,
    ours as ours,
    page as page,
)
from snapconform.wire import ENDPOINT

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness

Level = Literal["MUST", "SHOULD"]
Feature = Literal["contract", "filter semantics", "cap", "auth", "faults", "fuzzing"]
#: The documented order of the features (the catalogue, the docs, the suite's modules).
FEATURES: tuple[Feature, ...] = ("contract", "filter semantics", "cap", "auth", "faults", "fuzzing")
MODES: tuple[Mode, ...] = ("controlled", "declared", "observed")

EPIC = ENDPOINT
#: The package whose modules declare the requirements (imported by :func:`catalogue`).
CHECKS_PACKAGE = "snapconform.engine.checks"


@dataclass(frozen=True)
class Cost:
    """What a requirement's check needs of the run's request budget (``engine.plan``).

    ``minimum`` requests for a verdict (measured on the reference server: the deterministic
    first case and the first random example, with room for observed re-checks), ``weight`` in
    the exploratory pool (0: it needs no more than its minimum), and how many examples (the
    deterministic first case counts as one) make that minimum (None: the check must finish).
    ``needs_unprivileged``: planned only when the run has an unprivileged principal.
    """

    minimum: int
    weight: float = 0.0
    examples: int | None = None
    needs_unprivileged: bool = False

    @property
    def exploratory(self) -> bool:
        return self.weight > 0


Check = Callable[["Harness", "Requirement"], "CheckResult"]
C = TypeVar("C", bound=Check)


@dataclass(frozen=True)
class Requirement:
    """One requirement and the check that judges it (``check(h)`` runs it)."""

    id: str
    title: str
    level: Level
    feature: Feature
    sources: tuple[Source, ...]
    #: The declared check function; it receives this requirement.
    function: Check = field(repr=False, compare=False)
    #: The modes whose runs plan and run this check (elsewhere it is not applicable).
    modes: tuple[Mode, ...] = MODES
    #: Checks that judge every response of the run run after all others (``audit``).
    audit: bool = False
    #: An audit requirement's judge: its run-wide check class (``snapconform.engine.runwide``),
    #: instantiated with this requirement by the response audit and by fuzzing.
    run_wide: type | None = field(default=None, repr=False, compare=False)
    #: Documented alternatives the check accepts (summary ``variants`` question keys).
    alternatives: tuple[str, ...] = ()
    #: What the check needs of the request budget in each of its modes (none: the audit
    #: requirements, which judge the responses of the contract probe and of every other check).
    costs: tuple[tuple[Mode, Cost], ...] = ()

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError(f"requirement {self.id} has no source")
        if self.level == "MUST" and all(s.kind == "ours" for s in self.sources):
            raise ValueError(f"requirement {self.id}: a MUST needs a page or bindings source")
        if self.feature not in FEATURES:
            raise ValueError(f"requirement {self.id}: unknown feature {self.feature!r}")
        if not self.modes or not set(self.modes) <= set(MODES):
            raise ValueError(f"requirement {self.id}: modes must be some of {MODES}")
        if self.costs and {mode for mode, _ in self.costs} != set(self.modes):
            raise ValueError(f"requirement {self.id}: a cost for each of its modes {self.modes}")

    def cost_in(self, mode: Mode) -> Cost | None:
        """What the check needs in a run of ``mode`` (None: not planned there)."""
        return dict(self.costs).get(mode)

    def check(self, h: Harness) -> CheckResult:
        """Run this requirement's check on the run's harness: its result, or its failure.

        A check fails one way: it raises :class:`Violation` with its evidence (in a fixed case
        or a property alike); the failed result is made here, its message redacted (secrets
        the harness handled never reach a detail).
        """
        try:
            return self.function(h, self)
        except Violation as violation:
            return CheckResult.failed(h.redactor(str(violation)), violation.evidence)

    @property
    def source(self) -> str:
        """Every source, rendered on one line (catalogue, Allure, summary.md)."""
        return " · ".join(source.render() for source in self.sources)

    @property
    def check_name(self) -> str:
        """The check's name within the checks package (``area.check_x``)."""
        return self.check_path.removeprefix(CHECKS_PACKAGE + ".")

    @property
    def check_path(self) -> str:
        """Where the check is defined: ``module.function``."""
        return f"{self.function.__module__}.{self.function.__name__}"

    @property
    def severity(self) -> str:
        return "critical" if self.level == "MUST" else "minor"


_REGISTERED: dict[str, Requirement] = {}


def requirement(
    *,
    id: str,
    title: str,
    level: Level,
    feature: Feature,
    sources: tuple[Source, ...],
    modes: tuple[Mode, ...] = MODES,
    alternatives: tuple[str, ...] = (),
    run_wide: type | None = None,
    cost: Cost | Mapping[Mode, Cost] | None = None,
) -> Callable[[C], C]:
    """Declare the requirement the decorated check judges (the function is returned as is).

    ``cost``: one for every mode of ``modes``, or one per mode.
    """
    if cost is None:
        costs: tuple[tuple[Mode, Cost], ...] = ()
    elif isinstance(cost, Cost):
        costs = tuple((mode, cost) for mode in modes)
    else:
        costs = tuple(cost.items())

    def register(function: C) -> C:
        if id in _REGISTERED and _REGISTERED[id].function is not function:
            raise ValueError(
                f"requirement {id} declared twice: {_REGISTERED[id].check_path} and"
                f" {function.__module__}.{function.__name__}"
            )
        _REGISTERED[id] = Requirement(
            id=id,
            title=title,
            level=level,
            feature=feature,
            sources=tuple(sources),
            function=function,
            modes=tuple(modes),
            audit=run_wide is not None,
            run_wide=run_wide,
            alternatives=tuple(alternatives),
            costs=costs,
        )
        return function

    return register


def catalogue() -> tuple[Requirement, ...]:
    """Every requirement, in the documented order: by feature, then as declared."""
    importlib.import_module(CHECKS_PACKAGE)
    declared = list(_REGISTERED.values())
    return tuple(sorted(declared, key=lambda r: (FEATURES.index(r.feature), declared.index(r))))


def declared(function: Check) -> Requirement:
    """The requirement ``function`` was declared for (a check naming another's id)."""
    for declaration in _REGISTERED.values():
        if declaration.function is function:
            return declaration
    raise KeyError(f"{function.__module__}.{function.__name__} declares no requirement")


def by_id() -> dict[str, Requirement]:
    return {r.id: r for r in catalogue()}


def get(requirement_id: str) -> Requirement:
    """The requirement ``requirement_id`` (KeyError naming it when there is none)."""
    try:
        return by_id()[requirement_id]
    except KeyError:
        raise KeyError(f"unknown requirement {requirement_id!r}") from None


def run_order() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The ids of the checks that run before the audits, in order: (decisive, exploration).

    ``snapconform.engine.checks.order`` names them by their check functions.
    """
    order = importlib.import_module(f"{CHECKS_PACKAGE}.order")
    return (
        tuple(declared(f).id for f in order.DECISIVE),
        tuple(declared(f).id for f in order.EXPLORATION),
    )


def contract_probe() -> str:
    """The audit requirement whose cost is the contract probe's (the first audit to run)."""
    (probe,) = (r.id for r in catalogue() if r.audit and r.costs)
    return probe


def requirements_for(feature: Feature) -> tuple[Requirement, ...]:
    """The requirements of one feature (one conformance module each), in documented order."""
    return tuple(r for r in catalogue() if r.feature == feature)
