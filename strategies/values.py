"""Strings for FilterSpec values and task fields, ordinary and adversarial.

Values that need percent-encoding are drawn on purpose: the endpoint must match them exactly
and case-sensitively, and a client that forgets to encode ``+`` (a space in a query) or a
server that decodes twice shows up only with such values.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from random import Random

from hypothesis import strategies as st

#: Real-world principal names that break naive encoding or case folding.
ADVERSARIAL_USERS: tuple[str, ...] = (
    "VSPHERE.LOCAL\\Administrator",
    "ops+robot@corp.example",
    "svc account",
    "jürgen@corp.example",
    "administrator@vsphere.local",
    "Administrator@VSPHERE.LOCAL",
    "a&b=c@corp.example",
    "percent%20literal",
)

#: Realistic service and operation identifiers (com.vmware.snapservice.*).
SERVICE_NAMES: tuple[str, ...] = (
    "com.vmware.snapservice.protection_group",
    "com.vmware.snapservice.snapshot",
    "com.vmware.snapservice.site",
    "com.vmware.snapservice.cluster_pair",
)
OPERATION_NAMES: tuple[str, ...] = ("create", "delete", "update", "restore", "pause", "resume")


#: Every character UTF-8 can carry (no surrogates), without control characters. The same set
#: as ``st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))``, which draws the same
#: strings, but without the codec Hypothesis does not scan all 1.1 million code points through
#: the codec (about 2 CPU-seconds per run, its cache living in the run's fresh storage).
#: The categories ``free_text`` (and ``random_text``) leave out: surrogates, control characters.
TEXT_EXCLUDED_CATEGORIES: tuple[str, ...] = ("Cs", "Cc")
TEXT_CHARACTERS = st.characters(exclude_categories=TEXT_EXCLUDED_CATEGORIES)
#: What ``st.text()``'s default alphabet (``codec="utf-8"``) holds: every code point but the
#: surrogates, without the codec scan.
UTF8_CHARACTERS = st.characters(exclude_categories=("Cs",))

# The strategies below are built once and shared: strategies are immutable, and a strategy
# built afresh inside a ``flatmap`` is validated afresh on every draw.


@cache
def free_text(max_size: int = 12) -> st.SearchStrategy[str]:
    """Non-empty Unicode text without surrogates or control characters (valid in JSON and URLs)."""
    return st.text(alphabet=TEXT_CHARACTERS, min_size=1, max_size=max_size)


@cache
def user_names() -> st.SearchStrategy[str]:
    """Principal names: the adversarial ones first, then arbitrary text."""
    return st.one_of(st.sampled_from(ADVERSARIAL_USERS), free_text())


#: The control characters (category Cc) ``random_text(controls=True)`` may draw.
CONTROL_CHARACTERS: tuple[str, ...] = tuple(
    chr(code) for code in (*range(0x00, 0x20), *range(0x7F, 0xA0))
)


def random_text(
    rng: Random, max_size: int = 12, *, min_size: int = 1, controls: bool = False
) -> str:
    """Text from ``rng`` over ``free_text``'s alphabet (no surrogates, no control characters):
    min_size..max_size characters, mostly printable ASCII (``+``, ``&``, ``%``, space: where
    encoding bugs are), else any other code point of the plane drawn (the basic one or above).
    ``controls``: over ``UTF8_CHARACTERS``' alphabet instead (one character in ten a control
    character: JSON must escape them).

    For values drawn from a seed (``strategies.filters.filter_value``, a universe's pools and
    messages) rather than by Hypothesis.
    """
    characters = []
    for _ in range(rng.randint(min_size, max_size)):
        if controls and rng.random() < 0.1:
            characters.append(rng.choice(CONTROL_CHARACTERS))
            continue
        if rng.random() < 0.7:
            characters.append(chr(rng.randrange(0x20, 0x7F)))
            continue
        while True:
            low, high = (0xA0, 0x10000) if rng.random() < 0.5 else (0x10000, 0x110000)
            character = chr(rng.randrange(low, high))
            if unicodedata.category(character) not in TEXT_EXCLUDED_CATEGORIES:
                break
        characters.append(character)
    return "".join(characters)


#: A seed Hypothesis draws for values drawn from it (a filter's, a pool's, a message's).
SEEDS = st.integers(0, 2**32 - 1)


def random_user_name(rng: Random) -> str:
    """A principal name from ``rng`` as ``user_names`` draws one: an adversarial name half the
    time, else arbitrary text (``random_text``)."""
    return rng.choice(ADVERSARIAL_USERS) if rng.random() < 0.5 else random_text(rng)


def case_variant(value: str) -> str | None:
    """``value`` with its letter case changed, or None when it has no cased letters."""
    swapped = value.swapcase()
    return swapped if swapped != value else None
