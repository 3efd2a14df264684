"""The ids of the objects a plan names: what the writer addresses the site by.

Changes name objects by identity (usernames, segment IDs, course short names, group
idnumbers); the site wants ids. ``IdMap`` holds the ids the reader found and learns
the ids of objects created (or adopted) during the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from plutoctl.model import ExistingSite

STANDARD_ROLE_IDS: Mapping[str, int] = MappingProxyType(
    {
        "manager": 1,
        "coursecreator": 2,
        "editingteacher": 3,
        "teacher": 4,
        "student": 5,
        "guest": 6,
        "user": 7,
        "frontpage": 8,
    }
)
"""Moodle's standard role ids, used unless the site told us otherwise."""


class IdMap:
    """Ids of the objects a plan names, learnt from the reader and from creates.

    Mutable on purpose: creates add the ids the site returns so that later steps
    (member adds into a new segment or group) can address them.
    """

    def __init__(
        self,
        *,
        users: Mapping[str, int],
        segments: Mapping[str, int],
        courses: Mapping[str, int],
        groups: Mapping[tuple[str, str], int],
        roles: Mapping[str, int] = STANDARD_ROLE_IDS,
    ) -> None:
        self.users = dict(users)
        self.segments = dict(segments)
        self.courses = dict(courses)
        self.groups = dict(groups)
        self.roles = dict(roles)

    @classmethod
    def from_existing(
        cls, existing: ExistingSite, *, role_ids: Mapping[str, int] | None = None
    ) -> IdMap:
        """Build the map from what the reader found; ``role_ids`` override the standard."""
        return cls(
            users={name: user.id for name, user in existing.users.items()},
            segments={sid: seg.id for sid, seg in existing.segments.items()},
            courses={short: course.id for short, course in existing.courses.items()},
            groups={
                (short, gid): group.id
                for short, course in existing.courses.items()
                for gid, group in course.groups.items()
            },
            roles=_role_ids(existing.role_ids, role_ids),
        )

    def course_names(self) -> dict[int, str]:
        """Return course short names by id."""
        return {cid: short for short, cid in self.courses.items()}


def _role_ids(seen: Mapping[str, int], given: Mapping[str, int] | None) -> dict[str, int]:
    """Return the role ids to send: the standard ones, with those the site showed.

    A site that shows any role under another id than Moodle's standard one has
    renumbered its roles: the standard ids are then not used at all (a role not seen
    fails its items, never goes out as another role), unless ``given`` names them.
    """
    renumbered = any(STANDARD_ROLE_IDS.get(name, role) != role for name, role in seen.items())
    base = {} if renumbered else dict(STANDARD_ROLE_IDS)
    return {**base, **seen, **(given or {})}
