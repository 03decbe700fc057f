"""Render ``REPORT_DIR/html`` with the Allure 3 CLI (npm package ``allure``, pinned).

The CLI is found, in order, at ``--allure PATH``, ``$SNAPCONFORM_ALLURE``,
``node_modules/.bin/allure`` in the current directory or any parent, and in the snapconform
checkout. An ``allure`` on PATH is
used only if it reports version 3: Allure 2's Java CLI takes different arguments.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snapconform.errors import RenderError
from snapconform.redaction import mask_url
from snapconform.report.first_screen import (
    PANEL_ID,
    PANEL_SCRIPT,
    PANEL_STYLE,
    verdict_panel,
    verdict_why,
    verdict_word,
)
from snapconform.report.results import allure3_categories

ALLURE_ENV = "SNAPCONFORM_ALLURE"
REPORT_NAME = "snapconform conformance report"
#: Wall-clock bound for one `allure generate`; the CLI takes seconds on a full run.
GENERATE_TIMEOUT_S = 300.0

INSTALL_HINT = (
    "the Allure 3 CLI is not installed. Install the pinned version with `npm ci` in the "
    "snapconform checkout (needs Node.js >= 20 and npm; package.json pins allure), or point "
    f"--allure / ${ALLURE_ENV} at an Allure 3 `allure` executable."
)


#: The awesome plugin always embeds Google Analytics; a conformance report of a staging system
#: must not call out when someone opens it, so both script blocks are cut from index.html.
_ANALYTICS = re.compile(
    r"\s*<script[^>]*src=\"https://www\.googletagmanager\.com/[^\"]*\"[^>]*>\s*</script>"
    r"(\s*<script>(?:(?!</script>).)*?gtag\((?:(?!</script>).)*</script>)?",
    re.DOTALL,
)


#: Injected into index.html: the report opens at the top, where its header states the verdict.
#: The awesome UI scrolls its tree to the first failed test once it has rendered, leaving the
#: header (and the verdict) out of view; until the reader scrolls, clicks or types, every such
#: programmatic scroll in the first seconds is undone.
OPEN_AT_TOP_SCRIPT = """<script id="snapconform-open-at-top">
(() => {
  if ("scrollRestoration" in history) history.scrollRestoration = "manual";
  let reader = false;
  for (const type of ["wheel", "keydown", "mousedown", "touchstart"]) {
    window.addEventListener(type, () => { reader = true; }, { capture: true, passive: true });
  }
  const top = () => {
    if (reader) return;
    if (window.scrollY) window.scrollTo(0, 0);
    for (const node of document.querySelectorAll("*")) if (node.scrollTop) node.scrollTop = 0;
  };
  document.addEventListener("scroll", top, { capture: true, passive: true });
  const started = Date.now();
  const timer = setInterval(() => {
    top();
    if (reader || Date.now() - started > 5000) {
      clearInterval(timer);
      document.removeEventListener("scroll", top, { capture: true });
    }
  }, 50);
})();
</script>"""


@dataclass(frozen=True)
class AllureCli:
    executable: Path
    version: str


def _candidates(explicit: Path | None) -> list[tuple[Path, bool]]:
    """(path, must_exist) in search order; ``must_exist`` marks paths the user named."""
    found: list[tuple[Path, bool]] = []
    if explicit is not None:
        return [(explicit, True)]
    if os.environ.get(ALLURE_ENV):
        return [(Path(os.environ[ALLURE_ENV]), True)]
    here = Path.cwd().resolve()
    for directory in (here, *here.parents):
        found.append((directory / "node_modules" / ".bin" / "allure", False))
    checkout = Path(__file__).resolve().parents[2]
    found.append((checkout / "node_modules" / ".bin" / "allure", False))
    on_path = shutil.which("allure")
    if on_path:
        found.append((Path(on_path), False))
    return found


def _version(executable: Path) -> str | None:
    try:
        completed = subprocess.run(
            [str(executable), "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"\b(\d+)\.(\d+)\.(\d+)\S*", completed.stdout + completed.stderr)
    return match.group(0) if match and completed.returncode == 0 else None


def find_allure(explicit: Path | None = None) -> AllureCli:
    """The Allure 3 CLI to use, or :class:`RenderError` with the install instructions."""
    for path, named in _candidates(explicit):
        if not path.is_file():
            if named:
                raise RenderError(f"{path} does not exist; {INSTALL_HINT}")
            continue
        version = _version(path)
        if version is not None and version.startswith("3."):
            return AllureCli(path, version)
        if named:
            shown = version or "no version"
            raise RenderError(f"{path} is not the Allure 3 CLI ({shown}); {INSTALL_HINT}")
    raise RenderError(INSTALL_HINT)


def verdict_title(summary: Mapping[str, Any]) -> str:
    """The report's name: the verdict word the terminal prints, why, and the target, e.g.
    ``snapconform: NON-CONFORMANT — 3 MUST failed — http://127.0.0.1:8080``.

    Allure shows it as the page title and in the header of its first screen."""
    target = mask_url(str(summary.get("target") or "unknown target"))
    return f"snapconform: {verdict_word(summary)} — {verdict_why(summary)} — {target}"


def allure_config(output: Path, report_name: str = REPORT_NAME) -> dict[str, object]:
    """The allurerc of the report: awesome UI, tree by endpoint / feature / requirement, one
    self-contained index.html (it opens from ``file://`` — a person double-clicks it)."""
    return {
        "name": report_name,
        "output": str(output),
        "categories": allure3_categories(),
        "plugins": {
            "awesome": {
                "options": {
                    "reportName": report_name,
                    "reportLanguage": "en",
                    "singleFile": True,
                    "groupBy": ["epic", "feature", "story"],
                    # failed, then broken, passed, skipped: the failures are the tree's top
                    "defaultSortBy": "status,asc",
                }
            }
        },
    }


def generate_html(
    results_dir: Path,
    output: Path,
    cli: AllureCli,
    *,
    report_name: str = REPORT_NAME,
    summary: Mapping[str, Any] | None = None,
    timeout_s: float = GENERATE_TIMEOUT_S,
) -> Path:
    """Run ``allure generate`` into ``output`` (replaced); return its ``index.html``.

    With the run's ``summary`` (summary.json), the page opens on the verdict panel
    (:func:`add_first_screen`)."""
    # The CLI runs in a scratch directory: a relative path would be resolved against that.
    results_dir, output = results_dir.absolute(), output.absolute()
    if not any(results_dir.glob("*-result.json")):
        raise RenderError(
            f"{results_dir} holds no Allure test results; run `snapconform run` first"
        )
    if output.exists():
        shutil.rmtree(output)
    with tempfile.TemporaryDirectory(prefix="snapconform-allure-") as workdir:
        config_path = Path(workdir) / "allurerc.json"
        config_path.write_text(json.dumps(allure_config(output, report_name)), encoding="utf-8")
        command = [
            str(cli.executable),
            "generate",
            "--config",
            str(config_path),
            "--cwd",
            workdir,
            "--output",
            str(output),
            str(results_dir),
        ]
        environment = {**os.environ, "NO_COLOR": "1", "CI": os.environ.get("CI", "")}
        try:
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
                stdin=subprocess.DEVNULL,
                cwd=workdir,
                env=environment,
            )
        except subprocess.TimeoutExpired:
            raise RenderError(f"allure generate took longer than {timeout_s:.0f} s") from None
    index = output / "index.html"
    if completed.returncode != 0 or not index.is_file():
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
        raise RenderError(
            f"allure generate failed (exit {completed.returncode}): " + " | ".join(tail)
        )
    strip_analytics(index)
    open_at_top(index)
    if summary is not None:
        add_first_screen(index, summary)
    return index


