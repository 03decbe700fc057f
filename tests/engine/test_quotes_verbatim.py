"""Every quote of every requirement, every documented alternative (the engine's questions and the
reference server's variants) is its source's own text.

A quote (``engine.registry.Source``) names its source: ``page line N`` (the published reference
page; the repository keeps a copy, ``contracts/sources/snapservice-tasks-list.txt``, so this runs
from a clean clone) or ``bindings <where>`` (the installed official bindings: a dotted name whose
source text is read with ``inspect``, or a file of an installed package). Each verbatim part of a
quote must be found in that text, compared up to whitespace and reST markup; a page quote must
start on its line. ``ours`` is a reading no source states: never a MUST's only ground.

The last tests tamper with a quote, a line and a location, and require the finder to refuse each.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from snapconform.engine.alternatives import QUESTIONS
from snapconform.engine.registry import Source, bindings, page
from snapconform.engine.requirements import CATALOGUE
from snapconform.server.variants import VARIANTS

ROOT = Path(__file__).resolve().parents[2]
#: The repository's copy of the published reference page.
PAGE_COPY = ROOT / "contracts" / "sources" / "snapservice-tasks-list.txt"
#: The copy the project was given beside the repository or its worktree (absent in a clean
#: clone).
SHARED_PAGE = next(
    (
        path
        for path in (
            ROOT.parent / "shared" / "spec" / "snapservice-tasks-list.txt",
            ROOT.parent.parent / "shared" / "spec" / "snapservice-tasks-list.txt",
        )
        if path.is_file()
    ),
    ROOT.parent / "shared" / "spec" / "snapservice-tasks-list.txt",
)

# reST markup the bindings' docstrings wrap names in: :class:`X`, ``X``, **X**
_ROLE = re.compile(r":[a-z]+:`~?([^`]*)`")
_LITERAL = re.compile(r"``([^`]*)``")
_STRONG = re.compile(r"\*\*([^*]*)\*\*")


def normalized(text: str) -> str:
    """``text`` as read: reST roles and literals reduced to their text, whitespace collapsed."""
    text = _STRONG.sub(r"\1", _LITERAL.sub(r"\1", _ROLE.sub(r"\1", text)))
    return " ".join(text.split())


@cache
def page_lines() -> tuple[str, ...]:
    return tuple(PAGE_COPY.read_text(encoding="utf-8").splitlines())


@cache
def bindings_text(where: str) -> str:
    """The installed bindings' text at ``where`` (KeyError naming what is missing)."""
    if "/" in where:  # a file of an installed package: package/path/file
        package, _, name = where.rpartition("/")
        spec = importlib.util.find_spec(package.replace("/", "."))
        if spec is None or not spec.submodule_search_locations:
            raise KeyError(f"no installed package {package!r}")
        path = Path(next(iter(spec.submodule_search_locations))) / name
        if not path.is_file():
            raise KeyError(f"no file {name!r} in {package!r}")
        return path.read_text(encoding="utf-8")
    names = where.split(".")
    for cut in range(len(names), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(names[:cut]))
        except ImportError:
            continue
        for attribute in names[cut:]:
            if not hasattr(obj, attribute):
                raise KeyError(f"{'.'.join(names[:cut])} has no {attribute!r} ({where})")
            obj = getattr(obj, attribute)
        return inspect.getsource(obj)  # type: ignore[arg-type]
    raise KeyError(f"nothing importable at {where!r}")


def quote_problem(source: Source) -> str | None:
    """Why ``source``'s quote is not its source's text (None: every part is found verbatim)."""
    if source.kind == "ours":
        return None
    if source.kind == "page":
        line = int(source.where.removeprefix("line "))
        lines = page_lines()
        if not 1 <= line <= len(lines):
            return f"the page has no line {line}"
        text = normalized("\n".join(lines[line - 1 :]))
        # the first part starts on the named line
        first_line_end = len(normalized(lines[line - 1]))
    else:
        try:
            text = normalized(bindings_text(source.where))
        except KeyError as exc:
            return str(exc)
        first_line_end = len(text)
    position = 0
    for index, part in enumerate(source.parts):
        found = text.find(normalized(part), position)
        if found < 0:
            return f"not in {source.kind} {source.where}: {part!r}"
        if index == 0 and found > first_line_end:
            return f"does not start on page {source.where}: {part!r}"
        position = found + len(normalized(part))
    return None


def every_source() -> Iterator[tuple[str, Source]]:
    for r in CATALOGUE:
        for source in r.sources:
            yield r.id, source
    for question in QUESTIONS.values():
        for source in question.sources:
            yield f"alternative {question.key}", source
    for variant in VARIANTS.values():
        for source in variant.sources:
            yield f"variant {variant.name}", source


SOURCES = list(every_source())


def test_the_page_copy_is_the_published_page() -> None:
    assert PAGE_COPY.is_file()
    if not SHARED_PAGE.is_file():
        pytest.skip(f"{SHARED_PAGE} is not here (a clean clone): the copy is the reference")
    assert PAGE_COPY.read_bytes() == SHARED_PAGE.read_bytes()


@pytest.mark.bindings
@pytest.mark.parametrize(
    ("owner", "source"), SOURCES, ids=[f"{o}:{s.kind}:{s.where}" for o, s in SOURCES]
)
def test_every_quote_is_verbatim_in_its_source(owner: str, source: Source) -> None:
    assert quote_problem(source) is None, f"{owner}: {quote_problem(source)}"


def test_a_must_rests_on_a_quote_and_ours_only_on_should() -> None:
    for r in CATALOGUE:
        kinds = {source.kind for source in r.sources}
        assert kinds & {"page", "bindings"} or r.level == "SHOULD", r.id
        assert all(source.parts or source.kind == "ours" for source in r.sources), r.id


# --- the finder can fail ----------------------------------------------------------------------


@pytest.mark.bindings
@pytest.mark.parametrize(
    "tampered",
    [
        # a word changed in a page quote
        page(2, "Returns information about at most 100 visible (subject to permission checks)"),
        # a true quote put on the wrong line
        page(3, "Returns information about at most 1000 visible"),
        # the quote the catalogue once gave FILTER-EXACT-ENCODED: no such text in the bindings
        bindings(
            "com.vmware.snapservice_client.Tasks.FilterSpec",
            "no comparison rule: users may compare case-insensitively",
        ),
        # CommonInfo's union map quoted as Info's
        bindings(
            "com.vmware.snapservice.tasks_client.Info",
            "'FAILED' : [('error', False), ('start_time', True), ('end_time', True)]",
        ),
        # a place that does not exist
        bindings("com.vmware.snapservice_client.Tasks.NoSuchThing", "List of tasks."),
        # two true parts in the wrong order
        page(2, "tasks matching the Snapservice Tasks FilterSpec … Returns information"),
    ],
    ids=["word", "line", "invented", "other-class", "location", "order"],
)
def test_a_tampered_quote_is_refused(tampered: Source) -> None:
    assert quote_problem(tampered) is not None
