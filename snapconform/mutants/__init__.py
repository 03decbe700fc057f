"""The mutant library: the reference server with one realistic deviation each, chosen by name.

A mutant is a subclass of :class:`snapconform.server.behaviour.Behaviour` overriding one decision
(one seam) plus its declaration: the area it belongs to, a one-line description, the requirement
ids of the engine's catalogue (``snapconform/engine/requirements.py``) that must catch it, and
the run modes in which the deviation is observable at all. ``snapconform selftest`` runs the
engine against every mutant in each of those modes and reports which requirement caught it.

Use ``MUTANTS`` (name -> Mutant, in catalogue order), ``get(name)`` (a clear error with
suggestions for an unknown name), and ``Mutant.server_config()`` / ``Mutant.behaviour()`` to
serve one in-process or with ``serve_in_thread``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from snapconform.errors import UnknownMutantError
from snapconform.mutants.auth import AUTH_MUTANTS
from snapconform.mutants.base import ALL_MODES, AREAS, Area, Mutant
from snapconform.mutants.cap import CAP_MUTANTS
from snapconform.mutants.contract import CONTRACT_MUTANTS
from snapconform.mutants.evidence import EVIDENCE_MUTANTS
from snapconform.mutants.faults import FAULT_MUTANTS
from snapconform.mutants.filter import FILTER_MUTANTS
from snapconform.mutants.intermittent import INTERMITTENT_MUTANTS

__all__ = [
    "ALL_MODES",
    "AREAS",
    "MUTANTS",
    "Area",
    "Mutant",
    "UnknownMutantError",
    "get",
    "names",
]


def _index(*groups: tuple[Mutant, ...]) -> Mapping[str, Mutant]:
    index: dict[str, Mutant] = {}
    for group in groups:
        for mutant in group:
            if mutant.name in index:
                raise ValueError(f"duplicate mutant name {mutant.name!r}")
            index[mutant.name] = mutant
    return MappingProxyType(index)


#: Every mutant by name, grouped by area in this order.
MUTANTS: Mapping[str, Mutant] = _index(
    FILTER_MUTANTS,
    EVIDENCE_MUTANTS,
    CAP_MUTANTS,
    AUTH_MUTANTS,
    CONTRACT_MUTANTS,
    FAULT_MUTANTS,
    INTERMITTENT_MUTANTS,
)


def names() -> tuple[str, ...]:
    return tuple(MUTANTS)


def get(name: str) -> Mutant:
    """The mutant called ``name``; UnknownMutantError (with close matches) otherwise."""
    try:
        return MUTANTS[name]
    except KeyError:
        raise UnknownMutantError.for_name(name, MUTANTS) from None


def catalogue_markdown() -> str:
    """The mutant catalogue as a Markdown table (docs/mutation.md)."""
    lines = [
        "| mutant | area | deviation | seam | must be caught by | observable in |",
        "|---|---|---|---|---|---|",
    ]
    for mutant in MUTANTS.values():
        document = mutant.to_document()
        description = mutant.description.replace("|", "\\|")
        lines.append(
            f"| `{mutant.name}` | {mutant.area} | {description}"
            f" | `{', '.join(document['seam'])}` | {', '.join(mutant.requirements)}"
            f" | {', '.join(document['modes'])}"
            + (f" (API {mutant.api_version})" if mutant.api_version != "8.0.3" else "")
            + " |"
        )
    return "\n".join(lines) + "\n"
