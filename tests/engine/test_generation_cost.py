"""The generators avoid Hypothesis' codec scan and draw the same characters as with it.

``st.characters(codec="utf-8")`` makes Hypothesis encode all 1.1 million code points once per
process when its disk cache is cold (every run: the cache lives in the run's fresh storage), about
2 CPU-seconds. The alphabets here, and the fuzzer's schemathesis config, name no codec but must
hold exactly the characters the codec would allow, so that the data drawn does not change.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import strategies as st

from snapconform.engine.fuzzing.runner import load_schema
from snapconform.engine.fuzzing.scenarios import DEFAULT_SCENARIOS
from snapconform.strategies.values import TEXT_CHARACTERS, UTF8_CHARACTERS


def intervals(strategy: st.SearchStrategy[str]) -> object:
    return strategy.wrapped_strategy.intervals  # type: ignore[attr-defined]


def test_text_alphabet_is_the_utf8_codecs_without_control_characters() -> None:
    with_codec = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
    assert intervals(TEXT_CHARACTERS) == intervals(with_codec)


def test_default_text_alphabet_is_hypothesis_default() -> None:
    assert intervals(UTF8_CHARACTERS) == intervals(st.characters(codec="utf-8"))


def test_a_codec_changes_the_alphabet_so_the_comparison_can_fail() -> None:
    latin = st.characters(codec="latin-1", exclude_categories=("Cs", "Cc"))
    assert intervals(TEXT_CHARACTERS) != intervals(latin)


def test_fuzzer_names_no_codec_in_any_phase() -> None:
    schema = load_schema()
    for scenario in DEFAULT_SCENARIOS:
        operation = schema[scenario.path][scenario.method]
        for phase in ("examples", "coverage", "fuzzing"):
            assert schema.config.generation_for(operation=operation, phase=phase).codec is None


def test_targets_share_one_verifying_tls_context() -> None:
    """httpx would load the CA bundle for every client (~30 ms CPU each): one context serves all.

    ``--insecure`` (False) and a CA bundle keep their own: sharing must not widen trust."""
    import ssl

    from snapconform.engine.safety import default_tls_context
    from snapconform.engine.target import ControlClient, Target, TargetSettings

    def context(target: Target | ControlClient) -> ssl.SSLContext:
        return target._client._transport.tls_context()  # type: ignore[attr-defined]

    first = Target(TargetSettings(base_url="https://127.0.0.1:1"))
    second = Target(TargetSettings(base_url="https://127.0.0.1:2"))
    control = ControlClient("https://127.0.0.1:3")
    insecure = Target(TargetSettings(base_url="http://127.0.0.1:4", verify=False))
    try:
        assert context(first) is context(second) is default_tls_context()
        assert context(control) is default_tls_context()
        assert default_tls_context().verify_mode == ssl.CERT_REQUIRED
        assert context(insecure) is not default_tls_context()
        assert context(insecure).verify_mode == ssl.CERT_NONE
    finally:
        for client in (first, second, insecure):
            client._client.close()
        control.close()


def test_own_source_is_not_mined_for_constants() -> None:
    """Hypothesis mixes literals of *local* modules into its draws; from a checkout snapconform
    is local (not from a wheel), so a checkout drew other examples and paid ~1.3 CPU-s parsing
    its own source. ``drive`` hands snapconform's modules to Hypothesis as seen. A fresh
    interpreter: a ``@given`` test run earlier in this one has mined them already."""
    import subprocess
    import sys

    code = (
        "from hypothesis import strategies as st\n"
        "from hypothesis.internal.conjecture import providers\n"
        "import snapconform.wire\n"
        "from snapconform.engine.driver import drive\n"
        "drive(st.integers(0, 3), lambda _: None, max_examples=2, seed=0)\n"
        # a literal of snapconform.wire
        "print('SNAPCONFORM_PASSWORD' in providers._get_local_constants().strings)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "False"


def test_the_main_script_is_not_mined_for_constants(tmp_path: Path) -> None:
    """The ``snapconform`` console script is the process' ``__main__``, a local file: its
    literal entered the draws, and ``snapconform run --seed N`` drew other examples than
    ``python -m snapconform run --seed N``. A script file stands in for it."""
    import subprocess
    import sys

    script = tmp_path / "entry_point.py"
    script.write_text(
        "from hypothesis import strategies as st\n"
        "from hypothesis.internal.conjecture import providers\n"
        "from snapconform.engine.driver import drive\n"
        "drive(st.integers(0, 3), lambda _: None, max_examples=2, seed=0)\n"
        "print('zq-entry' in providers._get_local_constants().strings)\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=tmp_path,
        env={**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path / "storage")},
    )
    assert done.stdout.strip() == "False"
