"""The markdown plan: a pull-request comment ("The other formats" in docs/plan-format.md).

Per site: removals and deletions first, refused changes and errors, a summary table,
then every change in a collapsible ``<details>`` section. Usernames are hidden
(counts only) unless ``show_members``: PR comments are widely visible. The result is
never longer than ``LIMIT`` characters; when the plan does not fit, detail lines are
dropped first, then removal lines, and a visible note says how many were cut.
"""

from __future__ import annotations

import html
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from plutoctl.plan.changes.base import FOLD_AT
from plutoctl.plan.changes.kinds import Change
from plutoctl.plan.changes.plans import Notice, Plan, Refusal, SitePlan
from plutoctl.plan.changes.subjects import usernames_of
from plutoctl.plan.render.common import (
    acknowledgement_notices,
    clean,
    config_acknowledgement,
    duration,
    field_lines,
    headline,
    not_in_sync,
    notice_text,
    read_in_part,
    site_headline,
    site_names,
    total_headline,
)
from plutoctl.plan.summary import SUMMARY_LABELS, SiteSummary, summarize

LIMIT = 60_000
"""The longest comment this renderer writes, in characters (GitHub allows 65,536)."""

NOTE = "> **… truncated: {count:,} more lines; run `plutoctl plan` locally for the full plan.**"
SITES_NOTE = (
    "> **Run `plutoctl plan` (or `--site NAME` for one site) for each site's changes; a "
    "matrix of one job a site posts one comment a site (docs/ci.md).**"
)
MARKER = "- _… truncated (see the note at the end)_"

KEEP, URGENT, IMPORTANT, DETAIL = 0, 1, 2, 3
"""Line priorities: always kept; dropped only if needed, refusals and errors last;
dropped first."""

_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#!|~$])")
"""Characters with inline meaning (``$`` opens maths on GitHub); user text never starts
a line, so block marks are safe."""


