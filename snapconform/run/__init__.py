"""One conformance run: ``snapconform run`` end to end.

:mod:`.cli` parses the command line; :mod:`.runner` runs it in this process: it drives a
:class:`~snapconform.run.session.RunSession` (:mod:`.session`: the engine's harness, the
embedded reference server when no target is given, each requirement judged in the plan's order
and told to its handlers as events: the terminal progress, the Allure results), then writes
summary.json (``contracts/summary.schema.json``) and the reports. :mod:`.engine_plugin` is the
pytest front end on the same session (``pytest -p snapconform.pytest_plugin``). The layer above
the engine and the reports.
"""
