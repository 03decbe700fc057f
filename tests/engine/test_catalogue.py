"""The registry: one check per requirement, each check judging its own requirement, docs in sync.

Each test here fails for a concrete mistake: a check function that declares no requirement (or
two requirements sharing one), an audit check reporting another requirement's findings, a
feature whose requirements the conformance suite never collects, a stale docs/requirements.md,
a requirement id typed as a string outside its declaration.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from snapconform.engine import checks, registry
from snapconform.engine.requirements import CATALOGUE, catalogue_markdown
from snapconform.engine.verdicts import CheckResult

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "tests" / "conformance"


def _check_modules() -> list[Any]:
    """The checks package's modules (or the one checks module)."""
    import importlib
    import pkgutil

    if not hasattr(checks, "__path__"):
        return [checks]
    return [checks] + [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(checks.__path__, checks.__name__ + ".")
    ]


def test_every_check_function_serves_exactly_one_requirement() -> None:
    defined = {
        f"{function.__module__}.{name}"
        for module in _check_modules()
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("check_") and function.__module__ == module.__name__
    }
    used = [r.check_path for r in CATALOGUE]
    assert len(used) == len(set(used)), "a check serves two requirements"
    assert set(used) == defined, (
        f"checks no requirement uses: {sorted(defined - set(used))};"
        f" requirements whose check is not a check_ function of the checks package:"
        f" {sorted(set(used) - defined)}"
    )
    assert len({r.id for r in CATALOGUE}) == len(CATALOGUE)
    for r in CATALOGUE:
        assert r.level in ("MUST", "SHOULD") and r.source.strip() and r.title.strip(), r.id


class _RecordingAudit:
    """Stands in for the ResponseAudit: records which requirement's findings were asked for."""

    bindings = True

    def __init__(self) -> None:
        self.asked: list[str] = []

    def result(self, requirement_id: str, what: str) -> CheckResult:
        self.asked.append(requirement_id)
        return CheckResult.passed(f"{what}: recorded")


class _AuditOnlyHarness:
    """Enough of a Harness for an audit check: its probe is already done (memo returns)."""

    def __init__(self) -> None:
        self.audit = _RecordingAudit()

    def memo(self, key: str, compute: Any) -> None:
        return None


def test_each_audit_check_reports_its_own_requirement() -> None:
    audits = [r for r in CATALOGUE if r.audit]
    assert audits, "no audit requirement in the catalogue"
    for r in audits:
        harness = _AuditOnlyHarness()
        r.check(harness)  # type: ignore[arg-type]
        assert harness.audit.asked == [r.id], (
            f"{r.check_name} (for {r.id}) reported the findings of {harness.audit.asked}"
        )


def test_the_conformance_suite_collects_every_feature_once() -> None:
    # Each conformance module parametrizes one feature's requirements (requirements_for);
    # a feature without a module (or with two) would never run (or run twice).
    collected: list[str] = []
    for module in sorted(SUITE.glob("test_*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "requirements_for"
            ):
                [argument] = node.args
                assert isinstance(argument, ast.Constant), module.name
                collected.append(argument.value)
    assert sorted(collected) == sorted({r.feature for r in CATALOGUE})


def test_docs_requirements_md_is_generated_from_the_catalogue() -> None:
    assert (ROOT / "docs" / "requirements.md").read_text(encoding="utf-8") == catalogue_markdown()


def test_the_catalogue_is_the_registry_in_documented_order() -> None:
    assert registry.catalogue() == CATALOGUE
    features = [r.feature for r in CATALOGUE]
    assert features == sorted(features, key=registry.FEATURES.index)
    # a second declaration of an id (a copy-pasted decorator) is refused at import
    first = CATALOGUE[0]
    with pytest.raises(ValueError, match=f"requirement {first.id} declared twice"):
        registry.requirement(
            id=first.id,
            title=first.title,
            level=first.level,
            feature=first.feature,
            sources=first.sources,
        )(lambda h, req: None)  # type: ignore[arg-type,return-value]


#: A requirement id typed as a string (a key, not a mention in prose): a feature prefix, words.
_ID = re.compile(r"(?:CONTRACT|FILTER|CAP|AUTH|FAULT|FUZZ)-[A-Z0-9]+(?:-[A-Z0-9]+)*")


def _string_constants(tree: ast.AST) -> list[ast.Constant]:
    """The string constants of ``tree`` that are not docstrings."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def _declared_ids(tree: ast.AST) -> set[int]:
    """The ``id=`` constants of ``@requirement(...)`` declarations in ``tree`` (node ids)."""
    return {
        id(keyword.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) == "requirement"
        for keyword in node.keywords
        if keyword.arg == "id"
    }


def test_no_requirement_id_is_typed_outside_its_declaration() -> None:
    engine = ROOT / "snapconform" / "engine"
    declared = {r.id: 0 for r in CATALOGUE}
    stray = []
    for path in sorted(engine.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        declarations = _declared_ids(tree)
        for node in _string_constants(tree):
            if id(node) in declarations:
                declared[node.value] += 1
            else:
                if _ID.fullmatch(node.value.strip()):
                    stray.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
    assert not stray, "requirement ids typed outside their declaration: " + "; ".join(stray)
    assert set(declared.values()) == {1}, declared


def test_a_must_rests_on_the_page_or_the_bindings_and_ours_is_should() -> None:
    from snapconform.engine.alternatives import QUESTIONS

    for r in CATALOGUE:
        kinds = {source.kind for source in r.sources}
        if r.level == "MUST":
            assert kinds & {"page", "bindings"}, r.id
        if "ours" in kinds:
            assert r.level == "SHOULD", r.id
        assert set(r.alternatives) <= set(QUESTIONS), r.id


def test_every_variant_answers_a_question_a_requirement_accepts() -> None:
    from snapconform.engine.alternatives import QUESTIONS
    from snapconform.server.variants import VARIANTS

    accepted = {a for r in CATALOGUE for a in r.alternatives}
    for variant in VARIANTS.values():
        assert variant.question in QUESTIONS, variant.name
        assert variant.choice in QUESTIONS[variant.question].choices, variant.name
        assert variant.question in accepted, variant.name


def test_the_bindings_service_ids_are_the_installed_bindings() -> None:
    """Discovery through services= starts from these; they must be the bindings' own ids."""
    import importlib
    import pkgutil

    from snapconform.engine.discovery import BINDINGS_SERVICES

    # the bindings are required dependencies: a missing one is an error, never a skip
    package = importlib.import_module("com.vmware.snapservice")
    root = importlib.import_module("com.vmware.snapservice_client")
    modules = [root] + [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
        if info.name.endswith("_client")
    ]
    found = {
        value._VAPI_SERVICE_ID
        for module in modules
        for value in vars(module).values()
        if isinstance(getattr(value, "_VAPI_SERVICE_ID", None), str)
        and value._VAPI_SERVICE_ID.startswith("com.vmware.snapservice.")
    }
    assert set(BINDINGS_SERVICES) == found
