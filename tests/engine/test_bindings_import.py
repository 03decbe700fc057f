"""The bindings load without compiling the IRI expressions, and still validate URIs with them."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_judging_a_body_does_not_load_the_iri_expressions() -> None:
    out = _run(
        """
        import sys
        from snapconform.engine.bindings_shape import _shaper
        from snapconform.engine.contract_oracle import bindings_decode_error
        assert bindings_decode_error('{"items": []}') is None
        _shaper("ListItem")
        helper = sys.modules["vmware.vapi.bindings.uri_helper"]
        print(hasattr(helper.URIValidator, "compiled_regex"))
        """
    )
    assert out == "False"


def test_a_uri_value_is_still_validated_by_the_bindings_own_expressions() -> None:
    out = _run(
        """
        import sys
        from snapconform.engine.bindings_import import defer_uri_validation
        defer_uri_validation()
        from vmware.vapi.bindings import type as bindings_type
        from vmware.vapi.bindings.converter import TypeConverter
        from vmware.vapi.data.value import StringValue

        def verdict(text):
            try:
                TypeConverter.convert_to_python(StringValue(text), bindings_type.URIType())
            except Exception as exc:
                return type(exc).__name__
            return "accepted"

        print(verdict("https://vc.example/api"), verdict("http://bad host/"), verdict("%zz"))
        print(hasattr(sys.modules["vmware.vapi.bindings.uri_helper"], "URIValidator")
              and hasattr(sys.modules["vmware.vapi.bindings.uri_helper"].URIValidator,
                          "compiled_regex"))
        """
    )
    assert out.splitlines() == ["accepted BindingsException BindingsException", "True"]


def test_a_module_already_loaded_is_left_alone() -> None:
    out = _run(
        """
        import sys
        import vmware.vapi.bindings.uri_helper as real
        from snapconform.engine.bindings_import import defer_uri_validation
        defer_uri_validation()
        print(sys.modules["vmware.vapi.bindings.uri_helper"] is real)
        """
    )
    assert out == "True"
