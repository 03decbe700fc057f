"""Package list for setuptools (the rest of the configuration is in pyproject.toml).

Every package under ``snapconform/`` is found, so a new subpackage ships without an edit here;
the mapped ones (``[tool.setuptools.package-dir]``) are named: the repository keeps its
top-level ``strategies/``, ``contracts/`` and ``tests/conformance/`` folders, and the wheel
installs them as ``snapconform.strategies``, ``snapconform._contracts`` and ``snapconform._suite``.
"""

from setuptools import find_packages, setup

MAPPED = ["snapconform.strategies", "snapconform._contracts", "snapconform._suite"]

setup(packages=[*find_packages(include=["snapconform", "snapconform.*"]), *MAPPED])
