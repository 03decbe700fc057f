"""What a person sees first: the verdict, what failed, what was not checked and how to check it.

The terminal (``snapconform run``), ``summary.md`` and the HTML report say the same thing in
the same words, from ``summary.json``:

- :func:`verdict_word`: CONFORMANT, NON-CONFORMANT, INCOMPLETE (exit 3, also an interrupted
  run that failed no MUST), or NO VERDICT (no verdict was possible: ``reason``);
- :func:`verdict_why`: the few words beside it ("3 MUST failed", "1 MUST not checked");
- :func:`failures_first`: the failed requirements, MUST before SHOULD, in catalogue order;
- :func:`split_detail`: a failure's detail and its reproduction (the curl line the engine
  appends after `` — reproduce: ``);
- :func:`change_to_check`: the one change that would check a requirement left not checked.

:func:`verdict_panel` renders them as the first screen of the HTML report. Allure's own first
screen cannot: it knows test statuses, not a conformance verdict, and its success-rate donut
read 100% in green for an INCOMPLETE run (not-checked requirements are "skipped", which it
leaves out) and 86% for a NON-CONFORMANT one. The panel is static HTML with inline CSS (the
report stays one file that fetches nothing); ``render.py`` puts it above the Allure app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from snapconform.redaction import mask_url

#: The engine's separator between what a failure showed and the request that shows it again.
REPRODUCE_MARK = " — reproduce: "
_SEED_NOTE = re.compile(r"\s*(\[seed [^\]]*\])\s*$")

_LEVEL_ORDER = {"MUST": 0, "SHOULD": 1}

#: summary.json's reason when Ctrl-C (or SIGTERM) stopped the run (the runner's INTERRUPTED).
INTERRUPTED = "interrupted"


def _requirements(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(summary.get("requirements") or [])


def _count(summary: Mapping[str, Any], outcome: str, level: str | None = None) -> int:
    return sum(
        1
        for r in _requirements(summary)
        if r.get("outcome") == outcome and (level is None or r.get("level") == level)
    )


def verdict_word(summary: Mapping[str, Any]) -> str:
    """The verdict as the terminal prints it: ``summary.json``'s verdict, upper case."""
    verdict = str(summary.get("verdict") or "error")
    return "NO VERDICT" if verdict == "error" else verdict.upper()


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 2].rsplit(" ", 1)[0] + " …"


def verdict_why(summary: Mapping[str, Any]) -> str:
    """A few words on why the verdict is what it is."""
    verdict = str(summary.get("verdict") or "error")
    total = len(_requirements(summary))
    if verdict == "non-conformant":
        return f"{_count(summary, 'failed', 'MUST')} MUST failed"
    if verdict == "conformant":
        return f"{_count(summary, 'passed')} of {total} requirements passed, no MUST failed"
    if verdict == "incomplete":
        why = f"{_count(summary, 'not_checked', 'MUST')} MUST not checked, no MUST failed"
        return f"interrupted: {why}" if summary.get("reason") == INTERRUPTED else why
    return _one_line(str(summary.get("reason") or "no verdict was possible"), 80)


