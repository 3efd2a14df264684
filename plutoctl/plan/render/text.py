"""The text plan: Terraform-like, for a terminal ("The other formats" in docs/plan-format.md).

Per site: its changes in plan order (``+`` create/add, ``~`` update, ``-``
delete/remove), then refused changes with the flag that would allow each, held-back
removals, notices and errors, then the summary line and the estimated API calls.
Usernames are folded beyond ``FOLD_AT`` per change unless ``show_members``.
"""

from __future__ import annotations

from plutoctl.plan.changes.base import FOLD_AT
from plutoctl.plan.changes.kinds import Change
from plutoctl.plan.changes.plans import Notice, Plan, Refusal, SitePlan
from plutoctl.plan.changes.subjects import usernames_of
from plutoctl.plan.render.common import (
    clean,
    config_acknowledgement,
    duration,
    field_lines,
    headline,
    notice_text,
    site_headline,
    site_names,
    total_headline,
)
from plutoctl.plan.summary import summarize, total

WIDTH = 100
"""Lines of usernames wrap at this width."""

_COLOURS = {"+": "\x1b[32m", "~": "\x1b[33m", "-": "\x1b[31m", "!": "\x1b[1;31m"}
_RESET = "\x1b[0m"


class _Style:
    """Colours a sign-led line only when asked to."""

    def __init__(self, *, colour: bool) -> None:
        self.colour = colour

    def paint(self, mark: str, text: str) -> str:
        if not self.colour:
            return text
        return f"{_COLOURS[mark]}{text}{_RESET}"


def render_text(plan: Plan, *, colour: bool = False, show_members: bool = False) -> str:
    """Return the plan as text for a terminal; ANSI colours only when ``colour``."""
    style = _Style(colour=colour)
    blocks = [_site_block(site, style, show_members=show_members) for site in plan.sites]
    lines: list[str] = []
    previous: list[str] = []
    for block in blocks:
        # One-line sites ("site x: No changes.") stay together; full blocks stand apart.
        if previous and (len(block) > 1 or len(previous) > 1):
            lines.append("")
        lines.extend(block)
        previous = block
    lines.extend(_closing(plan))
    return "\n".join(lines) + "\n"


def _closing(plan: Plan) -> list[str]:
    """Return the lines after the last site: the total, refusal and error notes."""
    lines: list[str] = []
    if len(plan.sites) > 1 or not plan.sites:
        everything = total(summarize(site) for site in plan.sites)
        line = total_headline(plan.sites)
        if not everything.is_empty:
            seconds = sum(site.estimated_seconds for site in plan.sites)
            line += (
                f" Estimated API calls: {everything.api_calls:,}"
                f" ({duration(seconds)} on a typical site)."
            )
        lines.append(line)
    refused = sum(len(site.refused) for site in plan.sites)
    if refused:
        lines.append(
            f"Refused: {refused:,} {'change needs' if refused == 1 else 'changes need'} "
            "acknowledgement (see above); the plan is unsafe as it stands."
        )
    failed = [clean(site.site) for site in plan.sites if site.errors]
    if failed:
        lines.append(f"Errors on site(s) {site_names(failed)}: nothing will be applied there.")
    if lines:
        lines.insert(0, "")
    return lines


def _site_block(site: SitePlan, style: _Style, *, show_members: bool) -> list[str]:
    summary = summarize(site)
    if summary.is_empty and not (site.refused or site.held_back or site.notices or site.errors):
        return [f"site {clean(site.site)}: No changes."]
    lines = [f"site {clean(site.site)}:"]
    for change in site.changes:
        lines.extend(_change_lines(change, style, show_members=show_members))
    lines.extend(_refused_lines(site.refused, style, show_members=show_members))
    lines.extend(_acknowledged_lines(site))
    lines.extend(_notice_section("Held back:", site.held_back, show_level=False))
    lines.extend(_notice_section("Notices:", site.notices, show_level=True))
    lines.extend(_notice_section("Errors:", site.errors, show_level=True))
    lines.append("")
    lines.append(f"  {site_headline(site, summary)}")
    if not (site.errors and summary.is_empty):
        lines.append(
            f"  Estimated API calls: {summary.api_calls:,}"
            f" ({duration(site.estimated_seconds)} on a typical site)"
        )
    return lines


def _change_lines(
    change: Change, style: _Style, *, show_members: bool, mark: str = ""
) -> list[str]:
    """Return the lines of one change: the headline, its fields or its usernames."""
    symbol = change.kind.sign
    head = f"  {mark}{symbol} {headline(change)}"
    names = usernames_of(change)
    lines = [style.paint(mark.strip() or symbol, head)]
    lines.extend(f"      {line}" for line in field_lines(change))
    if names:
        lines = _with_names(lines, _name_items(names, show_members=show_members))
    return lines


def _name_items(names: tuple[str, ...], *, show_members: bool) -> list[str]:
    """Return the usernames to print, the last one a fold note if some are hidden."""
    if show_members or len(names) <= FOLD_AT:
        return [clean(n) for n in names]
    hidden = len(names) - FOLD_AT
    shown = [clean(n) for n in names[:FOLD_AT]]
    return [*shown, f"… and {hidden:,} more (use --show-members)"]


def _with_names(lines: list[str], items: list[str]) -> list[str]:
    """Append ``: a, b, c`` to the headline, wrapping onto indented lines if long."""
    one_line = f"{lines[0]}: {', '.join(items)}"
    if len(one_line) <= WIDTH:
        return [one_line, *lines[1:]]
    wrapped = [f"{lines[0]}:"]
    current = "     "
    for index, item in enumerate(items):
        piece = item + ("," if index < len(items) - 1 else "")
        if len(current) + 1 + len(piece) > WIDTH and current.strip():
            wrapped.append(current)
            current = "     "
        current += " " + piece
    wrapped.append(current)
    return [*wrapped, *lines[1:]]


def _refused_lines(refused: tuple[Refusal, ...], style: _Style, *, show_members: bool) -> list[str]:
    if not refused:
        return []
    lines = ["", "  Refused (not applied; each needs its acknowledgement flag):"]
    for refusal in refused:
        lines.extend(_change_lines(refusal.change, style, show_members=show_members, mark="! "))
        lines.append(f"      refused: {clean(refusal.reason)}")
        lines.append(f"      to allow: {clean(refusal.acknowledge)}")
        in_config = config_acknowledgement(refusal, refused)
        if in_config:
            lines.append(f"      or, reviewed in the config: {clean(in_config)}")
    return lines


def _acknowledged_lines(site: SitePlan) -> list[str]:
    if not site.acknowledged:
        return []
    lines = ["", "  Acknowledged (allowed beyond the safety policy):"]
    for ack in site.acknowledged:
        lines.append(f"    {clean(ack.subject)}: {clean(ack.reason)}; allowed by {clean(ack.by)}")
    return lines


def _notice_section(title: str, notices: tuple[Notice, ...], *, show_level: bool) -> list[str]:
    if not notices:
        return []
    lines = ["", f"  {title}"]
    for notice in notices:
        level = f"{clean(notice.level)}: " if show_level else ""
        lines.append(f"    {level}{notice_text(notice)}")
    return lines
