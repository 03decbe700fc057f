"""A client's answers are decoded once per distinct body (``safety.DecodedBodies``, issue 27).

The kept document is shared by every exchange that got the same bytes, so the first part holds
the memo to what ``parse_json`` would say (the same document, the same refusal, bounded memory)
and the second holds whole runs to the rule that makes sharing safe: no check, audit or report
changes a decoded body.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from snapconform.config import RunConfig
from snapconform.engine import target as target_module
from snapconform.engine.safety import DecodedBodies, DuplicateKeyError, TooDeepError, parse_json
from snapconform.run.runner import run
from snapconform.server.app import ServerConfig
from snapconform.server.runner import serve_in_thread
from tests.engine.helpers import mode_universe, reach_options


def _body(n: int, tag: str = "t") -> bytes:
    return json.dumps(
        [{"task": f"{tag}-{i}", "info": {"status": "RUNNING"}} for i in range(n)]
    ).encode()


def test_the_same_bytes_share_one_document_equal_to_a_fresh_decode() -> None:
    bodies = DecodedBodies()
    content = _body(100)
    first = bodies.decode(content)
    again = bodies.decode(bytes(bytearray(content)))  # equal bytes, another object
    assert again is first and first == parse_json(content)
    other = bodies.decode(_body(100, "u"))
    assert other is not first and other == parse_json(_body(100, "u"))
    assert bodies.hits == 1


def test_small_answers_are_decoded_afresh() -> None:
    bodies = DecodedBodies(min_bytes=1024)
    content = b'{"value": [1, 2, 3]}'
    assert bodies.decode(content) is not bodies.decode(content)
    assert bodies.hits == 0 and bodies.kept() == []


@pytest.mark.parametrize(
    ("content", "refusal", "message"),
    [
        (
            b'{"a": 1, "a": 2, "pad": "' + b"x" * 2000 + b'"}',
            DuplicateKeyError,
            "the key 'a' twice",
        ),
        (b"[" * 70 + b'"' + b"x" * 2000 + b'"' + b"]" * 70, TooDeepError, "deeper than 64"),
    ],
)
def test_a_refusal_is_raised_again_each_time(
    content: bytes, refusal: type[Exception], message: str
) -> None:
    bodies = DecodedBodies()
    errors = []
    for _ in range(3):
        with pytest.raises(refusal, match=message) as caught:
            bodies.decode(content)
        errors.append(caught.value)
    assert bodies.hits == 2
    assert len({id(error) for error in errors}) == 3  # a new exception each time


def test_the_depth_limit_is_the_clients() -> None:
    content = b"[" * 10 + b'"' + b"x" * 2000 + b'"' + b"]" * 10
    assert DecodedBodies(max_depth=10).decode(content) == parse_json(content, 10)
    with pytest.raises(TooDeepError):
        DecodedBodies(max_depth=9).decode(content)


def test_memory_is_bounded_by_entries_and_bytes_least_recently_used_first() -> None:
    sizes = {n: len(_body(n)) for n in (40, 41, 42)}
    bodies = DecodedBodies(max_entries=2)
    for n in (40, 41):
        bodies.decode(_body(n))
    bodies.decode(_body(40))  # now the most recently used
    bodies.decode(_body(42))
    assert [len(content) for content, _ in bodies.kept()] == [sizes[40], sizes[42]]

    by_bytes = DecodedBodies(max_bytes=sizes[41] + sizes[42])
    for n in (40, 41, 42):
        by_bytes.decode(_body(n))
    assert [len(content) for content, _ in by_bytes.kept()] == [sizes[41], sizes[42]]
    over = DecodedBodies(max_bytes=sizes[40] - 1)
    over.decode(_body(40))
    assert over.kept() == []


class _RecordingBodies(DecodedBodies):
    """Keeps every document it shared, to be compared with its bytes once the run is over."""

    shared: ClassVar[list[tuple[bytes, Any]]] = []

    def _keep(self, content: bytes, decoded: tuple[Any, Any]) -> None:
        if decoded[1] is None:
            self.shared.append((content, decoded[0]))
        super()._keep(content, decoded)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["controlled", "declared", "observed"])
def test_no_run_changes_a_shared_document(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared: list[tuple[bytes, Any]] = []
    monkeypatch.setattr(_RecordingBodies, "shared", shared)
    monkeypatch.setattr(target_module, "DecodedBodies", _RecordingBodies)
    state, state_file = mode_universe(mode, tmp_path)
    with serve_in_thread(ServerConfig(state=state, control=mode == "controlled", seed=0)) as server:
        options: dict[str, Any] = {
            "base_url": server.base_url,
            "report_dir": tmp_path / "report",
            "seed": 0,
            "max_examples": 3,
            **reach_options(mode, server, state_file),
        }
        result = run(RunConfig(**options), out=io.StringIO(), environ={"CI": "true"})
    assert result.summary["verdict"] == "conformant"
    assert len(shared) > 10  # the run did share documents
    changed = [content[:80] for content, document in shared if json.loads(content) != document]
    assert changed == []
