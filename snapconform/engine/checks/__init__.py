"""One named check per requirement, by area; each declared on its check (``engine.registry``).

Each check takes the run's Harness and its own Requirement (``req.id`` names it: no id is typed
twice) and returns a CheckResult. Checks generate their cases with the strategies of
``strategies/`` (universes in controlled mode, filters from the universe's vocabulary), query
the target, and judge with the pure functions of ``oracle.py``. Failures shrink (Hypothesis) and
their detail carries the seed and a curl line (secrets masked).

Importing this package registers every requirement; the modules are imported in the documented
order of the features (``registry.FEATURES``), and within a module in declaration order.
"""

import importlib

#: The area modules in documented order: importing one registers its requirements (the
#: catalogue orders by feature, then by declaration).
AREAS: tuple[str, ...] = (
    "contract",
    "filters",
    "filter_relations",
    "filter_values",
    "cap",
    "auth",
    "visibility",
    "faults",
    "fuzzing",
)

for _area in AREAS:
    importlib.import_module(f"{__name__}.{_area}")
