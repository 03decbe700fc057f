"""The generators avoid Hypothesis' codec scan and draw the same characters as with it.

``st.characters(codec="utf-8")`` makes Hypothesis encode all 1.1 million code points once per
process when its disk cache is cold (every run: the cache lives in the run's fresh storage), about
2 CPU-seconds. The alphabets here, and the fuzzer's schemathesis config, name no codec but must
hold exactly the characters the codec would allow, so that the data drawn does not change.
"""

from __future__ import annotations

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
