"""Check a parsed config: its shape, its cross-references and its CSV files.

Every problem is collected, none raised, so that ``validate`` can report them all at
once. When the whole config does not fit the schema, each site, segment and course
is validated on its own so that the parts that do fit are still cross-checked.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ValidationError

from plutoctl import __version__
from plutoctl.config import limits
from plutoctl.config.csvfile import CsvFile, CsvRow, read_members_csv, username_problem
from plutoctl.config.loaded import KeyPath, SourcedName
from plutoctl.config.required_version import VersionSpecError, unmet
from plutoctl.config.schema import (
    STANDARD_FIELDS,
    TOKEN_REF,
    VALUELESS_MATCHES,
    AllRule,
    Config,
    CourseConfig,
    Defaults,
    MatchRule,
    SegmentConfig,
    SiteConfig,
)
from plutoctl.config.schema_errors import dotted, nearest, schema_problems
from plutoctl.config.segments_csv_merge import MergedSegments, merge_segments_csv
from plutoctl.config.usernames import clean_config_usernames
from plutoctl.errors import Position, Problem

# Segment and group columns share these lengths (config/limits.py).
MAX_ID_LENGTH = limits.SEGMENT_IDNUMBER
MAX_NAME_LENGTH = limits.SEGMENT_NAME
# Group names are PARAM_TEXT: Moodle strips tags, and a value that changes under
# cleaning fails the call (docs/moodle.md, "Parameter validation"). Segment names
# are PARAM_RAW.
HTML_TAG = re.compile(r"<[^>]*>")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
CUSTOM_FIELD = re.compile(r"^[A-Za-z0-9_]+$")

_M = TypeVar("_M", bound=BaseModel)


@dataclass
class CheckResult:
    """What checking found: the config if its shape is valid, CSV members, problems."""

    config: Config | None
    csv_members: dict[str, tuple[SourcedName, ...]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    positions: dict[KeyPath, Position] = field(default_factory=dict)
    """Positions of what ``segments_csv`` files declared (their rows)."""


@dataclass
class _Parts:
    """The parts of the config that passed the schema, plus every name declared."""

    sites: dict[str, SiteConfig]
    segments: dict[str, SegmentConfig]
    courses: dict[str, CourseConfig]
    default_sites: list[str] | None
    site_names: list[str]
    segment_names: list[str]

    def sites_for(self, named: list[str] | None) -> list[str]:
        """Return the known sites an item goes to (as ``Config.sites_for``)."""
        chosen = named or self.default_sites or self.site_names
        return [name for name in chosen if name in self.site_names]


def check_document(
    data: Any, positions: Mapping[KeyPath, Position], shown_path: str, base_dir: Path
) -> CheckResult:
    """Check the plain data of a config file and every CSV file it names."""
    checker = _Checker(positions, shown_path, base_dir)
    if data is None:
        checker.error((), "the config file is empty", "start from segments.yaml.example")
        return CheckResult(None, problems=checker.problems)
    if not isinstance(data, dict):
        checker.error((), "the config should be a mapping of version, sites, segments, …")
        return CheckResult(None, problems=checker.problems)
    if not checker.check_required_version(data.get("required_version")):
        return CheckResult(None, problems=checker.problems)
    data, normalised = clean_config_usernames(data, positions, shown_path)
    if normalised is not None:
        checker.problems.append(normalised)
    merged = merge_segments_csv(data, positions, shown_path, base_dir)
    checker.adopt(merged)
    config, parts = checker.check_schema(merged.data)
    checker.check_sites(parts)
    checker.check_segments(parts)
    checker.check_courses(parts)
    if config is not None:
        checker.check_acknowledge(config)
    csv_members = _CsvChecker(checker, parts).check()
    return CheckResult(config, csv_members, checker.problems, merged.positions)


class _Checker:
    """Collect problems with their positions; one method per part of the config."""

    def __init__(self, positions: Mapping[KeyPath, Position], shown: str, base: Path) -> None:
        self.positions = positions
        self.shown_path = shown
        self.base_dir = base
        self.problems: list[Problem] = []
        # Segments declared by segments_csv rows: their reader checked ID and name.
        self.csv_declared: frozenset[str] = frozenset()

    def adopt(self, merged: MergedSegments) -> None:
        """Take the problems and row positions of the segments CSV files."""
        self.problems.extend(merged.problems)
        self.positions = {**self.positions, **merged.positions}
        self.csv_declared = merged.declared

    # --- recording -----------------------------------------------------------------

    def at(self, path: KeyPath) -> Position:
        return nearest(self.positions, path, self.shown_path)

    def error(self, path: KeyPath, message: str, hint: str | None = None) -> None:
        where = f"{dotted(path)}: " if path else ""
        self.problems.append(Problem(self.at(path), f"{where}{message}", hint=hint))

    def warn(self, path: KeyPath, message: str, hint: str | None = None) -> None:
        where = f"{dotted(path)}: " if path else ""
        self.problems.append(
            Problem(self.at(path), f"{where}{message}", hint=hint, is_warning=True)
        )

    # --- version and acknowledgements ---------------------------------------------------

    def check_required_version(self, spec: object) -> bool:
        """Check ``required_version`` first: a config for another plutoctl is refused whole."""
        if spec is None:
            return True
        path: KeyPath = ("required_version",)
        if not isinstance(spec, str):
            self.error(path, 'must be text such as ">=0.2,<0.3"')
            return False
        try:
            refused = unmet(spec)
        except VersionSpecError as exc:
            self.error(path, f"{exc}", 'write constraints such as ">=0.2,<0.3" or "~=0.2"')
            return False
        if refused:
            self.error(
                path,
                f"this config requires plutoctl {spec.strip()}, and this is plutoctl {__version__}",
                "install a plutoctl that fits (pip install 'plutoctl"
                + spec.strip().split(",")[0]
                + "'), or change required_version if the config works with this one",
            )
            return False
        return True

    def check_acknowledge(self, config: Config) -> None:
        """Each acknowledgement names one object: a declared segment or COURSE/GROUP."""
        acks = config.acknowledge
        for kind, names in (("removals", list(acks.removals)), ("deletes", acks.deletes)):
            for index, name in enumerate(names):
                path: KeyPath = ("acknowledge", kind, name if kind == "removals" else index)
                self._check_ack_name(path, name, config, must_exist=kind == "removals")

    def _check_ack_name(
        self, path: KeyPath, name: str, config: Config, *, must_exist: bool
    ) -> None:
        course, _, group = name.rpartition("/")
        if course:
            declared = config.courses.get(course)
            if declared is None or (must_exist and group not in declared.groups):
                self.error(path, f"{name} is not a group the config declares")
            return
        if name in config.segments:
            return
        in_courses = [f"{c}/{name}" for c, cc in config.courses.items() if name in cc.groups]
        if in_courses:
            self.error(
                path,
                f"{name} is a group idnumber, not a segment; a group is named COURSE/GROUP",
                f"write {in_courses[0]}",
            )
        elif must_exist:
            self.error(path, f"{name} is not a segment the config declares")

    # --- shape -----------------------------------------------------------------------

    def check_schema(self, data: dict[str, Any]) -> tuple[Config | None, _Parts]:
        """Validate against the models; on failure, validate each part on its own."""
        try:
            config = Config.model_validate(data)
        except ValidationError as exc:
            self.problems.extend(schema_problems(exc, data, self.positions))
            return None, self._parts(data)
        names = _Names(data)
        parts = _Parts(
            dict(config.sites),
            dict(config.segments),
            dict(config.courses),
            config.defaults.sites,
            names.of("sites"),
            names.of("segments"),
        )
        return config, parts

    def _parts(self, data: dict[str, Any]) -> _Parts:
        names = _Names(data)
        defaults = _quiet(Defaults, data.get("defaults") or {})
        return _Parts(
            sites=_each(SiteConfig, data.get("sites")),
            segments=_each(SegmentConfig, data.get("segments")),
            courses=_each(CourseConfig, data.get("courses")),
            default_sites=defaults.sites if defaults else None,
            site_names=names.of("sites"),
            segment_names=names.of("segments"),
        )

    # --- sites -------------------------------------------------------------------------

    def check_sites(self, parts: _Parts) -> None:
        for name, site in parts.sites.items():
            path: KeyPath = ("sites", name)
            self._check_url(path, site)
            self._check_token(path, name, site)
            self._check_seed(path, site)
        if parts.default_sites is not None:
            self.check_site_list(("defaults", "sites"), parts.default_sites, parts)

    def _check_url(self, path: KeyPath, site: SiteConfig) -> None:
        hint = "use https://host…, http://127.0.0.1… / http://localhost…, or sandbox:PATH"
        if site.is_sandbox:
            if not site.url.removeprefix("sandbox:").strip():
                self.error((*path, "url"), "a sandbox URL needs a database path", hint)
            return
        parts = urlsplit(site.url.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            self.error((*path, "url"), "not a URL plutoctl can use", hint)
        elif parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            self.error((*path, "url"), "plain http is allowed only to the local machine", hint)
        elif parts.username or parts.password or _holds_token(site.url):
            self.error(
                (*path, "url"),
                "the URL must not hold credentials or a token",
                "put the token in token: ${VAR} and set that variable",
            )

    def _check_token(self, path: KeyPath, name: str, site: SiteConfig) -> None:
        variable = "PLUTO_TOKEN_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()
        if site.is_sandbox:
            if site.token is not None:
                self.error(
                    (*path, "token"),
                    "a sandbox site takes no token",
                    "remove token:; plutoctl makes the sandbox's token itself",
                )
            return
        if site.token is None:
            self.error(path, "missing token", f"add token: ${{{variable}}} and set that variable")
        elif not TOKEN_REF.match(site.token):
            # Never echo the value: it may be a real token.
            self.error(
                (*path, "token"),
                f"a literal token is not allowed; write ${{{variable}}} and set that variable",
            )

    def _check_seed(self, path: KeyPath, site: SiteConfig) -> None:
        if site.seed is None:
            return
        if not site.is_sandbox:
            self.error(
                (*path, "seed"), "seed is only for sandbox sites", "remove seed: or use sandbox:"
            )
        elif not (self.base_dir / site.seed).is_file():
            self.error(
                (*path, "seed"),
                f"seed file {site.seed!r} not found",
                self.relative_hint(),
            )

    def relative_hint(self) -> str:
        folder = os.path.dirname(self.shown_path) or "."
        return f"paths are relative to the config file's folder ({folder})"

    def check_site_list(self, path: KeyPath, names: list[str], parts: _Parts) -> None:
        """Check that a ``sites:`` list is non-empty and names declared sites only."""
        if not names:
            self.error(path, "names no site", "remove the key to use the default sites")
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                self.warn((*path, i), f"site {name!r} is listed twice")
            seen.add(name)
            if name not in parts.site_names:
                hint = _did_you_mean(name, parts.site_names, "declared sites")
                self.error((*path, i), f"unknown site {name!r}", hint)

    # --- segments ----------------------------------------------------------------------

    def check_segments(self, parts: _Parts) -> None:
        for segment_id in parts.segment_names:
            if segment_id not in self.csv_declared:
                self._check_id(("segments", segment_id), segment_id, "segment ID")
        for segment_id, segment in parts.segments.items():
            path: KeyPath = ("segments", segment_id)
            if segment_id not in self.csv_declared:
                self._check_name((*path, "name"), segment.name, tags_allowed=True)
            if segment.sites is not None:
                self.check_site_list((*path, "sites"), segment.sites, parts)
            self._check_usernames((*path, "members"), segment.members)
            self._check_usernames((*path, "exclude"), segment.exclude)
            self._check_overlap(path, segment)
            for i, rule in enumerate(segment.rules):
                self._check_rule((*path, "rules", i), rule)

    def _check_name(self, path: KeyPath, name: str, *, tags_allowed: bool) -> None:
        """Refuse names the site rejects: blank, too long, or (group names) with tags."""
        tag = None if tags_allowed else HTML_TAG.search(name)
        if not name.strip():
            self.error(path, "the name is blank")
        elif len(name) > MAX_NAME_LENGTH:
            self.error(path, f"longer than {MAX_NAME_LENGTH} characters")
        elif tag is not None:
            self.error(
                path,
                f"the name holds an HTML tag ({tag.group(0)!r}), which the site rejects "
                "in group names",
                hint="write the name without <…>; a lone < or > is fine",
            )

    def _check_id(self, path: KeyPath, value: str, what: str) -> None:
        if not value.strip():
            self.error(path, f"the {what} is empty")
        elif len(value) > MAX_ID_LENGTH:
            self.error(path, f"the {what} is longer than {MAX_ID_LENGTH} characters")
        elif value != value.strip():
            self.error(path, f"the {what} has leading or trailing spaces")

    def _check_usernames(self, path: KeyPath, usernames: list[str]) -> None:
        first: dict[str, int] = {}
        for i, username in enumerate(usernames):
            bad = username_problem(username)
            if bad:
                self.error((*path, i), bad[0], bad[1])
            elif username in first:
                self.warn((*path, i), f"{username!r} is listed twice")
            first.setdefault(username, i)

    def _check_overlap(self, path: KeyPath, segment: SegmentConfig) -> None:
        excluded = set(segment.exclude)
        for i, username in enumerate(segment.members):
            if username in excluded:
                self.warn(
                    (*path, "members", i),
                    f"{username!r} is in both members and exclude; exclude wins",
                )

    def _check_rule(self, path: KeyPath, rule: MatchRule | AllRule) -> None:
        match rule:
            case AllRule(all=rules):
                for i, inner in enumerate(rules):
                    self._check_rule((*path, "all", i), inner)
            case MatchRule():
                self._check_field((*path, "field"), rule.field)
                self._check_value(path, rule)

    def _check_field(self, path: KeyPath, name: str) -> None:
        if name.startswith("user."):
            standard = name.removeprefix("user.")
            if standard not in STANDARD_FIELDS:
                hint = _did_you_mean(standard, STANDARD_FIELDS, "standard fields")
                self.error(path, f"unknown standard field {standard!r}", hint)
        elif not CUSTOM_FIELD.match(name):
            self.error(
                path,
                f"{name!r} is not a custom profile field shortname",
                "custom fields are named by shortname (letters, digits, _); "
                "standard fields as user.<name>, e.g. user.city",
            )

    def _check_value(self, path: KeyPath, rule: MatchRule) -> None:
        has_value = "value" in rule.model_fields_set and rule.value is not None
        if rule.match in VALUELESS_MATCHES:
            if has_value:
                self.error(
                    (*path, "value"), f"match {rule.match!r} takes no value", "remove value:"
                )
        elif rule.match == "in":
            if not isinstance(rule.value, list):
                self.error(
                    (*path, "match"), "match 'in' needs a list of values", "write value: [a, b]"
                )
            elif not rule.value:
                self.error((*path, "value"), "match 'in' needs at least one value")
        elif not has_value:
            self.error((*path, "match"), f"match {rule.match!r} needs a value", "add value:")
        elif isinstance(rule.value, list):
            self.error(
                (*path, "value"),
                f"match {rule.match!r} takes one value, not a list",
                "use match: in to compare with several values",
            )

    # --- courses -----------------------------------------------------------------------

    def check_courses(self, parts: _Parts) -> None:
        for shortname, course in parts.courses.items():
            path: KeyPath = ("courses", shortname)
            if not shortname.strip():
                self.error(path, "the course short name is empty")
            if course.sites is not None:
                self.check_site_list((*path, "sites"), course.sites, parts)
            course_sites = parts.sites_for(course.sites)
            for idnumber, group in course.groups.items():
                group_path: KeyPath = (*path, "groups", idnumber)
                self._check_id(group_path, idnumber, "group idnumber")
                self._check_name((*group_path, "name"), group.name, tags_allowed=False)
                if group.segment is not None:
                    self._check_binding(
                        (*group_path, "segment"), group.segment, course_sites, parts
                    )
            self._check_enrol(path, course, course_sites, parts)

    def _check_enrol(
        self, path: KeyPath, course: CourseConfig, course_sites: list[str], parts: _Parts
    ) -> None:
        seen: set[tuple[str, str]] = set()
        for i, entry in enumerate(course.enrol):
            entry_path: KeyPath = (*path, "enrol", i)
            self._check_binding((*entry_path, "segment"), entry.segment, course_sites, parts)
            if not entry.role.strip():
                self.error((*entry_path, "role"), "the role is empty", "e.g. role: student")
            if (entry.segment, entry.role) in seen:
                self.warn(
                    entry_path, f"segment {entry.segment!r} is enrolled as {entry.role!r} twice"
                )
            seen.add((entry.segment, entry.role))

    def _check_binding(
        self, path: KeyPath, segment_id: str, course_sites: list[str], parts: _Parts
    ) -> None:
        """Check that a group or enrol entry names a declared segment on the course's sites."""
        if segment_id not in parts.segment_names:
            hint = _did_you_mean(segment_id, parts.segment_names, "declared segments")
            self.error(path, f"unknown segment {segment_id!r}", hint)
            return
        segment = parts.segments.get(segment_id)
        if segment is None:
            return  # its own problems are reported already
        segment_sites = set(parts.sites_for(segment.sites))
        missing = [site for site in course_sites if site not in segment_sites]
        if not missing:
            return
        where = ", ".join(repr(site) for site in missing)
        hint = f"add the site to segments.{segment_id}.sites, or limit the course's sites"
        if len(missing) == len(course_sites):
            self.error(path, f"segment {segment_id!r} is not on site {where}", hint)
        else:
            self.warn(path, f"segment {segment_id!r} is not on site {where}; skipped there", hint)