def add_first_screen(index: Path, summary: Mapping[str, Any]) -> None:
    """Put the verdict panel (snapconform.report.first_screen) above the Allure app of a
    rendered ``index.html``; a panel already there is replaced."""
    page = index.read_text(encoding="utf-8")
    page = re.sub(
        r'<style id="snapconform-first-screen-style">.*?</style>\n?'
        rf'|<details id="{PANEL_ID}".*?</details>\n?'
        r'|<script id="snapconform-first-screen">.*?</script>\n?',
        "",
        page,
        flags=re.DOTALL,
    )
    links = test_result_links(embedded_files(index))
    app = page.find('<div id="app">')
    head_end = page.find("</head>")
    body_end = page.rfind("</body>")
    if app < 0 or head_end < 0 or body_end < 0:
        raise RenderError(f"{index} has no Allure app to put the verdict above")
    page = (
        page[:head_end]
        + PANEL_STYLE
        + "\n"
        + page[head_end:app]
        + verdict_panel(summary, links)
        + "\n"
        + page[app:body_end]
        + PANEL_SCRIPT
        + "\n"
        + page[body_end:]
    )
    index.write_text(page, encoding="utf-8")


_EMBEDDED_FILE = re.compile(r'd\("((?:[^"\\]|\\.)*)","([A-Za-z0-9+/=]*)"\)')


def embedded_files(index: Path) -> dict[str, str]:
    """The data files a single-file report carries inline (name -> text), e.g. for tests."""
    page = index.read_text(encoding="utf-8")
    found = {}
    for name, value in _EMBEDDED_FILE.findall(page):
        try:
            found[json.loads(f'"{name}"')] = base64.b64decode(value).decode("utf-8", "replace")
        except ValueError:
            continue
    return found


#: Labels that name a test's requirement: the run's Allure writer's, and an older label.
REQUIREMENT_LABELS = ("requirement_id", "requirement")


def test_result_links(files: Mapping[str, str]) -> dict[str, str]:
    """Requirement id -> the Allure id of its test result (the failed or broken one when a
    requirement has several), from a rendered report's ``data/test-results/*.json``."""
    found: dict[str, tuple[int, str]] = {}
    for name, text in files.items():
        if not name.startswith("data/test-results/"):
            continue
        try:
            result = json.loads(text)
        except ValueError:
            continue
        labels = {label.get("name"): label.get("value") for label in result.get("labels") or []}
        requirement = next((labels[k] for k in REQUIREMENT_LABELS if labels.get(k)), None)
        if requirement is None or not isinstance(result.get("id"), str):
            continue
        rank = 0 if result.get("status") in ("failed", "broken") else 1
        if requirement not in found or rank < found[requirement][0]:
            found[str(requirement)] = (rank, result["id"])
    return {requirement: test for requirement, (_, test) in found.items()}


def open_at_top(index: Path) -> None:
    """Make a rendered ``index.html`` open at the top (see OPEN_AT_TOP_SCRIPT); idempotent."""
    page = index.read_text(encoding="utf-8")
    if 'id="snapconform-open-at-top"' in page:
        return
    at = page.rfind("</body>")
    if at < 0:
        raise RenderError(f"{index} has no </body>: not an Allure report page")
    index.write_text(page[:at] + OPEN_AT_TOP_SCRIPT + "\n" + page[at:], encoding="utf-8")


def strip_analytics(index: Path) -> bool:
    """Remove the analytics scripts from a rendered ``index.html``; True when there were any."""
    page = index.read_text(encoding="utf-8")
    cleaned = _ANALYTICS.sub("", page)
    if cleaned == page:
        return False
    index.write_text(cleaned, encoding="utf-8")
    return True
