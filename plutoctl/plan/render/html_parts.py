"""Parts of the HTML plan that tell a reader what will happen: the verdict and the
chart of every change kind (planned and refused).

Kept apart from ``html`` so that each file stays about one thing; everything taken
from the plan is escaped with ``html.escape`` here too.
"""

from __future__ import annotations

from html import escape

from plutoctl.plan.changes.plans import Plan, SitePlan
from plutoctl.plan.render.common import clean, not_in_sync, read_in_part, site_names
from plutoctl.plan.summary import SUMMARY_LABELS, summarize

_BAR_WIDTH = 300
_ROW_HEIGHT = 22
_LABEL_WIDTH = 230

VERDICT_CSS = """
.verdict { font-size: 1.25em; font-weight: bold; padding: .6em 1em; margin: 1em 0;
  border-radius: 6px; border: 2px solid; }
.verdict.refused, .verdict.errors { background: #ffebe9; border-color: #cf222e;
  color: #82071e; }
.verdict.ready { background: #dafbe1; border-color: #1a7f37; color: #116329; }
.verdict.none { background: #f6f8fa; border-color: #8c959f; color: #1b1f23; }
.verdict.partial, .verdict.blocked { background: #fff8c5; border-color: #9a6700; color: #4d2d00; }
""".strip()


def _e(text: str) -> str:
    return escape(clean(text), quote=True)


def plan_verdicts(plan: Plan) -> list[tuple[str, str]]:
    """Return the plan's verdicts as (css class, text), the gravest first.

    The same facts the markdown report leads with: refused as unsafe, errors per site,
    else ready to apply (or nothing to do). Words, not emoji: a browser without an
    emoji font would show a blank box.
    """
    verdicts = []
    refused = sum(len(s.refused) for s in plan.sites)
    if refused:
        verdicts.append(
            (
                "refused",
                f"REFUSED as unsafe: {refused:,} change(s) need acknowledgement. "
                "Nothing will be applied until they are acknowledged.",
            )
        )
    failed = [s.site for s in plan.sites if s.errors]
    if failed:
        verdicts.append(
            ("errors", f"ERRORS on site(s) {site_names(failed)}: nothing will be applied there.")
        )
    partial = [s.site for s in plan.sites if s.is_read_incomplete and not s.errors]
    if not verdicts and any(s.changes for s in plan.sites):
        verdicts.append(("ready", "Ready to apply: no errors, nothing refused."))
    if partial:
        verdicts.append(("partial", read_in_part(partial)))
    blocked = [s.site for s in plan.sites if s.is_blocked and not s.errors]
    if blocked:
        verdicts.append(("blocked", not_in_sync(blocked)))
    if not verdicts:
        verdicts.append(("none", "No changes: every site already matches the config."))
    return verdicts


def verdict_html(plan: Plan) -> list[str]:
    """Return the verdict banners for the top of the report."""
    return [
        f'<p class="verdict {css}" role="status">{_e(text)}</p>'
        for css, text in plan_verdicts(plan)
    ]


def title_text(plan: Plan) -> str:
    """Return the document title: the gravest verdict's head, as in a browser tab (a
    site read in part or not in sync before another's "Ready to apply")."""
    graver = ("refused", "errors", "partial", "blocked", "ready", "none")
    _, text = min(plan_verdicts(plan), key=lambda verdict: graver.index(verdict[0]))
    return f"plutoctl plan: {text.split(': ', 1)[0]}"


def kinds_chart(site: SitePlan) -> str:
    """Return an SVG bar per change kind: planned items, and refused ones beside them."""
    planned = summarize(site).as_dict()
    refused = _refused_counts(site)
    rows = [
        (label, planned[key], refused[key])
        for key, label in SUMMARY_LABELS
        if planned[key] or refused[key]
    ]
    if not rows:
        return ""
    biggest = max(max(p, r) for _, p, r in rows) or 1
    height = _ROW_HEIGHT * len(rows) + 10
    width = _LABEL_WIDTH + _BAR_WIDTH + 220
    shapes = [
        f'<svg class="chart kinds" width="{width}" height="{height}" role="img" '
        'aria-label="Changes by kind, planned and refused">'
    ]
    for index, (label, count, refused_count) in enumerate(rows):
        shapes.extend(_kind_row(index, label, count, refused_count, biggest))
    shapes.append("</svg>")
    return '<div class="kinds">\n' + "\n".join(shapes) + "\n</div>"


def _refused_counts(site: SitePlan) -> dict[str, int]:
    as_plan = SitePlan(site=site.site, changes=tuple(r.change for r in site.refused))
    return summarize(as_plan).as_dict()


def _kind_row(index: int, label: str, count: int, refused: int, biggest: int) -> list[str]:
    y = index * _ROW_HEIGHT + 5
    planned_w = round(_BAR_WIDTH * count / biggest)
    refused_w = round(_BAR_WIDTH * refused / biggest)
    text = f"{count:,} planned" + (f", {refused:,} refused" if refused else "")
    return [
        f'<g class="kind"><title>{_e(label)}: {_e(text)}</title>',
        f'<text x="0" y="{y + 14}">{_e(label)}</text>',
        f'<rect class="planned" x="{_LABEL_WIDTH}" y="{y}" width="{planned_w}" height="8" '
        'fill="#0969da" />',
        f'<rect class="refused" x="{_LABEL_WIDTH}" y="{y + 8}" width="{refused_w}" height="8" '
        'fill="#cf222e" />',
        f'<text x="{_LABEL_WIDTH + _BAR_WIDTH + 8}" y="{y + 14}">{_e(text)}</text>',
        "</g>",
    ]
