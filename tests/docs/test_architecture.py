"""docs/ARCHITECTURE.md is written from the code: its layers are the import-linter contract, it
names every module and package of snapconform, and every dotted module it names exists."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
PACKAGE = ROOT / "snapconform"


def _layer_block() -> str:
    section = DOC.split("## Layers", 1)[1]
    match = re.search(r"```text\n(.*?)```", section, re.DOTALL)
    assert match, "the Layers section has no layer diagram"
    return match.group(1)


def _short(name: str) -> str:
    return name.strip().removeprefix("snapconform.")


def test_the_layers_are_the_import_linter_contract() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = pyproject["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    drawn = [
        line.split("  ")[0].removeprefix("contract layer:").strip()
        for line in _layer_block().strip().splitlines()
    ]
    declared = [sorted(_short(part) for part in re.split(r"[|:]", layer)) for layer in layers]
    # the diagram draws the two top layers on one line
    flat_declared = [sorted(declared[0] + declared[1]), *declared[2:]]
    shown = [sorted(_short(part) for part in re.split(r"[|,]", line)) for line in drawn]
    assert shown == flat_declared


def test_every_module_and_package_is_described() -> None:
    """Each top-level module and subpackage of snapconform, and each module of the run, server,
    report and contract layers, is named in backticks."""
    missing = []
    for path in sorted(PACKAGE.iterdir()):
        if path.name.startswith(("_", ".")) or path.name == "__pycache__":
            continue
        if path.is_dir() and not (path / "__init__.py").is_file():
            continue
        name = path.stem
        forms = (f"`{name}.py`", f"`snapconform.{name}`", f"`{name}/`", f"`snapconform.{name}.")
        if not any(form in DOC for form in forms):
            missing.append(path.name)
    for package in ("run", "server", "report"):
        for module in sorted((PACKAGE / package).glob("*.py")):
            if module.stem.startswith("_"):
                continue
            if f"`{module.name}`" not in DOC and f"snapconform.{package}.{module.stem}`" not in DOC:
                missing.append(f"{package}/{module.name}")
    assert missing == []


def test_every_dotted_module_named_exists() -> None:
    named = set(re.findall(r"`(snapconform(?:\.[a-z_]+)+)", DOC)) - {"snapconform.toml"}
    assert named
    gone = [name for name in sorted(named) if not _exists(name)]
    assert gone == []


def _exists(name: str) -> bool:
    """A module, or an attribute of one (``snapconform.cli.main``)."""
    try:
        if importlib.util.find_spec(name) is not None:
            return True
    except ModuleNotFoundError:
        pass
    module, _, attribute = name.rpartition(".")
    return hasattr(importlib.import_module(module), attribute)
