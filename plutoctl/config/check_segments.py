"""Check the config's segments: IDs, names, member lists and rules.

``check_id`` and ``check_name`` hold what the site refuses in any identifier or name;
courses use them for their groups.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Set

from plutoctl.config import limits
from plutoctl.config.check_sites import check_site_list
from plutoctl.config.loaded import KeyPath
from plutoctl.config.parts import Parts
from plutoctl.config.recorder import Recorder, did_you_mean
from plutoctl.config.schema import (
    CHECKBOX_MATCHES,
    CHECKBOX_VALUES,
    CUSTOM_FIELD,
    STANDARD_FIELDS,
    VALUELESS_MATCHES,
    AllRule,
    MatchRule,
    SegmentConfig,
)
from plutoctl.config.usernames import are_clean, username_problem
from plutoctl.phptext import strip_tags, trim

# Segment and group columns share these lengths (config/limits.py).
MAX_ID_LENGTH = limits.SEGMENT_IDNUMBER
MAX_NAME_LENGTH = limits.SEGMENT_NAME
# Group names are PARAM_TEXT: Moodle strips tags (PHP's strip_tags), and a value that
# changes under cleaning fails the call (docs/moodle.md, "Parameter validation").
# Segment names are PARAM_RAW.


def check_segments(rec: Recorder, parts: Parts, csv_declared: Set[str]) -> None:
    """Check every segment; those a ``segments_csv`` row declared had ID and name
    checked by its reader."""
    for segment_id in parts.segment_names:
        if segment_id not in csv_declared:
            check_id(rec, ("segments", segment_id), segment_id, "segment ID")
    _warn_case_twins(rec, parts.segment_names)
    for segment_id, segment in parts.segments.items():
        path: KeyPath = ("segments", segment_id)
        if segment_id not in csv_declared:
            check_name(rec, (*path, "name"), segment.name, tags_allowed=True)
        if segment.sites is not None:
            check_site_list(rec, (*path, "sites"), segment.sites, parts)
        _check_usernames(rec, (*path, "members"), segment.members)
        _check_usernames(rec, (*path, "exclude"), segment.exclude)
        _check_overlap(rec, path, segment)
        _check_unmanaged_exclude(rec, path, segment)
        if "members_csv" in segment.model_fields_set and not (segment.members_csv or "").strip():
            # Left empty it would still make the membership managed: every member removed.
            rec.error(
                (*path, "members_csv"),
                "members_csv is empty: name the CSV file, or leave the key out",
                "an empty members_csv makes the segment's membership managed and empty, "
                "which would remove every member",
            )
        for i, rule in enumerate(segment.rules):
            _check_rule(rec, (*path, "rules", i), rule)


def _warn_case_twins(rec: Recorder, segment_ids: Iterable[str]) -> None:
    """Warn of segment IDs that differ only in case, accents or how their letters are
    encoded (``münchen`` written as one character or as ``u`` and a combining mark):
    one ID to a database that compares text without case and accents."""
    first: dict[str, str] = {}
    for segment_id in segment_ids:
        twin = first.setdefault(collation_key(segment_id), segment_id)
        if twin == segment_id:
            continue
        how = _how_twins_differ(twin, segment_id)
        rec.warn(
            ("segments", segment_id),
            f"segment IDs {twin!r} and {segment_id!r} differ only {how}: a site whose "
            "database compares text without case and accents (MySQL and MariaDB, as Moodle "
            "sets them up) holds them as one ID, and refuses to create the second",
            "give them IDs that differ in more than that",
        )


def _how_twins_differ(a: str, b: str) -> str:
    """Say how two IDs with one ``collation_key`` differ."""
    if unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b):
        return f"in how their letters are encoded ({_code_points(a, b)})"
    if a.lower() == b.lower():
        return "in case"
    if unicodedata.normalize("NFKC", a) == unicodedata.normalize("NFKC", b):
        return "in how their letters are written (a ligature, a full-width letter)"
    return "in case, accents or how their letters are written"


def collation_key(text: str) -> str:
    """Return ``text`` as a case- and accent-blind collation compares it (near enough:
    letters decomposed, combining marks dropped, case folded)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _code_points(a: str, b: str) -> str:
    """Name, as code points, how ``a`` and ``b`` write their first differing letter."""
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), 0)

    def written(text: str) -> str:
        end = at + 1
        while end < len(text) and unicodedata.combining(text[end]):
            end += 1
        return " ".join(f"U+{ord(c):04X}" for c in text[at:end])

    return f"{written(a)} vs {written(b)}"


def _check_unmanaged_exclude(rec: Recorder, path: KeyPath, segment: SegmentConfig) -> None:
    """Warn that ``exclude`` does nothing on a segment whose membership is not managed."""
    if segment.exclude and not segment.has_managed_membership:
        rec.warn(
            (*path, "exclude"),
            "exclude does nothing here: the segment declares none of members, "
            "members_csv, rules, so plutoctl does not manage its membership",
            "add members: [] to manage it (every member not listed is then removed), "
            "or remove the exclude",
        )


def check_name(rec: Recorder, path: KeyPath, name: str, *, tags_allowed: bool) -> None:
    """Refuse names the site rejects: blank, too long, or (group names) with tags."""
    problem = name_problem(name, tags_allowed=tags_allowed)
    if problem is not None:
        rec.error(path, *problem)


