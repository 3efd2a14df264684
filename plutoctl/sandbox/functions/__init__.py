"""The web-service functions the sandbox implements, one module per area.

Each module exposes ``FUNCTIONS``, a tuple of ``WsFunction``; ``registry()`` builds the
name → function table the server dispatches on. ``KNOWN_ELSEWHERE`` names real Moodle
functions the sandbox does not implement: calling one answers ``accessexception``
(not in the token's service), as a real site whose service lacks it would.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from plutoctl.sandbox.functions import cohorts, courses, enrol, groups, users, webservice
from plutoctl.sandbox.functions.base import CallContext, WsFunction

KNOWN_ELSEWHERE: frozenset[str] = frozenset(
    {
        "core_course_delete_courses",
        "core_course_update_courses",
        "core_course_get_categories",
        "core_user_get_course_user_profiles",
        "core_course_create_categories",
        "core_user_delete_users",
        "core_group_create_groupings",
        "core_group_get_groupings",
        "core_group_get_course_groupings",
        "core_group_assign_grouping",
        "core_enrol_get_users_courses",
        "core_role_assign_roles",
        "core_role_unassign_roles",
        "enrol_meta_add_instances",
        "enrol_meta_delete_instances",
        "enrol_self_enrol_user",
        "auth_email_get_signup_settings",
    }
)


def registry() -> Mapping[str, WsFunction]:
    """Return every implemented function by name (a read-only mapping)."""
    table: dict[str, WsFunction] = {}
    for module in (webservice, cohorts, users, courses, groups, enrol):
        for function in module.FUNCTIONS:
            table[function.name] = function
    return MappingProxyType(table)


__all__ = ["KNOWN_ELSEWHERE", "CallContext", "WsFunction", "registry"]