class _CsvChecker:
    """Read every ``members_csv`` once and give each segment the rows that name it."""

    def __init__(self, checker: _Checker, parts: _Parts) -> None:
        self.checker = checker
        self.parts = parts
        self.files: dict[Path, CsvFile] = {}
        self.readers: dict[Path, set[str]] = {}
        # Rows of each file by the segment IDs they name, built once per file: a file
        # shared by many segments would otherwise be scanned once per segment.
        self.rows_by_segment: dict[int, dict[str, list[CsvRow]]] = {}

    def check(self) -> dict[str, tuple[SourcedName, ...]]:
        members: dict[str, tuple[SourcedName, ...]] = {}
        for segment_id, segment in self.parts.segments.items():
            if segment.members_csv is None:
                continue
            csv_file = self._read(segment_id, segment.members_csv)
            if csv_file is None:
                continue
            members[segment_id] = self._rows_for(segment_id, csv_file)
            if not members[segment_id] and not csv_file.problems:
                self.checker.warn(
                    ("segments", segment_id, "members_csv"),
                    f"no row of {csv_file.shown_path} names this segment",
                )
        for path, csv_file in self.files.items():
            self._check_segment_names(csv_file, self.readers[path])
        return members

    def _read(self, segment_id: str, relative: str) -> CsvFile | None:
        path = (self.checker.base_dir / relative).resolve()
        shown = os.path.normpath(os.path.join(os.path.dirname(self.checker.shown_path), relative))
        if path not in self.files:
            if path.is_dir():
                self.checker.error(
                    ("segments", segment_id, "members_csv"),
                    f"members_csv {relative!r} is a directory, not a CSV file",
                    "name the CSV file itself (paths are relative to the config file)",
                )
                return None
            if not path.exists():
                self.checker.error(
                    ("segments", segment_id, "members_csv"),
                    f"CSV file {relative!r} not found",
                    self.checker.relative_hint(),
                )
                return None
            self.files[path] = read_members_csv(path, shown)
            self.readers[path] = set()
            self.checker.problems.extend(self.files[path].problems)
        self.readers[path].add(segment_id)
        return self.files[path]

    def _rows_for(self, segment_id: str, csv_file: CsvFile) -> tuple[SourcedName, ...]:
        named: list[SourcedName] = []
        first_line: dict[str, int] = {}
        rows = csv_file.rows
        if csv_file.has_segment_columns:
            rows = tuple(self._index(csv_file).get(segment_id, ()))
        for row in rows:
            if row.username in first_line:
                self.checker.problems.append(
                    Problem(
                        csv_file.position(row.line),
                        f"{row.username!r} is listed twice for segment {segment_id!r} "
                        f"(first at line {first_line[row.username]})",
                        is_warning=True,
                    )
                )
                continue
            first_line[row.username] = row.line
            named.append(SourcedName(row.username, csv_file.position(row.line), "members_csv"))
        return tuple(named)

    def _index(self, csv_file: CsvFile) -> dict[str, list[CsvRow]]:
        """Return the file's rows by segment ID, in file order (built on first use)."""
        index = self.rows_by_segment.get(id(csv_file))  # files live as long as self
        if index is None:
            index = {}
            for row in csv_file.rows:
                for segment_id in dict.fromkeys(row.segments):
                    index.setdefault(segment_id, []).append(row)
            self.rows_by_segment[id(csv_file)] = index
        return index

    def _check_segment_names(self, csv_file: CsvFile, readers: set[str]) -> None:
        """Flag rows naming undeclared segments, and segments that do not read the file."""
        ignored: dict[str, int] = {}
        declared = set(self.parts.segment_names)  # a set: files can have 100,000s of rows
        for row in csv_file.rows:
            for segment_id in row.segments:
                if segment_id not in declared:
                    hint = _did_you_mean(segment_id, self.parts.segment_names, "declared segments")
                    self.checker.problems.append(
                        Problem(
                            csv_file.position(row.line),
                            f"unknown segment {segment_id!r}: the config does not declare it",
                            hint=hint,
                        )
                    )
                elif segment_id not in readers:
                    ignored.setdefault(segment_id, row.line)
        for segment_id, line in ignored.items():
            self.checker.problems.append(
                Problem(
                    csv_file.position(line),
                    f"rows for segment {segment_id!r} are ignored: "
                    "its members_csv is not this file",
                    hint=f"add members_csv to segments.{segment_id} to use them",
                    is_warning=True,
                )
            )


