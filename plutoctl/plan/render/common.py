"""What every human-facing report says about a change, in plain words.

The text, markdown and html renderers share these descriptions and only differ in
how they mark them up. Nothing here escapes: each renderer escapes for its medium.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from plutoctl.plan.changes.kinds import (
    AddGroupMembers,
    AddSegmentMembers,
    Change,
    CreateGroup,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    Enrol,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Unenrol,
    UpdateGroup,
    UpdateSegment,
)
from plutoctl.plan.changes.plans import Notice, Refusal, SitePlan
from plutoctl.plan.changes.subjects import subject
from plutoctl.plan.summary import SiteSummary, plural, summarize, total

ARROW = "→"

NOT_PLANNED = "Nothing planned: the errors stop this site."
"""The headline of a site whose errors left no changes: not "No changes.", which
would tell a reviewer the site is in sync when it was never (fully) read."""

_INVISIBLE = "\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
"""Bidirectional controls (U+202E reverses what follows), zero-width and other
invisible format characters: in a report they make text read other than it is."""
_CONTROL = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_INVISIBLE}]")
_JSON_UNSAFE = re.compile(f"[\\x7f-\\x9f{_INVISIBLE}]")


def clean(text: str) -> str:
    """Replace control characters (terminal escapes, newlines, bidi controls such as
    U+202E, zero-width characters) with visible escapes (``\\x1b``, ``\\u202e``)."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def json_safe(text: str) -> str:
    """Escape, in JSON text, what ``json.dumps(ensure_ascii=False)`` leaves raw.

    C1 controls and invisible or bidi characters become ``\\uXXXX`` escapes: the same
    data to a JSON parser, but nothing that reorders or hides text for a reader.
    Outside strings JSON is ASCII, so every match is inside a string. ASCII text with
    no DEL, as most plans are, is returned as it is without a scan character by
    character (a first plan of 100,000 users is 24 MB of JSON).
    """
    if text.isascii() and "\x7f" not in text:
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def members(count: int) -> str:
    """Return ``1 member`` or ``1,204 members``."""
    return plural(count, "member")


def headline(change: Change) -> str:
    """Return what the change does in a few words, without its sign or usernames.

    Objects are named as the command line names them (``segment ID``, ``group
    COURSE/GROUP``); a deletion says how many members the object had, a removal how
    many the segment or group had before.
    """
    name = clean(subject(change))
    match change:
        case DeleteSegment(member_count=count) | DeleteGroup(member_count=count):
            return f"{change.kind.target} {name} ({members(count)})"
        case AddSegmentMembers(usernames=names):
            return f"{members(len(names))} of {name}"
        case RemoveSegmentMembers(usernames=names, existing_count=had):
            return f"{members(len(names))} of {name} (of {had:,})"
        case AddGroupMembers(usernames=names):
            return f"{members(len(names))} of group {name}"
        case RemoveGroupMembers(usernames=names, existing_count=had):
            return f"{members(len(names))} of group {name} (of {had:,})"
        case Enrol(role=role, usernames=names, segment=sid):
            who = plural(len(names), "user")
            return f"enrol {who} in {name} as {clean(role)} (segment {clean(sid)})"
        case Unenrol(usernames=names, segment=sid):
            # The entry that owns the role, not a segment the users were in: they are in
            # none of the course's entries' segments.
            owner = f"enrol entry of segment {clean(sid)}"
            return f"unenrol {plural(len(names), 'user')} from {name} ({owner})"
    return f"{change.kind.target} {name}"


def quoted(value: object) -> str:
    """Return a field value as JSON (``"Sales"``, ``true``): quoted, escaped, unambiguous."""
    return json_safe(json.dumps(value, ensure_ascii=False))


def field_lines(change: Change, quote: Callable[[object], str] = quoted) -> list[str]:
    """Return ``name: "Sales"`` lines for a create, ``name: "a" → "b"`` for an update.

    ``quote`` shows each value (JSON by default; the HTML report shows text as written).
    """
    match change:
        case CreateSegment(fields=fields):
            pairs: list[tuple[str, object]] = [
                ("name", fields.name),
                ("description", fields.description),
                ("visible", fields.visible),
            ]
            return [f"{key}: {quote(value)}" for key, value in pairs]
        case CreateGroup(name=name, description=description):
            return [f"name: {quote(name)}", f"description: {quote(description)}"]
        case UpdateSegment(changed=changed) | UpdateGroup(changed=changed):
            return [f"{clean(key)}: {quote(old)} {ARROW} {quote(new)}" for key, old, new in changed]
    return []


HIDDEN_USER = "(a user)"
"""What a report that hides usernames shows in a notice in place of one."""


def notice_text(notice: Notice, *, hide_usernames: bool = False) -> str:
    """Return ``where: message`` (or just the message when it has no place); with
    ``hide_usernames``, the usernames the notice names are masked."""
    message = notice.message
    if hide_usernames:
        for name in sorted(set(notice.usernames), key=len, reverse=True):
            message = message.replace(repr(name), HIDDEN_USER)
    if notice.where:
        return f"{clean(notice.where)}: {clean(message)}"
    return clean(message)


