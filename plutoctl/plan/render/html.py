"""The HTML plan: one self-contained report file ("The other formats" in docs/plan-format.md).

Inline CSS, no scripts, no external assets. Per site: the summary, an inline SVG bar
chart of member changes per segment, refused changes, notices and errors, and every
change. Everything taken from the plan is escaped. The markup is well-formed XML so
that it can be checked mechanically.
"""

from __future__ import annotations

from html import escape

from plutoctl.plan.changes.base import FOLD_AT
from plutoctl.plan.changes.kinds import Change
from plutoctl.plan.changes.plans import Notice, Plan, SitePlan
from plutoctl.plan.changes.subjects import usernames_of
from plutoctl.plan.render.common import (
    clean,
    config_acknowledgement,
    duration,
    field_lines,
    headline,
    notice_text,
    segment_member_changes,
    site_headline,
    total_headline,
)
from plutoctl.plan.render.html_parts import VERDICT_CSS, kinds_chart, title_text, verdict_html
from plutoctl.plan.summary import SUMMARY_LABELS, SiteSummary, summarize

CHART_ROWS = 40
"""Segments drawn in a site's chart (those with the most member changes)."""

_BAR_WIDTH = 300
_ROW_HEIGHT = 22
_LABEL_WIDTH = 220

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1b1f23; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
table.summary { border-collapse: collapse; margin: .5em 0 1em; }
table.summary td, table.summary th { border: 1px solid #d0d7de; padding: .2em .6em; }
table.summary td.n { text-align: right; font-variant-numeric: tabular-nums; }
ul.changes { list-style: none; padding-left: 0; font-family: ui-monospace, monospace; }
ul.changes li { margin: .2em 0; }
.add { color: #1a7f37; } .update { color: #9a6700; } .remove { color: #cf222e; }
.refused { background: #ffebe9; border-left: 4px solid #cf222e; padding: .2em .6em; }
.fields, .names { margin-left: 2em; color: #57606a; }
.error { color: #cf222e; font-weight: bold; }
svg text { font-family: system-ui, sans-serif; font-size: 12px; }
""".strip()

_CLASSES = {"+": "add", "~": "update", "-": "remove"}


def _e(text: str) -> str:
    """Escape text for HTML element content and attribute values."""
    return escape(clean(text), quote=True)


def render_html(plan: Plan, *, show_members: bool = False) -> str:
    """Return the plan as one self-contained HTML document."""
    body = [
        "<h1>plutoctl plan</h1>",
        f'<p class="meta">Config {_e(plan.config_path or "(none)")} · made '
        f"{_e(plan.created_at or '(unknown)')}</p>",
        *verdict_html(plan),
    ]
    if len(plan.sites) > 1:
        body.append(f"<p><strong>{_e(total_headline(plan.sites))}</strong></p>")
    for site in plan.sites:
        body.extend(_site(site, show_members=show_members))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8" />\n'
        f"<title>{_e(title_text(plan))}</title>\n"
        f"<style>\n{_CSS}\n{VERDICT_CSS}\n</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _site(site: SitePlan, *, show_members: bool) -> list[str]:
    summary = summarize(site)
    parts = [
        f'<section class="site" id="site-{_e(site.site)}">',
        f"<h2>Site {_e(site.site)}</h2>",
        f"<p><strong>{_e(site_headline(site, summary))}</strong></p>",
        _summary_table(summary, site.estimated_seconds),
    ]
    kinds = kinds_chart(site)
    if kinds:
        parts += ["<h3>Changes by kind (planned and refused)</h3>", kinds]
    chart = _chart(segment_member_changes(site.changes))
    if chart:
        parts += ["<h3>Member changes per segment</h3>", chart]
    parts += _refused(site, show_members=show_members)
    parts += _acknowledged(site)
    parts += _notices("Errors", site.errors, css="error")
    parts += _notices("Held back", site.held_back, css="")
    parts += _notices("Notices", site.notices, css="")
    if site.changes:
        parts.append(f"<h3>Changes ({len(site.changes):,})</h3>")
        parts.append('<ul class="changes">')
        parts += [_change_item(c, show_members=show_members) for c in site.changes]
        parts.append("</ul>")
    parts.append("</section>")
    return parts


def _summary_table(summary: SiteSummary, seconds: float) -> str:
    counts = summary.as_dict()
    rows = [
        f'<tr><td>{_e(label)}</td><td class="n">{counts[key]:,}</td></tr>'
        for key, label in SUMMARY_LABELS
        if counts[key]
    ]
    rows.append(f'<tr><td>Estimated API calls</td><td class="n">{summary.api_calls:,}</td></tr>')
    rows.append(
        f'<tr><td>Estimated time on a typical site</td><td class="n">{duration(seconds)}</td></tr>'
    )
    header = "<tr><th>What</th><th>Count</th></tr>"
    return f'<table class="summary">{header}{"".join(rows)}</table>'


def _change_item(change: Change, *, show_members: bool, extra: str = "") -> str:
    mark = change.kind.sign
    parts = [f'<li class="{_CLASSES[mark]}">{_e(mark)} {_e(headline(change))}']
    fields = field_lines(change, quote=_quoted)
    if fields:
        parts.append('<div class="fields">' + "<br />".join(_e(f) for f in fields) + "</div>")
    names = usernames_of(change)
    if names:
        parts.append(f'<div class="names">{_names(names, show_members=show_members)}</div>')
    parts.append(extra)
    parts.append("</li>")
    return "".join(parts)


def _quoted(value: object) -> str:
    """Return a field value for reading: text in quotes as written, never JSON escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"“{value}”" if isinstance(value, str) else str(value)


def _names(names: tuple[str, ...], *, show_members: bool) -> str:
    if show_members or len(names) <= FOLD_AT:
        return _e(", ".join(names))
    hidden = len(names) - FOLD_AT
    return _e(", ".join(names[:FOLD_AT])) + f" … and {hidden:,} more (use --show-members)"


def _refused(site: SitePlan, *, show_members: bool) -> list[str]:
    if not site.refused:
        return []
    items = []
    for refusal in site.refused:
        in_config = config_acknowledgement(refusal, site.refused)
        reviewed = f", or in the config: <code>{_e(in_config)}</code>" if in_config else ""
        extra = (
            f'<div class="fields">refused: {_e(refusal.reason)}<br />'
            f"to allow: <code>{_e(refusal.acknowledge)}</code>{reviewed}</div>"
        )
        items.append(_change_item(refusal.change, show_members=show_members, extra=extra))
    return [
        f"<h3>Refused ({len(site.refused):,}): not applied until acknowledged</h3>",
        '<ul class="changes refused">',
        *items,
        "</ul>",
    ]


def _acknowledged(site: SitePlan) -> list[str]:
    if not site.acknowledged:
        return []
    items = [
        f"<li>{_e(a.subject)}: {_e(a.reason)}; allowed by <code>{_e(a.by)}</code></li>"
        for a in site.acknowledged
    ]
    return [f"<h3>Acknowledged in review ({len(items):,})</h3>", "<ul>", *items, "</ul>"]


def _notices(title: str, notices: tuple[Notice, ...], *, css: str) -> list[str]:
    if not notices:
        return []
    items = [
        f'<li class="{css}">{_e(n.level)}: {_e(notice_text(n))}</li>'
        if css
        else f"<li>{_e(n.level)}: {_e(notice_text(n))}</li>"
        for n in notices
    ]
    return [f"<h3>{_e(title)}</h3>", "<ul>", *items, "</ul>"]


def _chart(changes: dict[str, tuple[int, int]]) -> str:
    """Return an SVG bar chart: per segment, added members (green) and removed (red)."""
    if not changes:
        return ""
    ranked = sorted(changes.items(), key=lambda item: (-(item[1][0] + item[1][1]), item[0]))
    rows = ranked[:CHART_ROWS]
    biggest = max(max(a, r) for _, (a, r) in rows) or 1
    width = _LABEL_WIDTH + 2 * _BAR_WIDTH + 140
    height = _ROW_HEIGHT * len(rows) + 10
    middle = _LABEL_WIDTH + _BAR_WIDTH
    shapes = [
        f'<svg class="chart" width="{width}" '
        f'height="{height}" role="img" aria-label="Member changes per segment">',
        f'<line x1="{middle}" y1="0" x2="{middle}" y2="{height}" stroke="#8c959f" />',
    ]
    for index, (sid, (added, removed)) in enumerate(rows):
        shapes.extend(_chart_row(index, sid, added, removed, biggest))
    shapes.append("</svg>")
    svg = "\n".join(shapes)
    if len(ranked) > len(rows):
        more = len(ranked) - len(rows)
        svg += f"\n<p>… and {more:,} more segments with member changes (see below).</p>"
    return svg


def _chart_row(index: int, sid: str, added: int, removed: int, biggest: int) -> list[str]:
    y = index * _ROW_HEIGHT + 5
    middle = _LABEL_WIDTH + _BAR_WIDTH
    add_w = round(_BAR_WIDTH * added / biggest)
    rem_w = round(_BAR_WIDTH * removed / biggest)
    label = f"+{added:,} / −{removed:,}"
    return [
        f'<g class="bar"><title>{_e(sid)}: {_e(label)}</title>',
        f'<text x="0" y="{y + 14}">{_e(_short(sid))}</text>',
        f'<rect class="removed" x="{middle - rem_w}" y="{y}" width="{rem_w}" height="16" '
        'fill="#cf222e" />',
        f'<rect class="added" x="{middle}" y="{y}" width="{add_w}" height="16" fill="#1a7f37" />',
        f'<text x="{middle + _BAR_WIDTH + 8}" y="{y + 14}">{_e(label)}</text>',
        "</g>",
    ]


def _short(text: str, length: int = 30) -> str:
    """Return text cut to ``length`` characters with an ellipsis, for chart labels."""
    return text if len(text) <= length else text[: length - 1] + "…"
