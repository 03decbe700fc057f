"""The requirement catalogue as data, and docs/requirements.md generated from it.

Requirements are declared on their checks (``snapconform.engine.registry``, the checks of
``snapconform.engine.checks``); this module only gathers them: ``CATALOGUE`` (the documented
order), ``BY_ID``, ``requirement(id)``, and the catalogue page
(``python -m snapconform.engine.requirements > docs/requirements.md``).
"""

from __future__ import annotations

from snapconform.engine.registry import (
    EPIC,
    FEATURES,
    MODES,
    SPEC_URL,
    Feature,
    Level,
    Requirement,
    Source,
    bindings,
    catalogue,
    get,
    ours,
    page,
    requirements_for,
)

__all__ = [
    "BY_ID",
    "CATALOGUE",
    "EPIC",
    "FEATURES",
    "SPEC_URL",
    "Feature",
    "Level",
    "Requirement",
    "Source",
    "bindings",
    "catalogue_markdown",
    "ours",
    "page",
    "requirement",
    "requirements_for",
]

CATALOGUE: tuple[Requirement, ...] = catalogue()
BY_ID: dict[str, Requirement] = {r.id: r for r in CATALOGUE}


def requirement(requirement_id: str) -> Requirement:
    """The requirement ``requirement_id`` (KeyError naming it when there is none)."""
    return get(requirement_id)


def catalogue_markdown() -> str:
    """docs/requirements.md: one line per requirement (id, level, title, check, source)."""
    lines = [
        "# Requirement catalogue",
        "",
        "Generated from the requirement registry (`snapconform/engine/registry.py`: each"
        " requirement is declared on its check) by",
        "`python -m snapconform.engine.requirements > docs/requirements.md`; do not edit by hand.",
        f"Spec: the published reference page, {SPEC_URL}.",
        "Each check is a function of the `snapconform.engine.checks` package (*check* below:"
        " its module and name).",
        "",
        "Every requirement names its sources, in one of three kinds. `page line N (context):"
        " “…”` quotes the page from line N (a copy:"
        " `contracts/sources/snapservice-tasks-list.txt`);"
        " `bindings <where> (context): “…”` quotes the installed official bindings"
        " (`vmware-vsan-data-protection` 9.1.1.0, `vmware-vapi-common-client`) at a dotted name"
        " (that object's source: docstrings and binding types) or a file of an installed package."
        " Text between “ ” is verbatim up to whitespace and reST markup (` … ` joins parts of"
        " one passage; `tests/engine/test_quotes_verbatim.py` finds each part in its source); the"
        " context in parentheses is ours. `ours (no source states it, hence SHOULD)` is a reading"
        " of ours that no source states: a MUST rests on a page or bindings quote, a requirement"
        " resting only on ours is a SHOULD. Where the sources allow more than one behaviour, the"
        " check accepts each and"
        " records the target's choice (summary `variants`; *alternatives* below,"
        " `snapconform serve --variant` plays them). *Modes*: the run modes that check it"
        " (elsewhere it is not applicable).",
        "",
        "| id | level | feature | title | check | sources | modes | alternatives |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in CATALOGUE:
        sources = "<br>".join(s.render() for s in r.sources).replace("|", "\\|")
        alternatives = ", ".join(f"`{a}`" for a in r.alternatives) or "—"
        modes = "all" if r.modes == MODES else ", ".join(r.modes)
        check = r.check_path.removeprefix("snapconform.engine.")
        lines.append(
            f"| {r.id} | {r.level} | {r.feature} | {r.title} | `{check}` | {sources}"
            f" | {modes} | {alternatives} |"
        )
    from snapconform.engine.plan import plan_markdown
    from snapconform.engine.verdicts import outcomes_markdown

    return "\n".join(lines) + "\n\n" + outcomes_markdown() + "\n" + plan_markdown()


if __name__ == "__main__":
    print(catalogue_markdown(), end="")