def name_problem(name: str, *, tags_allowed: bool) -> tuple[str, str | None] | None:
    """Return (message, hint) if the site rejects ``name``, else None."""
    cleaned = name if tags_allowed else strip_tags(name)
    if not name.strip():
        return "the name is blank", None
    if len(name) > MAX_NAME_LENGTH:
        return f"longer than {MAX_NAME_LENGTH} characters", None
    if cleaned != name:
        return (
            f"the name holds an HTML tag: the site cleans it to {cleaned!r}, so it rejects "
            "it in group names",
            "write the name without <…>; a < followed by a space, or a lone >, is fine",
        )
    if not tags_allowed and name != trim(name):
        return (
            "the name starts or ends with white space, which the site trims from group names",
            "remove it: the plan would otherwise rename the group on every run",
        )
    return None


def check_id(rec: Recorder, path: KeyPath, value: str, what: str) -> None:
    """Refuse identifiers the site rejects or cannot match: empty, too long, padded."""
    problem = id_problem(value, what)
    if problem is not None:
        rec.error(path, problem)


def id_problem(value: str, what: str) -> str | None:
    """Return why ``value`` cannot be a segment ID or group idnumber, or None."""
    if not value.strip():
        return f"the {what} is empty"
    if len(value) > MAX_ID_LENGTH:
        return f"the {what} is longer than {MAX_ID_LENGTH} characters"
    if value != value.strip():
        return f"the {what} has leading or trailing spaces"
    if not value.isprintable():
        unseen = next(c for c in value if not c.isprintable())
        return f"the {what} holds the control character U+{ord(unseen):04X}"
    return None


def _check_usernames(rec: Recorder, path: KeyPath, usernames: list[str]) -> None:
    if are_clean(usernames) and len(set(usernames)) == len(usernames):
        return  # the usual list: nothing to say of any name
    first: dict[str, int] = {}
    for i, username in enumerate(usernames):
        bad = username_problem(username)
        if bad:
            rec.error((*path, i), bad[0], bad[1])
        elif username in first:
            rec.warn((*path, i), f"{username!r} is listed twice")
        first.setdefault(username, i)


def _check_overlap(rec: Recorder, path: KeyPath, segment: SegmentConfig) -> None:
    excluded = set(segment.exclude)
    for i, username in enumerate(segment.members):
        if username in excluded:
            rec.warn(
                (*path, "members", i),
                f"{username!r} is in both members and exclude; exclude wins",
            )


def _check_rule(rec: Recorder, path: KeyPath, rule: MatchRule | AllRule) -> None:
    match rule:
        case AllRule(all=rules):
            for i, inner in enumerate(rules):
                _check_rule(rec, (*path, "all", i), inner)
        case MatchRule():
            _check_field(rec, (*path, "field"), rule.field)
            _check_value(rec, path, rule)
            if rule.field == "user.suspended":
                _check_checkbox(rec, path, rule)


def _check_checkbox(rec: Recorder, path: KeyPath, rule: MatchRule) -> None:
    """``user.suspended`` is a checkbox on every site: check it here, not only at plan."""
    if rule.match not in CHECKBOX_MATCHES:
        allowed = ", ".join(sorted(CHECKBOX_MATCHES))
        rec.error((*path, "match"), f"user.suspended cannot take match {rule.match!r}", allowed)
        return
    values = [rule.value] if isinstance(rule.value, str) else list(rule.value or ())
    wrong = [v for v in values if trim(v) not in CHECKBOX_VALUES]
    if wrong:
        rec.error(
            (*path, "value"), f"user.suspended holds 0 or 1, not {wrong[0]!r}", "write 1 or 0"
        )


def _check_field(rec: Recorder, path: KeyPath, name: str) -> None:
    if name.startswith("user."):
        standard = name.removeprefix("user.")
        if standard not in STANDARD_FIELDS:
            hint = did_you_mean(standard, STANDARD_FIELDS, "standard fields")
            rec.error(path, f"unknown standard field {standard!r}", hint)
    elif name.startswith("profile_field_"):
        rec.error(
            path,
            f"{name!r} is the upload CSV's column, not the field's shortname",
            f"write {name.removeprefix('profile_field_')!r}",
        )
    elif not CUSTOM_FIELD.match(name):
        rec.error(
            path,
            f"{name!r} is not a custom profile field shortname",
            "custom fields are named by shortname (letters, digits, _); "
            "standard fields as user.<name>, e.g. user.city",
        )


def _check_value(rec: Recorder, path: KeyPath, rule: MatchRule) -> None:
    has_value = "value" in rule.model_fields_set and rule.value is not None
    if rule.match in VALUELESS_MATCHES:
        if has_value:
            rec.error((*path, "value"), f"match {rule.match!r} takes no value", "remove value:")
    elif rule.match == "in":
        if not isinstance(rule.value, list):
            rec.error((*path, "match"), "match 'in' needs a list of values", "write value: [a, b]")
        elif not rule.value:
            rec.error((*path, "value"), "match 'in' needs at least one value")
        elif any(not trim(str(item)) for item in rule.value):
            blank = next(i for i, item in enumerate(rule.value) if not trim(str(item)))
            rec.error(
                (*path, "value", blank),
                "a blank value compares as empty: with match 'in' it selects every user "
                "without a value",
                "remove it; to select users whose value is empty, add a rule with match: empty",
            )
    elif not has_value:
        rec.error((*path, "match"), f"match {rule.match!r} needs a value", "add value:")
    elif isinstance(rule.value, str) and not trim(rule.value):
        # Values are compared trimmed: a blank one would make `contains` select every
        # user and `notcontains` none.
        rec.error(
            (*path, "value"),
            f"match {rule.match!r} needs a value, and a blank one compares as empty",
            "to select users whose value is empty or not, use match: empty or notempty",
        )
    elif isinstance(rule.value, list):
        rec.error(
            (*path, "value"),
            f"match {rule.match!r} takes one value, not a list",
            "use match: in to compare with several values",
        )