def segment_member_changes(changes: tuple[Change, ...]) -> dict[str, tuple[int, int]]:
    """Return ``{segment ID: (members added, members removed)}`` in first-seen order."""
    result: dict[str, tuple[int, int]] = {}
    for change in changes:
        match change:
            case AddSegmentMembers(idnumber=sid, usernames=names):
                added, removed = result.get(sid, (0, 0))
                result[sid] = (added + len(names), removed)
            case RemoveSegmentMembers(idnumber=sid, usernames=names):
                added, removed = result.get(sid, (0, 0))
                result[sid] = (added, removed + len(names))
    return result


ALL_REFUSED = "Nothing to apply: every change is refused (see above)."
"""The headline of a site whose every change is refused: not "No changes." beside them."""
NOTHING_FOUND = "No changes found in what could be read (the read was incomplete)."
"""The headline of a site read in part with no changes: not "No changes." either."""
NOTHING_POSSIBLE = (
    "No changes the site can take now; it does not match the config (see the errors)."
)
"""The headline of a site whose only differences the site cannot take as it is."""


SITES_NAMED = 10
"""The most sites a plan-wide warning names; the rest are counted."""


def site_names(sites: Sequence[str]) -> str:
    """Return sites for a plan-wide warning: the first ``SITES_NAMED``, the rest counted
    (a plan of thousands of sites would otherwise fill a PR comment with names)."""
    more = len(sites) - SITES_NAMED
    return ", ".join(sites[:SITES_NAMED]) + (f" and {more:,} more" if more > 0 else "")


def read_in_part(sites: list[str]) -> str:
    """Return the plan-wide warning for sites whose read was incomplete."""
    return (
        f"READ IN PART on site(s) {site_names(sites)}: only what could be read is planned "
        "there, and nothing is removed (see the site's warnings)."
    )


def not_in_sync(sites: list[str]) -> str:
    """Return the plan-wide warning for sites that cannot be brought to the config now."""
    return (
        f"NOT IN SYNC on site(s) {site_names(sites)}: the config calls for changes the site "
        "cannot take now (see the error notices)."
    )


NOT_ALL_IN_SYNC = "Total: nothing to apply, yet not every site matches the config (see above)."
"""The plan-wide total when no site has a change to apply but one has errors, refusals,
a read in part or a change it cannot take: not "No changes." under them."""


def total_headline(sites: Sequence[SitePlan]) -> str:
    """Return the plan-wide total line: ``Total: …``, or "No changes." only when every
    site matches the config."""
    summary = total(summarize(site) for site in sites)
    if summary.is_empty and any(
        s.errors or s.refused or s.is_read_incomplete or s.is_blocked for s in sites
    ):
        return NOT_ALL_IN_SYNC
    return summary.line("Total")


def site_headline(site: SitePlan, summary: SiteSummary) -> str:
    """Return the site's summary line, or NOT_PLANNED for an errored site with no changes."""
    if site.errors and summary.is_empty:
        return NOT_PLANNED
    if site.refused and summary.is_empty:
        return ALL_REFUSED
    if site.is_read_incomplete and summary.is_empty:
        return NOTHING_FOUND
    if site.is_blocked and summary.is_empty:
        return NOTHING_POSSIBLE
    return summary.line()


ACK_NOTICE_PREFIX = "acknowledge."
"""Notices about the config's acknowledgements start so (shown with them, not folded)."""


_PLAIN_YAML = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_YAML_WORDS = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})


def yaml_key(name: str) -> str:
    """Return an ID as YAML reads it back as that text, in a flow mapping or list: as it
    is when plain, else double-quoted (``"sales, emea"``, ``"team #2"``, ``"no"``)."""
    if _PLAIN_YAML.fullmatch(name) and name.lower() not in _YAML_WORDS:
        return name
    return json.dumps(name, ensure_ascii=False)


def config_acknowledgement(refusal: Refusal, refused: Sequence[Refusal]) -> str | None:
    """Return the ``acknowledge:`` entry that would allow a refused change, for reviews.

    A course's unenrolments are bounded together (every owned role's): its entry
    counts those of every refusal in ``refused`` (the site's, ``refusal`` among them).
    """
    change = refusal.change
    ident = yaml_key(subject(change))
    if not refusal.acknowledge.startswith("--"):
        return None  # the refusal names the config entry to change, or says none can do
    if isinstance(change, RemoveSegmentMembers | RemoveGroupMembers):
        return f"acknowledge: {{removals: {{{ident}: {len(change.usernames)}}}}}"
    if isinstance(change, Unenrol):
        total = sum(
            len(r.change.usernames)
            for r in refused
            if isinstance(r.change, Unenrol) and r.change.course == change.course
        )
        return f"acknowledge: {{removals: {{{ident}: {total}}}}}"
    if isinstance(change, DeleteSegment | DeleteGroup | CreateSegment):
        return f"acknowledge: {{deletes: [{ident}]}}"
    return None


def acknowledgement_notices(site: SitePlan) -> tuple[Notice, ...]:
    """Return the site's notices about the config's acknowledgements."""
    return tuple(n for n in site.notices if n.message.startswith(ACK_NOTICE_PREFIX))


def duration(seconds: float) -> str:
    """Return a time estimate for people: ``under 1 s``, ``about 15 s``, ``about 3 min``."""
    if seconds < 1:
        return "under 1 s"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"