_ZWSP = "&#8203;"
"""A zero-width space, written as an entity: it breaks a mention or a link for GitHub
without changing what a reader sees (as Renovate does in its PR bodies)."""
_MENTION = re.compile(r"@")
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|mailto|www)(?=(://|:|\.))")


def md(text: str) -> str:
    """Escape text for markdown and for the HTML that GitHub renders inside it.

    Text from the config or a site may hold ``@name`` (a mention: GitHub would notify
    that person), a bare URL (autolinked), bidi controls (U+202E) or markup: none of it
    may act in a PR comment, so each is neutralised.
    """
    text = html.escape(clean(text), quote=False)
    return inert(_MD_SPECIAL.sub(r"\\\1", text))


def inert(text: str) -> str:
    """Break mentions and autolinks in already-escaped text with a zero-width space."""
    text = _MENTION.sub("@" + _ZWSP, text)
    return _AUTOLINK.sub(lambda m: m.group(1) + _ZWSP, text)


@dataclass(frozen=True)
class _Line:
    text: str
    priority: int = KEEP
    section: int | None = None
    """The section a truncatable line belongs to (where its marker goes)."""
    closes: int | None = None
    """Set on the line that ends a section: a marker goes before it if lines were cut."""


class _Document:
    """Lines with priorities, laid out into sections that may be truncated."""

    def __init__(self) -> None:
        self.lines: list[_Line] = []
        self.sections = 0

    def add(self, text: str) -> None:
        self.lines.append(_Line(text))

    def open(self) -> int:
        self.sections += 1
        return self.sections

    def fill(self, section: int, texts: list[str], priority: int) -> None:
        self.lines.extend(_Line(t, priority, section) for t in texts)

    def close(self, section: int, text: str) -> None:
        self.lines.append(_Line(text, KEEP, closes=section))


def render_markdown(plan: Plan, *, show_members: bool = False, limit: int = LIMIT) -> str:
    """Return the plan as a markdown PR comment of at most ``limit`` characters."""
    doc = _Document()
    _title(doc, plan)
    for site in plan.sites:
        _site(doc, site, show_members=show_members)
    fitted = _fit(doc, limit)
    return fitted if fitted is not None else _site_lines(plan, limit)


def _title(doc: _Document, plan: Plan) -> None:
    doc.add("## plutoctl plan")
    doc.add("")
    facts = []
    if plan.config_path:
        facts.append(f"Config {md(plan.config_path)}")
    if plan.created_at:
        facts.append(f"made {md(plan.created_at)}")
    if facts:
        doc.add(" · ".join(facts))
        doc.add("")
    refused = sum(len(s.refused) for s in plan.sites)
    if refused:
        doc.add(f"**⛔ Refused as unsafe: {refused:,} change(s) need acknowledgement.**")
        doc.add("")
    failed = [md(s.site) for s in plan.sites if s.errors]
    if failed:
        doc.add(f"**❌ Errors on site(s) {site_names(failed)}: nothing will be applied there.**")
        doc.add("")
    partial = [md(s.site) for s in plan.sites if s.is_read_incomplete and not s.errors]
    if partial:
        doc.add(f"**⚠️ {read_in_part(partial)}**")
        doc.add("")
    blocked = [md(s.site) for s in plan.sites if s.is_blocked and not s.errors]
    if blocked:
        doc.add(f"**⚠️ {not_in_sync(blocked)}**")
        doc.add("")
    if len(plan.sites) > 1:
        doc.add(f"**{md(total_headline(plan.sites))}**")
        doc.add("")


def _site(doc: _Document, site: SitePlan, *, show_members: bool) -> None:
    summary = summarize(site)
    doc.add(f"### Site {md(site.site)}")
    doc.add("")
    doc.add(md(site_headline(site, summary)))
    doc.add("")
    removals = [c for c in site.changes if c.kind.is_removal]
    if removals:
        _list_section(doc, "#### ⚠ Removals and deletions", [_bullet(c) for c in removals])
    if site.refused:
        # The gravest first (deletions, then the most users), should the list be cut.
        refused = sorted(site.refused, key=lambda r: _gravity(r.change))
        items = [_refused_item(r, site.refused) for r in refused]
        _list_section(doc, "#### ⛔ Refused (not applied until acknowledged)", items, URGENT)
    acks = [
        f"- {md(a.subject)}: {md(a.reason)}; allowed by {_code(a.by)}" for a in site.acknowledged
    ]
    hide = not show_members
    said = acknowledgement_notices(site)  # listed with the acknowledgements, not again
    acks += [f"- ⚠ {_notice(n, hide)}" for n in said]
    if acks:
        _list_section(doc, "#### ✅ Acknowledged in review", acks)
    if site.errors:
        errors = [f"- {_notice(n, hide)}" for n in site.errors]
        _list_section(doc, "#### ❌ Errors", errors, URGENT)
    others = [n for n in site.notices if n not in said]
    # An error notice (a change the config calls for that the site cannot take now)
    # keeps the site from matching the config: never folded away with the others.
    cannot = [f"- {_notice(n, hide)}" for n in others if n.level == "error"]
    if cannot:
        _list_section(doc, "#### ❌ Not possible now", cannot, URGENT)
    if not summary.is_empty:
        _table(doc, summary, site.estimated_seconds)
    _notices(doc, site.held_back, [n for n in others if n.level != "error"], hide)
    if site.changes:
        _details(doc, site, show_members=show_members)


def _refused_item(refusal: Refusal, refused: Sequence[Refusal]) -> str:
    item = (
        f"{_bullet(refusal.change)} — {md(refusal.reason)}; to allow: {_code(refusal.acknowledge)}"
    )
    in_config = config_acknowledgement(refusal, refused)
    return item + (f", or in the config: {_code(in_config)}" if in_config else "")


def _list_section(
    doc: _Document, heading: str, items: list[str], priority: int = IMPORTANT
) -> None:
    doc.add(heading)
    doc.add("")
    section = doc.open()
    doc.fill(section, items, priority)
    doc.close(section, "")


def _gravity(change: Change) -> tuple[bool, int]:
    """Order refusals gravest first: deletions, then by the users they touch, most first."""
    deletes = change.kind.is_removal and not change.kind.lists_users
    return (not deletes, -len(usernames_of(change)))


def _table(doc: _Document, summary: SiteSummary, seconds: float) -> None:
    counts = summary.as_dict()
    doc.add("| What | Count |")
    doc.add("|---|---:|")
    for key, label in SUMMARY_LABELS:
        if counts[key]:
            doc.add(f"| {label} | {counts[key]:,} |")
    doc.add(f"| Estimated API calls | {summary.api_calls:,} |")
    doc.add(f"| Estimated time on a typical site | {duration(seconds)} |")
    doc.add("")


def _notices(
    doc: _Document, held_back: Sequence[Notice], shown: Sequence[Notice], hide_usernames: bool
) -> None:
    items = [f"- held back: {_notice(n, hide_usernames)}" for n in held_back]
    items += [f"- {md(n.level)}: {_notice(n, hide_usernames)}" for n in shown]
    if not items:
        return
    doc.add(f"<details><summary>Held back and notices ({len(items):,})</summary>")
    doc.add("")
    section = doc.open()
    doc.fill(section, items, DETAIL)
    doc.close(section, "")
    doc.add("</details>")
    doc.add("")


def _details(doc: _Document, site: SitePlan, *, show_members: bool) -> None:
    count = len(site.changes)
    title = f"All changes on {inert(html.escape(clean(site.site)))} ({count:,})"
    doc.add(f"<details><summary>{title}</summary>")
    doc.add("")
    section = doc.open()
    for change in site.changes:
        doc.fill(section, _detail_lines(change, show_members=show_members), DETAIL)
    doc.close(section, "")
    doc.add("</details>")
    doc.add("")


def _detail_lines(change: Change, *, show_members: bool) -> list[str]:
    lines = [_bullet(change)]
    lines += [f"  - {md(line)}" for line in field_lines(change)]
    names = usernames_of(change)
    if show_members:
        for start in range(0, len(names), FOLD_AT):
            lines.append("  - " + ", ".join(md(n) for n in names[start : start + FOLD_AT]))
    return lines


def _bullet(change: Change) -> str:
    return f"- **{md(change.kind.sign)}** {md(headline(change))}"


def _notice(notice: Notice, hide_usernames: bool) -> str:
    return md(notice_text(notice, hide_usernames=hide_usernames))


def _code(text: str) -> str:
    """Return text as a code span, or escaped when it cannot be one safely."""
    if "`" in text or "|" in text or clean(text) != text:
        return md(text)
    return f"`{text}`"


# --- fitting under the limit ---------------------------------------------------------


def _fit(doc: _Document, limit: int) -> str | None:
    """Join the lines; if too long, drop detail then important lines, with notes; None
    when the outline of every site (headings, headlines, tables) alone is too long."""
    full = "\n".join(line.text for line in doc.lines) + "\n"
    if len(full) <= limit:
        return full
    note = NOTE.format(count=len(doc.lines))
    reserve = len(note) + 2 + doc.sections * (len(MARKER) + 1)
    budget = limit - reserve - sum(len(x.text) + 1 for x in doc.lines if x.priority == KEEP)
    kept = _choose(doc.lines, budget)
    out, cut = _assemble(doc.lines, kept)
    text = "\n".join(out) + "\n\n" + NOTE.format(count=cut) + "\n"
    return text if len(text) <= limit else None  # None: the sites' outlines alone do not fit


def _site_lines(plan: Plan, limit: int) -> str:
    """Return the plan of too many sites for one comment: a line a site, as many as fit,
    and a count of the rest by what a reviewer must not miss."""
    doc = _Document()
    _title(doc, plan)
    lines = [line.text for line in doc.lines]
    lines += [f"_{len(plan.sites):,} sites: too many to show in full; a line each._", ""]
    size = sum(len(line) + 1 for line in lines) + len(NOTE) + 200  # the closing note's room
    for index, site in enumerate(plan.sites):
        line = f"- **{md(site.site)}**: {md(site_headline(site, summarize(site)))}"
        line += "".join(f" {flag}" for flag in _flags(site))
        if size + len(line) + 1 > limit:
            lines += ["", _not_listed(plan.sites[index:])]
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n\n" + SITES_NOTE + "\n"


def _flags(site: SitePlan) -> list[str]:
    """Say what in a site's plan a reviewer must see: removals, refusals, errors."""
    removals = sum(1 for change in site.changes if change.kind.is_removal)
    flags = [f"⚠ {removals:,} removal(s) or deletion(s)"] if removals else []
    flags += [f"⛔ {len(site.refused):,} refused"] if site.refused else []
    flags += [f"❌ {len(site.errors):,} error(s)"] if site.errors else []
    return flags + (["❌ not in sync"] if site.is_blocked and not site.errors else [])


def _not_listed(sites: tuple[SitePlan, ...]) -> str:
    removing = sum(1 for s in sites if any(c.kind.is_removal for c in s.changes))
    refused = sum(1 for s in sites if s.refused)
    errored = sum(1 for s in sites if s.errors)
    return (
        f"> **… and {len(sites):,} more site(s) not listed: {removing:,} with removals or "
        f"deletions, {refused:,} with refused changes, {errored:,} with errors.**"
    )


def _choose(lines: list[_Line], budget: int) -> set[int]:
    """Return the indexes of truncatable lines to keep: a prefix of each section.

    Important lines are chosen before detail lines; within a priority, the budget is
    shared evenly between sections (so every site keeps some), leftovers passed on.
    """
    kept: set[int] = set()
    for priority in (URGENT, IMPORTANT, DETAIL):
        queues: dict[int | None, deque[tuple[int, int]]] = {}
        for index, line in enumerate(lines):
            if line.priority == priority:
                queues.setdefault(line.section, deque()).append((index, len(line.text) + 1))
        budget = _share(queues, budget, kept)
    return kept


def _share(queues: dict[int | None, deque[tuple[int, int]]], budget: int, kept: set[int]) -> int:
    """Keep lines from the front of each queue, in even shares of the budget; return the rest."""
    while queues and budget > 0:
        share = budget // len(queues)
        progressed = False
        for section in list(queues):
            queue, spent = queues[section], 0
            while queue and spent + queue[0][1] <= share:
                index, cost = queue.popleft()
                kept.add(index)
                spent += cost
            budget -= spent
            progressed = progressed or spent > 0
            if not queue:
                del queues[section]
        if not progressed:
            break
    return budget


def _assemble(lines: list[_Line], kept: set[int]) -> tuple[list[str], int]:
    """Return the kept lines with a marker where a section lost lines, and the cut count."""
    out: list[str] = []
    cut_in: set[int] = set()
    for index, line in enumerate(lines):
        if line.closes is not None and line.closes in cut_in:
            out.append(MARKER)
        if line.priority == KEEP or index in kept:
            out.append(line.text)
        elif line.section is not None:
            cut_in.add(line.section)
    cut = sum(1 for i, x in enumerate(lines) if x.priority != KEEP and i not in kept)
    return out, cut
