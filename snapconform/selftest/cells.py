"""The selftest's model: its configuration, the cells of the matrix (a subject, a mode, a seed),
a cell's result (caught, missed, conformant) and the mutation score."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from snapconform.config import Mode, RunConfig
from snapconform.engine.requirements import BY_ID
from snapconform.errors import SelftestError as SelftestError
from snapconform.mutants import MUTANTS, Mutant
from snapconform.server.variants import VARIANTS

MODES: tuple[Mode, ...] = ("controlled", "declared", "observed")
FAITHFUL = "faithful"
#: A cell's subject for the faithful server playing one documented variant: ``variant:NAME``.
VARIANT_PREFIX = "variant:"
#: Requirements a focused run adds: a cheap source of varied list responses for the audits.
TRAFFIC: tuple[str, ...] = ("FILTER-EMPTY", "FILTER-SOUNDNESS")


@dataclass(frozen=True)
class SelftestConfig:
    mutants: tuple[str, ...] = tuple(MUTANTS)
    #: Documented variants the faithful server plays (each in every selected mode, seed ``seed``):
    #: every such cell must be conformant.
    variants: tuple[str, ...] = tuple(VARIANTS)
    modes: tuple[Mode, ...] = MODES
    #: Seed of every mutant run (and the first faithful run).
    seed: int = 0
    #: Seeds of the faithful server's runs (each in every selected mode).
    faithful_seeds: tuple[int, ...] = (0,)
    max_examples: int = RunConfig.max_examples
    max_requests: int = RunConfig.max_requests
    jobs: int = 2
    #: Mutant runs check only the mutant's declared requirements (plus TRAFFIC, so the audit
    #: requirements have responses to judge): the bounded version the test suite runs.
    focus: bool = False
    #: Mutant runs end once one of the mutant's requirements failed. The run is the default one
    #: (same plan, same order), so whether and when it catches the mutant is unchanged; only the
    #: checks after the detection are left out (they cannot undo a failed requirement).
    until_caught: bool = False
    #: Each run's ``--concurrency`` (reads in flight at once).
    concurrency: int = 1
    work_dir: Path | None = None


@dataclass(frozen=True)
class Cell:
    subject: str  # a mutant name or FAITHFUL
    mode: Mode
    seed: int


@dataclass(frozen=True)
class CellResult:
    subject: str
    mode: Mode
    seed: int
    verdict: str
    #: Requirement ids that failed (MUST and SHOULD).
    failed: tuple[str, ...]
    #: The mutant's declared requirements among the failed ones (empty for the faithful server).
    caught_by: tuple[str, ...]
    requests: int
    requests_to_detect: int | None
    seconds: float
    reason: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    #: Variant cells: the answers the engine recorded for the variant's question.
    recorded: tuple[str, ...] = ()

    @property
    def conformant_expected(self) -> bool:
        """The faithful server, alone or playing a documented variant."""
        return self.subject == FAITHFUL or is_variant(self.subject)

    @property
    def should_level(self) -> bool:
        """Whether this is a mutant whose declared requirements are all SHOULD-level."""
        mutant = MUTANTS.get(self.subject)
        return mutant is not None and should_only(mutant)

    @property
    def ok(self) -> bool:
        """Caught (mutant) or conformant (faithful server).

        A MUST-level mutant is caught when the verdict is non-conformant and one of its
        requirements failed. A mutant whose requirements are all SHOULDs cannot make the
        verdict non-conformant (only MUST failures do, by design): it is caught when one of
        them failed, whatever the verdict (an error verdict is still no detection). The faithful
        server passes only when conformant: an incomplete verdict certifies nothing.
        """
        if self.conformant_expected:
            return self.verdict == "conformant"
        if self.should_level:
            return self.verdict in ("conformant", "non-conformant", "incomplete") and bool(
                self.caught_by
            )
        return self.verdict == "non-conformant" and bool(self.caught_by)

    def to_document(self) -> dict[str, Any]:
        document = asdict(self)
        document["failed"] = list(self.failed)
        document["caught_by"] = list(self.caught_by)
        document["details"] = dict(self.details)
        document["recorded"] = list(self.recorded)
        document["ok"] = self.ok
        return document


def is_variant(subject: str) -> bool:
    return subject.startswith(VARIANT_PREFIX)


def variant_subject(name: str) -> str:
    return f"{VARIANT_PREFIX}{name}"


def should_only(mutant: Mutant) -> bool:
    """Whether every requirement ``mutant`` must be caught by is SHOULD-level."""
    return all(BY_ID[r].level == "SHOULD" for r in mutant.requirements)


def plan(config: SelftestConfig) -> list[Cell]:
    """Every cell: each mutant in each selected mode where it is observable; faithful per seed."""
    cells = [
        Cell(name, mode, config.seed)
        for name in config.mutants
        for mode in config.modes
        if mode in MUTANTS[name].modes
    ]
    cells += [Cell(FAITHFUL, mode, seed) for seed in config.faithful_seeds for mode in config.modes]
    cells += [
        Cell(variant_subject(name), mode, config.seed)
        for name in config.variants
        for mode in config.modes
    ]
    return cells


@dataclass(frozen=True)
class Score:
    cells: int
    caught: int
    mutants: int
    mutants_caught_everywhere: int
    faithful_runs: int
    faithful_conformant: int
    median_requests_to_detect: float | None
    worst_requests_to_detect: int | None

    @property
    def score(self) -> float:
        return self.caught / self.cells if self.cells else 0.0


def score(results: Sequence[CellResult]) -> Score:
    mutant_cells = [r for r in results if not r.conformant_expected]
    faithful = [r for r in results if r.conformant_expected]
    by_mutant: dict[str, list[CellResult]] = {}
    for result in mutant_cells:
        by_mutant.setdefault(result.subject, []).append(result)
    costs = [r.requests_to_detect for r in mutant_cells if r.ok and r.requests_to_detect]
    return Score(
        cells=len(mutant_cells),
        caught=sum(r.ok for r in mutant_cells),
        mutants=len(by_mutant),
        mutants_caught_everywhere=sum(all(r.ok for r in rs) for rs in by_mutant.values()),
        faithful_runs=len(faithful),
        faithful_conformant=sum(r.ok for r in faithful),
        median_requests_to_detect=statistics.median(costs) if costs else None,
        worst_requests_to_detect=max(costs) if costs else None,
    )