class _Names:
    """The keys declared under each top-level mapping, valid or not."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def of(self, section: str) -> list[str]:
        value = self.data.get(section)
        return [str(key) for key in value] if isinstance(value, dict) else []


def _each(model: type[_M], value: object) -> dict[str, _M]:
    """Validate each entry of a mapping on its own; keep those that pass, or that pass
    once their bad parts are set aside (so their other problems are still found)."""
    if not isinstance(value, dict):
        return {}
    valid: dict[str, _M] = {}
    for key, item in value.items():
        checked = _quiet(model, item) or _salvaged(model, item)
        if checked is not None:
            valid[str(key)] = checked
    return valid


# A rule that passes every check: stands in for a rule whose schema problem is
# already reported, so the rules after it keep their index (and their positions).
_NEUTRAL_RULE = {"field": "user.username", "match": "notempty"}


def _salvaged(model: type[_M], item: object) -> _M | None:
    """Return ``item`` validated with its failing optional keys dropped and failing
    rules neutralised, or None if a required key is wrong."""
    if not isinstance(item, dict):
        return None
    try:
        model.model_validate(item)
    except ValidationError as exc:
        trimmed = dict(item)
        for error in exc.errors():
            loc = error["loc"]
            key = str(loc[0]) if loc else ""
            field_info = model.model_fields.get(key)
            if error["type"] == "extra_forbidden" and len(loc) == 1:
                trimmed.pop(key, None)
                continue
            if field_info is None or field_info.is_required():
                return None
            if key == "rules" and len(loc) > 1 and isinstance(loc[1], int):
                rules = list(trimmed.get("rules") or [])
                rules[loc[1]] = _NEUTRAL_RULE
                trimmed["rules"] = rules
            else:
                trimmed.pop(key, None)
        return _quiet(model, trimmed)
    return None


def _quiet(model: type[_M], value: object) -> _M | None:
    """Return the validated model, or None (its problems are reported already)."""
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _did_you_mean(name: str, known: Iterable[str], what: str) -> str | None:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if known and len(known) <= 12:
        return f"{what}: " + ", ".join(known)
    return None


def _holds_token(url: str) -> bool:
    """Return whether a URL carries a token anywhere: query, ;params, fragment, any case.

    Percent-encoding is undone first (``%77stoken``), as a server would undo it.
    """
    return "wstoken" in unquote(url).lower() or "wstoken" in url.lower()
