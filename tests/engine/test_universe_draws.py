"""A universe's pools and messages are drawn from seeds: few Hypothesis choices, the same values.

Drawn value by value (unique lists of ``one_of``, ``builds`` of texts), a universe's pools and
its localizable messages cost Hypothesis about 4 ms of a universe's 8, and a default controlled
verdict draws over a hundred universes (issue 27). Hypothesis now draws each pool's size and a
seed, and one seed per message; the seeds draw the values with the mix Hypothesis drew: known
identifiers and arbitrary text, adversarial principal names and system tasks, control
characters in messages (JSON must escape them).
"""

from __future__ import annotations

import unicodedata
from random import Random
from typing import Any

from hypothesis import HealthCheck, find, given, settings, strategies as st

from snapconform.engine.driver import GENERATE, drive
from snapconform.strategies.states import (
    MESSAGE_IDS,
    POOL_SIZES,
    HarnessPrincipals,
    localizable_messages,
    pools,
    seeded_message,
    seeded_pools,
    state_documents,
)
from snapconform.strategies.values import (
    ADVERSARIAL_USERS,
    CONTROL_CHARACTERS,
    OPERATION_NAMES,
    SERVICE_NAMES,
    random_text,
)

from .test_filter_draws import counted_choices

SEEDS = range(400)


def test_pools_and_messages_cost_a_few_choices() -> None:
    # Measured: pools 4-6 choices (value by value: 11-85), a message 1-3 (value by value: 3-46,
    # 11 on average).
    message_choices: list[int] = []

    @settings(max_examples=50, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        with counted_choices() as count:
            data.draw(pools())
        assert count[0] <= 8, count[0]  # four integers (now and then two choices for one)
        with counted_choices() as count:
            data.draw(localizable_messages())
        message_choices.append(count[0])

    draw()
    assert max(message_choices) <= 3
    assert sum(message_choices) <= 2 * len(message_choices)


def test_pools_hold_every_kind_of_value_and_no_value_twice() -> None:
    drawn = [seeded_pools(4, 4, 5, seed) for seed in SEEDS]
    for pool in drawn:
        for values in (pool.services, pool.operations, pool.users):
            assert len(set(values)) == len(values)
            assert values, pool
    services = {value for pool in drawn for value in pool.services}
    operations = {value for pool in drawn for value in pool.operations}
    users = {value for pool in drawn for value in pool.users}
    assert set(SERVICE_NAMES) <= services and services - set(SERVICE_NAMES)
    assert set(OPERATION_NAMES) <= operations and operations - set(OPERATION_NAMES)
    assert None in users and set(ADVERSARIAL_USERS) <= users
    assert users - {None, *ADVERSARIAL_USERS}  # arbitrary text too
    # full pools most of the time (a value drawn twice may leave one short)
    assert sum(len(pool.users) == 5 for pool in drawn) > len(drawn) / 2


@given(
    sizes=st.tuples(*(st.integers(1, largest) for largest in POOL_SIZES.values())),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_pool_is_never_larger_than_drawn_and_never_empty(
    sizes: tuple[int, int, int], seed: int
) -> None:
    pool = seeded_pools(*sizes, seed)
    drawn = (len(pool.services), len(pool.operations), len(pool.users))
    assert all(1 <= got <= wanted for got, wanted in zip(drawn, sizes, strict=True))
    assert pool == seeded_pools(*sizes, seed)  # the seed decides


def test_pool_sizes_still_shrink() -> None:
    smallest = find(pools(), lambda pool: True, settings=settings(database=None))
    assert (len(smallest.services), len(smallest.operations), len(smallest.users)) == (1, 1, 1)
    bigger = find(pools(), lambda pool: len(pool.services) >= 3, settings=settings(database=None))
    assert len(bigger.services) == 3 and len(bigger.users) == 1


def test_messages_carry_control_characters_empty_arguments_and_both_ids() -> None:
    drawn = [seeded_message(seed) for seed in SEEDS]
    assert {message["id"] for message in drawn} == set(MESSAGE_IDS)
    texts = [message["default_message"] for message in drawn]
    assert all(1 <= len(text) <= 30 for text in texts)
    assert any(set(text) & set(CONTROL_CHARACTERS) for text in texts)
    assert any(not text.isascii() for text in texts)
    arguments = [message["args"] for message in drawn]
    assert {len(args) for args in arguments} == {0, 1, 2}
    assert "" in {argument for args in arguments for argument in args}
    for message in drawn:
        for text in (message["default_message"], *message["args"]):
            assert not any(unicodedata.category(c) == "Cs" for c in text)


def test_filter_texts_stay_without_control_characters() -> None:
    for seed in SEEDS:
        text = random_text(Random(seed))
        assert 1 <= len(text) <= 12
        assert not set(text) & set(CONTROL_CHARACTERS)
    # the filters' values from a seed are those they were before messages shared the function
    assert random_text(Random(7)) == random_text(Random(7), 12, min_size=1, controls=False)


def test_universes_still_draw_and_shrink_their_task_count() -> None:
    principals = HarnessPrincipals(("a", "p"), ("b", "p"), ("c", "p"))
    documents: list[dict[str, Any]] = []
    drive(
        state_documents(principals),
        lambda document: documents.append(document),
        max_examples=30,
        seed=0,
        phases=GENERATE,
    )
    assert len(documents) == 30
    descriptions = [task["info"]["description"] for d in documents for task in d["tasks"]]
    assert descriptions and all(set(m) == {"id", "default_message", "args"} for m in descriptions)
    smallest = find(
        state_documents(principals, min_tasks=2),
        lambda document: True,
        settings=settings(database=None),
    )
    assert len(smallest["tasks"]) == 2
