"""Turn a site's existing segments and course groups into config (``plutoctl export``).

The output is written so that planning it against the same site shows no changes:
every segment with an ID keeps its name, description and visibility; members are
listed (or written to CSV files in Pluto's bulk format beside the config); groups
keep their name and description and leave membership unmanaged. With
``segments_csv`` the definitions go to one CSV in Pluto's "Bulk Create User
Segments" format instead, and the YAML keeps only membership.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

import yaml

from plutoctl.config.check_segments import id_problem, name_problem
from plutoctl.config.schema import SiteConfig
from plutoctl.config.usernames import username_problem
from plutoctl.model import ExistingSegment, ExistingSite


@dataclass(frozen=True)
class ExportOptions:
    """How to export: members inline, in CSV files beyond a size, or not at all."""

    include_members: bool = True
    csv_dir: str | None = None
    """Directory (relative to the exported config) for members CSV files."""
    csv_threshold: int = 50
    """Segments with more members than this go to CSV when ``csv_dir`` is set."""
    segments_csv: str | None = None
    """Path (relative to the exported config) for the segment definitions as CSV."""


@dataclass(frozen=True)
class Export:
    """The exported config text and the CSV files that go with it (relative path → text)."""

    yaml_text: str
    csv_files: Mapping[str, str] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    segment_count: int = 0
    """The segments written (those skipped left out)."""
    notes: tuple[str, ...] = ()
    """What the config cannot say about segments written all the same."""


def members_csv_text(usernames: list[str]) -> str:
    """Return a username-only CSV (Pluto's bulk format) for one segment."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["username"])
    writer.writerows([name] for name in usernames)
    return out.getvalue()


SEGMENTS_CSV_COLUMNS = ("name", "idnumber", "description", "visible")


def segments_csv_text(segments: list[ExistingSegment]) -> str:
    """Return segment definitions in Pluto's bulk-create format (Moodle's cohort upload).

    Every cell is written, so a reader gets the same fields back: an empty
    description stays empty and visibility is always 1 or 0. Lines end in CRLF, as
    Excel writes them: the writer then quotes any field holding a lone CR as well.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SEGMENTS_CSV_COLUMNS)
    for segment in segments:
        fields = segment.fields
        visible = "1" if fields.visible else "0"
        writer.writerow([fields.name, segment.idnumber, fields.description, visible])
    return out.getvalue()


def csv_file_name(idnumber: str, taken: Mapping[str, str]) -> str:
    """Return a file name for a segment's members CSV, unique in ``taken`` (paths).

    The ID comes from the site: anyone who may create a segment chooses it. Only
    letters, digits, ``.``, ``_`` and ``-`` are kept (``../x`` cannot leave the
    directory, ``a/b`` makes no folder), and two names that differ only in case
    (which collide on macOS and Windows) get a number.
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", idnumber).lstrip(".") or "segment"
    used = {path.rsplit("/", 1)[-1].lower() for path in taken}
    name, n = f"{stem}.csv", 1
    while name.lower() in used:
        n += 1
        name = f"{stem}-{n}.csv"
    return name


def export_segment(
    segment: ExistingSegment, options: ExportOptions, csv_files: dict[str, str]
) -> dict[str, Any]:
    """Return one segment's config entry, adding its CSV file if it gets one."""
    entry: dict[str, Any] = {}
    if options.segments_csv is None:  # else the definition is in the segments CSV
        entry["name"] = segment.fields.name
        if segment.fields.description:
            entry["description"] = segment.fields.description
        if not segment.fields.visible:
            entry["visible"] = False
    if not options.include_members or segment.members is None:
        return entry
    members = sorted(segment.members)
    if options.csv_dir is not None and len(members) > options.csv_threshold:
        path = str(PurePosixPath(options.csv_dir, csv_file_name(segment.idnumber, csv_files)))
        csv_files[path] = members_csv_text(members)
        entry["members_csv"] = path
    else:
        entry["members"] = members
    return entry


def _first_few(names: list[str]) -> str:
    """Return up to five names, quoted, and how many more there are."""
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return ", ".join(map(repr, names[:5])) + more


def export_site(
    site_name: str,
    site: SiteConfig,
    existing: ExistingSite,
    courses: list[str],
    options: ExportOptions,
) -> Export:
    """Return config YAML (and CSV files) describing a site's segments and groups."""
    csv_files: dict[str, str] = {}
    if options.segments_csv is not None:
        csv_files[options.segments_csv] = ""  # its name is taken before any members CSV's
    skipped: list[str] = []
    if existing.unidentified:
        names = sorted(existing.unidentified)
        skipped.append(
            f"{len(names)} segment(s) without a segment ID (idnumber), which a config "
            f"cannot name: {_first_few(names)}; give each a User segment ID on the site "
            "(Site admin > User Management > Manage User Segments > Edit) and export again"
        )
    ids = []
    for sid in sorted(existing.segments):
        problem = _segment_problem(existing.segments[sid])
        if problem is None:
            ids.append(sid)
        else:
            skipped.append(f"segment {sid!r}: {problem}")
    in_category = sorted(sid for sid in ids if existing.segments[sid].is_in_category)
    notes = []
    if in_category:
        notes.append(
            f"{len(in_category)} segment(s) live in a course category, which a config "
            f"cannot say: {_first_few(in_category)}; they are managed where they are, but a "
            "change to a name, description or visibility moves one to the system (plan asks "
            "for --allow-move)"
        )
    # The segments CSV cannot hold a line break in a name: such a segment stays in YAML.
    in_csv = [sid for sid in ids if not _has_line_break(existing.segments[sid].fields.name)]
    segments = {}
    for sid in ids:
        segment = existing.segments[sid]
        own = options if sid in in_csv else replace(options, segments_csv=None)
        if own.include_members and segment.members is not None:
            bad = sorted(name for name in segment.members if username_problem(name))
            if bad:
                skipped.append(
                    f"the members of segment {sid!r}: {len(bad)} username(s) plutoctl does "
                    f"not accept (such as {bad[0]!r}); its membership is left unmanaged"
                )
                own = replace(own, include_members=False)
        segments[sid] = export_segment(segment, own, csv_files)
    if options.segments_csv is not None:
        rows = [existing.segments[sid] for sid in in_csv]
        csv_files[options.segments_csv] = segments_csv_text(rows)
        segments = {sid: entry for sid, entry in segments.items() if entry}
    course_entries: dict[str, Any] = {}
    for shortname in sorted(courses):
        course = existing.courses[shortname]
        groups: dict[str, Any] = {}
        for group in sorted(course.all_groups, key=lambda g: g.idnumber):
            if not group.idnumber:
                skipped.append(f"group {group.name!r} in {shortname}: it has no idnumber")
                continue
            problem = id_problem(group.idnumber, "group idnumber") or _first(
                name_problem(group.name, tags_allowed=False)
            )
            if problem is not None:
                skipped.append(f"group {group.idnumber!r} in {shortname}: {problem}")
                continue
            groups[group.idnumber] = {"name": group.name}
            if group.description:
                groups[group.idnumber]["description"] = group.description
        course_entries[shortname] = {"groups": groups}
    document: dict[str, Any] = {
        "version": 1,
        "sites": {site_name: site.model_dump(exclude_defaults=True, exclude_none=True)},
    }
    if options.segments_csv is not None:
        document["segments_csv"] = options.segments_csv
    if segments or options.segments_csv is None:
        document["segments"] = segments
    if course_entries:
        document["courses"] = course_entries
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return Export(
        yaml_text=text,
        csv_files=csv_files,
        skipped=tuple(skipped),
        segment_count=len(ids),
        notes=tuple(notes),
    )


def _segment_problem(segment: ExistingSegment) -> str | None:
    """Return why a segment cannot be written as config that validates, or None."""
    return id_problem(segment.idnumber, "segment ID") or _first(
        name_problem(segment.fields.name, tags_allowed=True)
    )


def _first(problem: tuple[str, str | None] | None) -> str | None:
    return problem[0] if problem is not None else None


def _has_line_break(text: str) -> bool:
    return "\n" in text or "\r" in text


_YAML_LINE_BREAKS = ("\x85", "\u2028", "\u2029")
"""Line breaks to YAML besides CR and LF: written raw in a plain or single-quoted
scalar, NEL is read back as a space; a double-quoted one escapes them all."""


class _Dumper(yaml.SafeDumper):
    """``yaml.safe_dump``'s dumper, writing a text that holds a YAML line break in
    double quotes, so that the config reads back exactly what the site holds."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if any(char in text for char in _YAML_LINE_BREAKS) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)
