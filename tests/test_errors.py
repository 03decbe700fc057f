"""One error tree: :mod:`snapconform.errors` documents it, and the documentation is the code.

The docstring's tree is parsed and compared with the classes' real hierarchy, so a new error
class (or a changed base) is documented in the same change, and no error class is defined
anywhere else in the package.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import snapconform
from snapconform import errors
from snapconform.errors import SnapconformError, close_names, did_you_mean

PACKAGE = Path(snapconform.__file__).resolve().parent
#: Exceptions that are not errors (see the errors module's docstring).
NOT_ERRORS = {"Violation", "Uncertain", "EndpointError", "_StopShrinking", "_Stopped"}


def documented_tree() -> dict[str, str | None]:
    """Class name -> documented parent (None for the root), read from the docstring's tree."""
    assert errors.__doc__ is not None
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in errors.__doc__.splitlines():
        match = re.match(r"^ {4}((?:[│ ] {3})*)(?:[├└]── )?(\w+)\b", line)
        if not match or not match.group(2)[0].isupper():
            continue
        depth = len(match.group(1)) // 4 + (1 if "──" in line else 0)
        name = match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return parents


def real_tree() -> dict[str, str | None]:
    for module in pkgutil.walk_packages([str(PACKAGE)], "snapconform."):
        if not module.name.endswith("__main__"):  # running it would start the CLI
            importlib.import_module(module.name)
    parents: dict[str, str | None] = {"SnapconformError": None}
    pending = [SnapconformError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub.__name__.startswith("_"):
                continue
            parents[sub.__name__] = cls.__name__
            pending.append(sub)
    return parents


def test_the_docstring_shows_the_real_hierarchy() -> None:
    assert documented_tree() == real_tree()


def test_every_error_class_of_the_package_is_in_the_tree() -> None:
    """No exception class is defined outside the errors module (the tree would miss it)."""
    defined_elsewhere = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name not in NOT_ERRORS:
                bases = {ast.unparse(base) for base in node.bases}
                if any(re.search(r"(Error|Exception|Exhausted|Refused)\b", b) for b in bases):
                    defined_elsewhere.append(f"{path.relative_to(PACKAGE)}: {node.name}")
    assert defined_elsewhere == []


def test_builtin_bases_keep_working() -> None:
    assert issubclass(errors.SettingsError, ValueError)
    assert issubclass(errors.UnknownSchemaError, KeyError)
    unknown = errors.UnknownMutantError.for_name("filter-ignore-status", ["filter-ignores-status"])
    assert isinstance(unknown, KeyError) and isinstance(unknown, SnapconformError)
    assert (
        str(unknown) == "unknown mutant 'filter-ignore-status'; did you mean filter-ignores-status?"
    )


def test_one_suggestion_helper() -> None:
    assert did_you_mean("base_ur", ["base_url", "username"]) == " (did you mean 'base_url'?)"
    assert did_you_mean("zzz", ["base_url"]) == ""
    assert close_names("cap-off", ["cap-of", "cap-off-by-one", "auth"], limit=3, cutoff=0.5) == [
        "cap-of",
        "cap-off-by-one",
    ]
