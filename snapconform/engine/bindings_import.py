"""The official bindings, imported without compiling regular expressions no Tasks type uses.

``vmware.vapi.bindings.converter`` imports ``vmware.vapi.bindings.uri_helper``, whose class
body compiles two RFC 3987 IRI expressions: about 0.1 CPU-seconds, 2-3% of a whole default
run. They validate ``URIType`` values only, and no type of ``Tasks.list`` (its ``ListResult``,
``Info``, ``Progress``, errors) has one. :func:`defer_uri_validation` lets the converter import a
stand-in whose ``URIValidator.validate`` loads the real module on its first call, so a value of
that type is still validated by the bindings' own code.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import types
from importlib.machinery import ModuleSpec

URI_HELPER = "vmware.vapi.bindings.uri_helper"

_lock = threading.Lock()


def defer_uri_validation() -> None:
    """Install the stand-in for ``uri_helper`` unless a module of that name is already loaded.

    Call it before the first import of the bindings. When the bindings are absent it does
    nothing (their own import then fails as it would have).
    """
    with _lock:
        if URI_HELPER in sys.modules:
            return
        try:
            spec = importlib.util.find_spec(URI_HELPER)
        except ModuleNotFoundError:
            return
        if spec is None or spec.loader is None:
            return
        sys.modules[URI_HELPER] = _stand_in(spec)


def _stand_in(spec: ModuleSpec) -> types.ModuleType:
    loaded: list[types.ModuleType] = []

    def real_module() -> types.ModuleType:
        with _lock:
            if not loaded:
                module = importlib.util.module_from_spec(spec)
                assert spec.loader is not None
                spec.loader.exec_module(module)
                sys.modules[URI_HELPER] = module
                loaded.append(module)
            return loaded[0]

    class URIValidator:
        """``uri_helper.URIValidator``, its expressions compiled on the first validation."""

        @staticmethod
        def validate(iri: str) -> None:
            real_module().URIValidator.validate(iri)

    module = types.ModuleType(URI_HELPER, "Stand-in: the real module loads on first use.")
    module.__spec__ = spec
    module.URIValidator = URIValidator  # type: ignore[attr-defined]
    return module
