"""One conformance run: ``snapconform run`` end to end.

:mod:`.cli` parses the command line, :mod:`.runner` starts the conformance suite in a pytest
subprocess with the two plugins (:mod:`snapconform.pytest_plugin`, which finds the suite and
reports progress, and :mod:`.engine_plugin`, which opens the engine's harness, starts the
embedded reference server when no target is given and records each requirement's outcome), and
writes summary.json and the reports. The layer above the engine and the reports.
"""
