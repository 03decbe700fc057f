"""What the docs say about the program, checked against the program (issue 16, item 6).

Each of these once disagreed: the exit statuses were described three ways, quickstart.md said
``max_examples`` defaults to 100 (it is 25), the README promised one line for a wrong flag
(argparse printed its usage first), troubleshooting.md said ``--insecure`` warns (nothing did).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from snapconform.cli import build_parser
from snapconform.config import RunConfig
from snapconform.run.cli import EXIT_STATUS, INSECURE_WARNING

ROOT = Path(__file__).resolve().parents[2]


def _prose(path: Path) -> str:
    """The file's text with Markdown code marks and line breaks flattened."""
    return " ".join(path.read_text(encoding="utf-8").replace("`", "").split())


@pytest.mark.parametrize("doc", ["README.md", "docs/quickstart.md", "docs/ci.md"])
def test_the_exit_statuses_have_one_wording(doc: str) -> None:
    assert EXIT_STATUS in _prose(ROOT / doc)


def test_run_help_gives_the_same_exit_statuses() -> None:
    _, subparsers = build_parser()
    shown = " ".join(subparsers["run"].format_help().split())
    assert EXIT_STATUS in shown.replace("non- conformant", "non-conformant")  # argparse wraps


def test_no_doc_describes_exit_2_another_way() -> None:
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = _prose(path)
        assert "2 a wrong flag" not in text, path
        assert "anything else means the run could not reach a verdict" not in text, path


def test_quickstart_defaults_are_the_programs() -> None:
    text = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    defaults = RunConfig()
    rows = re.findall(r"^\| `(\w+)` \|[^|]*\|[^|]*\(default ([^)]+)\)", text, re.MULTILINE)
    assert rows, "quickstart.md lost its settings table"
    for key, documented in rows:
        actual, shown = getattr(defaults, key), re.split(r"[ ;,]", documented)[0]
        if isinstance(actual, float):
            assert float(shown) == actual, (key, documented, actual)
        else:
            assert shown == str(actual), (key, documented, actual)


def test_troubleshooting_quotes_the_insecure_warning() -> None:
    text = _prose(ROOT / "docs" / "troubleshooting.md")
    assert "--insecure" in text and "prints a warning on every run" in text
    assert INSECURE_WARNING.startswith("snapconform: warning: --insecure")
