"""Check a parsed config: its shape, its cross-references and its CSV files.

Every problem is collected, none raised, so that ``validate`` can report them all at
once. When the whole config does not fit the schema, each site, segment and course
is validated on its own (``parts``) so that the parts that do fit are still
cross-checked. The checks of each part of the config live in ``check_sites``,
``check_segments``, ``check_courses`` and ``check_members_csv``; this module runs
them in order and checks what spans the whole file (``required_version``,
``acknowledge``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from plutoctl import __version__
from plutoctl.config.check_courses import check_courses
from plutoctl.config.check_members_csv import check_members_csv
from plutoctl.config.check_segments import check_segments
from plutoctl.config.check_sites import check_sites
from plutoctl.config.loaded import CsvMembers, KeyPath
from plutoctl.config.parts import Parts, parts_of, salvaged_parts
from plutoctl.config.recorder import Recorder
from plutoctl.config.required_version import VersionSpecError, unmet
from plutoctl.config.schema import Config
from plutoctl.config.schema_errors import schema_problems
from plutoctl.config.segments_csv_merge import merge_segments_csv
from plutoctl.config.usernames import clean_config_usernames
from plutoctl.errors import Position, Problem


@dataclass
class CheckResult:
    """What checking found: the config if its shape is valid, CSV members, problems."""

    config: Config | None
    csv_members: dict[str, CsvMembers] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    positions: dict[KeyPath, Position] = field(default_factory=dict)
    """Positions of what ``segments_csv`` files declared (their rows)."""


def check_document(
    data: Any, positions: Mapping[KeyPath, Position], shown_path: str, base_dir: Path
) -> CheckResult:
    """Check the plain data of a config file and every CSV file it names."""
    rec = Recorder(positions, shown_path, base_dir)
    if data is None:
        rec.error((), "the config file is empty", "start from segments.yaml.example")
        return CheckResult(None, problems=rec.problems)
    if not isinstance(data, dict):
        rec.error((), "the config should be a mapping of version, sites, segments, …")
        return CheckResult(None, problems=rec.problems)
    if not _check_required_version(rec, data.get("required_version")):
        return CheckResult(None, problems=rec.problems)
    data, normalised = clean_config_usernames(data, positions, shown_path)
    if normalised is not None:
        rec.problems.append(normalised)
    merged = merge_segments_csv(data, positions, shown_path, base_dir)
    rec.problems.extend(merged.problems)
    rec.add_positions(merged.positions)
    config, parts = _check_schema(rec, merged.data)
    check_sites(rec, parts)
    check_segments(rec, parts, merged.declared)
    check_courses(rec, parts)
    if config is not None:
        _check_acknowledge(rec, config)
    csv_members = check_members_csv(rec, parts)
    return CheckResult(config, csv_members, rec.problems, merged.positions)


def _check_schema(rec: Recorder, data: dict[str, Any]) -> tuple[Config | None, Parts]:
    """Validate against the models; on failure, validate each part on its own."""
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        rec.problems.extend(schema_problems(exc, data, rec.positions))
        return None, salvaged_parts(data)
    return config, parts_of(config, data)


def _check_required_version(rec: Recorder, spec: object) -> bool:
    """Check ``required_version`` first: a config for another plutoctl is refused whole."""
    if spec is None:
        return True
    path: KeyPath = ("required_version",)
    if not isinstance(spec, str):
        rec.error(path, 'must be text such as ">=0.2,<0.3"')
        return False
    try:
        refused = unmet(spec)
    except VersionSpecError as exc:
        rec.error(path, f"{exc}", 'write constraints such as ">=0.2,<0.3" or "~=0.2"')
        return False
    if refused:
        rec.error(
            path,
            f"this config requires plutoctl {spec.strip()}, and this is plutoctl {__version__}",
            "install a plutoctl that fits (pip install 'plutoctl"
            + spec.strip().split(",")[0]
            + "'), or change required_version if the config works with this one",
        )
        return False
    return True


def _check_acknowledge(rec: Recorder, config: Config) -> None:
    """Each acknowledgement names one object: a declared segment or COURSE/GROUP, or for
    removals a declared course (its unenrolments)."""
    acks = config.acknowledge
    for kind, names in (("removals", list(acks.removals)), ("deletes", acks.deletes)):
        for index, name in enumerate(names):
            path: KeyPath = ("acknowledge", kind, name if kind == "removals" else index)
            _check_ack_name(rec, path, name, config, must_exist=kind == "removals")


def _course_group_splits(name: str) -> list[tuple[str, str]]:
    """Return every ``(course, group)`` that ``name`` read as ``COURSE/GROUP`` can be."""
    slashes = [i for i, char in enumerate(name) if char == "/"]
    return [(name[:i], name[i + 1 :]) for i in slashes]


def _check_ack_name(
    rec: Recorder, path: KeyPath, name: str, config: Config, *, must_exist: bool
) -> None:
    if name in config.segments:
        return  # a segment ID may hold a "/" too, and so may a course's short name
    if must_exist and name in config.courses:
        return  # a removal count for the course's unenrolments, as --allow-removals COURSE
    if "/" in name:
        # COURSE/GROUP, where either may hold a "/" itself: any split naming a declared
        # course (and, for removals, a group it declares) will do.
        if not any(
            course in config.courses and (not must_exist or group in config.courses[course].groups)
            for course, group in _course_group_splits(name)
        ):
            rec.error(path, f"{name} is not a group the config declares")
        return
    in_courses = [f"{c}/{name}" for c, cc in config.courses.items() if name in cc.groups]
    if in_courses:
        rec.error(
            path,
            f"{name} is a group idnumber, not a segment; a group is named COURSE/GROUP",
            f"write {in_courses[0]}",
        )
    elif must_exist:
        rec.error(path, f"{name} is not a segment or course the config declares")
