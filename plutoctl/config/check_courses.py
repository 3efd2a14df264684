"""Check the config's courses: their groups, and the segments groups and enrolments name."""

from __future__ import annotations

from plutoctl.config.check_segments import check_id, check_name
from plutoctl.config.check_sites import check_site_list
from plutoctl.config.loaded import KeyPath
from plutoctl.config.parts import Parts
from plutoctl.config.recorder import Recorder, did_you_mean
from plutoctl.config.schema import CourseConfig

ENROL_ROLES = frozenset({"manager", "editingteacher", "teacher", "student"})
"""The roles an ``enrol:`` entry may give: Moodle's standard course roles, by shortname."""


def check_courses(rec: Recorder, parts: Parts) -> None:
    """Check each course's short name, sites, groups and enrolments."""
    for shortname, course in parts.courses.items():
        path: KeyPath = ("courses", shortname)
        if not shortname.strip():
            rec.error(path, "the course short name is empty")
        if course.sites is not None:
            check_site_list(rec, (*path, "sites"), course.sites, parts)
        course_sites = parts.sites_for(course.sites)
        named: dict[str, str] = {}  # name without case -> the first group holding it
        for idnumber, group in course.groups.items():
            group_path: KeyPath = (*path, "groups", idnumber)
            check_id(rec, group_path, idnumber, "group idnumber")
            check_name(rec, (*group_path, "name"), group.name, tags_allowed=False)
            first = named.setdefault(group.name.casefold(), idnumber)
            if first != idnumber:
                rec.error(
                    (*group_path, "name"),
                    f"groups {first} and {idnumber} of course {shortname} are both named "
                    f"{group.name!r}: a site holds one group of a name in a course (it "
                    "compares names without case)",
                    "give each group of the course its own name",
                )
            if group.segment is not None:
                _check_binding(rec, (*group_path, "segment"), group.segment, course_sites, parts)
        _check_enrol(rec, path, course, course_sites, parts)


def _check_enrol(
    rec: Recorder, path: KeyPath, course: CourseConfig, course_sites: list[str], parts: Parts
) -> None:
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(course.enrol):
        entry_path: KeyPath = (*path, "enrol", i)
        _check_binding(rec, (*entry_path, "segment"), entry.segment, course_sites, parts)
        if not entry.role.strip():
            rec.error((*entry_path, "role"), "the role is empty", "e.g. role: student")
        elif entry.role not in ENROL_ROLES:
            rec.error(
                (*entry_path, "role"),
                f"plutoctl does not enrol with role {entry.role!r}",
                did_you_mean(entry.role.lower(), sorted(ENROL_ROLES), "roles"),
            )
        if (entry.segment, entry.role) in seen:
            rec.warn(entry_path, f"segment {entry.segment!r} is enrolled as {entry.role!r} twice")
        seen.add((entry.segment, entry.role))


def _check_binding(
    rec: Recorder, path: KeyPath, segment_id: str, course_sites: list[str], parts: Parts
) -> None:
    """Check that a group or enrol entry names a declared segment on the course's sites."""
    if segment_id not in parts.segment_names:
        hint = did_you_mean(segment_id, parts.segment_names, "declared segments")
        rec.error(path, f"unknown segment {segment_id!r}", hint)
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
        rec.error(path, f"segment {segment_id!r} is not on site {where}", hint)
    else:
        rec.warn(path, f"segment {segment_id!r} is not on site {where}; skipped there", hint)