def failures_first(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The failed requirements, MUST before SHOULD, each level in catalogue order."""
    failed = [r for r in _requirements(summary) if r.get("outcome") == "failed"]
    return sorted(failed, key=lambda r: _LEVEL_ORDER.get(str(r.get("level")), 2))


def not_checked(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The requirements that apply but were not checked, MUST first."""
    unchecked = [r for r in _requirements(summary) if r.get("outcome") == "not_checked"]
    return sorted(unchecked, key=lambda r: _LEVEL_ORDER.get(str(r.get("level")), 2))


def split_detail(detail: str) -> tuple[str, str | None]:
    """(what the check showed, the command that shows it again) of a failure's detail.

    The engine writes ``<what> — reproduce: curl … [seed N; …]``; the seed note stays with
    what was shown. A detail without a reproduction gives ``(detail, None)``.
    """
    head, mark, tail = detail.partition(REPRODUCE_MARK)
    if not mark:
        return detail, None
    seed = _SEED_NOTE.search(tail)
    if seed:
        tail = tail[: seed.start()]
        head = f"{head} {seed.group(1)}"
    return head, tail.strip() or None


#: The change that checks a requirement left not checked, by the reason it was not.
_CHANGE_BY_REASON = {
    "budget": "raise the request budget (--max-requests, or SNAPCONFORM_MAX_REQUESTS)",
    "time": "raise or drop the time box (--max-duration)",
    "interrupted": "run again and let the run finish (it was interrupted)",
    "deselected": "run every check (no -k, --deselect or plugin that leaves checks out)",
    "uncertain": (
        "run in controlled or declared mode (--control-url or --state-file), or against a "
        "target whose open tasks do not change while it runs"
    ),
    "prerequisite": "fix the failed requirement it depends on, then run again",
    "no_evidence": (
        "send more requests (--max-requests, --max-examples), or run in controlled mode where "
        "the harness can make the target answer that way"
    ),
    "transport": (
        "run again over a steadier connection, or with a lower --rate-limit (the network lost"
        " a request the check needed, also on the retry)"
    ),
    "discovery": (
        "raise the request budget (--max-requests) so observed discovery can list every part,"
        " or declare the data (--state-file) so nothing has to be discovered"
    ),
    "error": "see the detail and the report's harness.log (the harness could not run the check)",
}
_UNPRIVILEGED_CHANGE = (
    "name a principal without System.Read: --unprivileged-username NAME, with its password in "
    "SNAPCONFORM_UNPRIVILEGED_PASSWORD"
)


def change_to_check(requirement: Mapping[str, Any]) -> str:
    """The one change that would check ``requirement`` (outcome not_checked) next time."""
    reason = str(requirement.get("reason") or "error")
    detail = str(requirement.get("detail") or "")
    if reason == "configuration":
        if "unprivileged" in detail:
            return _UNPRIVILEGED_CHANGE
        return f"give the run what it lacks: {_one_line(detail, 160)}"
    return _CHANGE_BY_REASON.get(reason, _CHANGE_BY_REASON["error"])


def counts_line(summary: Mapping[str, Any]) -> str:
    """``33 passed · 3 failed · 0 not checked · 1 not applicable of 37 requirements``."""
    parts = [
        f"{_count(summary, o)} {o.replace('_', ' ')}"
        for o in ("passed", "failed", "not_checked", "not_applicable")
    ]
    return f"{' · '.join(parts)} of {len(_requirements(summary))} requirements"


# ---------------------------------------------------------------------------------------------
# the HTML report's first screen

#: Colours of the verdict word (the donut's green is what a failed run must not show).
_VERDICT_CLASS = {
    "CONFORMANT": "sc-conformant",
    "NON-CONFORMANT": "sc-non-conformant",
    "INCOMPLETE": "sc-incomplete",
    "NO VERDICT": "sc-no-verdict",
}

PANEL_ID = "snapconform-verdict"

#: The panel sits above the Allure app; the app, which sizes itself to the whole viewport,
#: gets what is left, so both stay on screen and each scrolls on its own. Allure's
#: success-rate charts are hidden (see PANEL_SCRIPT): a percentage of passed tests is not the
#: verdict, and read as one it says the opposite for a failed or incomplete run.
PANEL_STYLE = """<style id="snapconform-first-screen-style">
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; height: 100vh; overflow: hidden; }
#app { flex: 1 1 auto; min-height: 0; position: relative; }
#app > div { height: 100% !important; }
#snapconform-verdict { flex: 0 0 auto; max-height: 45vh; overflow-y: auto; box-sizing: border-box;
  font: 14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, sans-serif;
  color: #111827; background: #fff; border-bottom: 1px solid #d1d5db;
  padding: 10px max(24px, calc((100vw - 920px) / 2)) 12px; }
#snapconform-verdict > summary { cursor: pointer; font-size: 18px; }
#snapconform-verdict .sc-word { font-weight: 800; font-size: 22px; letter-spacing: .02em;
  padding: 1px 10px; border-radius: 6px; color: #fff; }
#snapconform-verdict.sc-conformant .sc-word { background: #15803d; }
#snapconform-verdict.sc-non-conformant .sc-word { background: #b91c1c; }
#snapconform-verdict.sc-incomplete .sc-word { background: #b45309; }
#snapconform-verdict.sc-no-verdict .sc-word { background: #4b5563; }
#snapconform-verdict .sc-why { font-weight: 600; }
#snapconform-verdict .sc-target { color: #4b5563; font-size: 14px; }
#snapconform-verdict h2 { font-size: 15px; margin: 10px 0 4px; }
#snapconform-verdict ol, #snapconform-verdict ul { margin: 0; padding-left: 22px; }
#snapconform-verdict li { margin: 0 0 6px; }
#snapconform-verdict .sc-id { font-weight: 700; font-family: ui-monospace, monospace; }
#snapconform-verdict .sc-detail { white-space: pre-wrap; overflow-wrap: anywhere; }
#snapconform-verdict code { font-family: ui-monospace, monospace; font-size: 12.5px;
  background: #f3f4f6; padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
#snapconform-verdict .sc-note { color: #4b5563; margin: 8px 0 0; }
</style>"""

#: Hides Allure's success-rate charts (a leaf reading only ``NN%`` inside an <article> with an
#: <svg>) whenever the app renders them, and folds the panel to its one-line verdict while a
#: single test is open (the app's route is in the URL's hash), unfolding it on the overview.
PANEL_SCRIPT = """<script id="snapconform-first-screen">
(() => {
  const percent = /^\\s*\\d+(?:[.,]\\d+)?\\s*%\\s*$/;
  const hideRates = () => {
    for (const article of document.querySelectorAll("#app article")) {
      if (article.dataset.snapconformHidden || !article.querySelector("svg")) continue;
      const leaves = [...article.querySelectorAll("*")].filter((n) => !n.children.length);
      if (leaves.some((n) => percent.test(n.textContent))) {
        article.style.display = "none";
        article.dataset.snapconformHidden = "success rate: not the verdict";
      }
    }
  };
  // The app changes its route with history.pushState (no hashchange event): the route is
  // compared on every render; only a change of route folds or unfolds the panel, so a reader's
  // own click on it holds until they open another page.
  const panel = document.getElementById("snapconform-verdict");
  let route = null;
  const fold = () => {
    const now = location.hash.replace(/^#\\/?/, "");
    if (now === route) return;
    route = now;
    panel.open = now === "" || now.startsWith("?");
  };
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; hideRates(); fold(); });
  }).observe(document.getElementById("app"), { childList: true, subtree: true });
  window.addEventListener("hashchange", fold);
  window.addEventListener("popstate", fold);
  fold();
})();
</script>"""


def _requirement_head(requirement: Mapping[str, Any], links: Mapping[str, str]) -> str:
    """``ID [LEVEL] title``; the id opens the requirement's test in the Allure app when the
    report has one (the app routes on the URL's hash: ``#<test result id>``)."""
    ident = escape(str(requirement.get("id")))
    test = links.get(str(requirement.get("id")))
    if test is not None:
        ident = f'<a href="#{escape(test)}" title="open its check below">{ident}</a>'
    return (
        f'<span class="sc-id">{ident}</span>'
        f" [{escape(str(requirement.get('level')))}] {escape(str(requirement.get('title', '')))}"
    )


def _failure_item(requirement: Mapping[str, Any], links: Mapping[str, str]) -> str:
    shown, reproduce = split_detail(str(requirement.get("detail") or ""))
    item = f'<li class="sc-failed-requirement">{_requirement_head(requirement, links)}'
    item += f'<div class="sc-detail">{escape(shown)}</div>'
    if reproduce:
        item += f"<div>reproduce: <code>{escape(reproduce)}</code></div>"
    return item + "</li>"


def _not_checked_item(requirement: Mapping[str, Any], links: Mapping[str, str]) -> str:
    reason = str(requirement.get("reason") or "error").replace("_", " ")
    note = "" if requirement.get("level") == "MUST" else " (a SHOULD: the verdict does not need it)"
    return (
        f'<li class="sc-not-checked-requirement">{_requirement_head(requirement, links)}'
        " — not checked"
        f" ({escape(reason)}){escape(note)}"
        f'<div class="sc-detail">{escape(str(requirement.get("detail") or ""))}</div>'
        f"<div>to check it: {escape(change_to_check(requirement))}</div></li>"
    )


def _section(title: str, items: Sequence[str], tag: str = "ol") -> str:
    if not items:
        return ""
    return f"<h2>{escape(title)}</h2><{tag}>{''.join(items)}</{tag}>"


def verdict_panel(summary: Mapping[str, Any], links: Mapping[str, str] | None = None) -> str:
    """The report's first screen as one HTML fragment (escaped; secrets already masked in
    summary.json, the target's password masked here). ``links``: requirement id -> the id of
    its test result in the Allure report, which the requirement's id then opens."""
    links = links or {}
    word = verdict_word(summary)
    target = mask_url(str(summary.get("target") or "unknown target"))
    failed, unchecked = failures_first(summary), not_checked(summary)
    musts_unchecked = sum(1 for r in unchecked if r.get("level") == "MUST")
    parts = [
        f'<details id="{PANEL_ID}" class="{_VERDICT_CLASS[word]}" open>',
        f'<summary><span class="sc-word">{escape(word)}</span>'
        f' <span class="sc-why">{escape(verdict_why(summary))}</span>'
        f' <span class="sc-target">— {escape(target)}, {escape(str(summary.get("mode", "")))}'
        f" mode</span></summary>",
        f'<p class="sc-note">{escape(counts_line(summary))};'
        f" {escape(str(summary.get('requests', 0)))} requests</p>",
    ]
    if word == "NO VERDICT":
        parts.append(
            f'<p class="sc-detail">No verdict was possible: '
            f"{escape(str(summary.get('reason') or 'unknown'))}</p>"
        )
    if summary.get("reason") == INTERRUPTED:
        parts.append(
            "<p>The run was interrupted (Ctrl-C or SIGTERM): the verdict covers what ran"
            " before it stopped.</p>"
        )
    if word == "INCOMPLETE":
        parts.append(
            f"<p>No MUST failed, but {musts_unchecked} applicable MUST requirement(s) were not"
            " checked: this run certifies nothing (exit code 3). Each one below says the change"
            " that would check it.</p>"
        )
    parts.append(_section(f"Failed ({len(failed)})", [_failure_item(r, links) for r in failed]))
    parts.append(
        _section(
            f"Not checked ({len(unchecked)})",
            [_not_checked_item(r, links) for r in unchecked],
            "ul",
        )
    )
    if word == "CONFORMANT":
        parts.append(
            "<p>Every applicable MUST requirement was checked and passed"
            f" ({_count(summary, 'not_applicable')} not applicable to this mode or target).</p>"
        )
    parts.append(
        '<p class="sc-note">Below: every check with its exchanges, failed first (a click on'
        " the verdict line folds this panel).</p></details>"
    )
    return "".join(parts)
