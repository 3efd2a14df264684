"""The answers plutoctl reads, as pydantic models: what each read function returns.

Validated at the boundary (``extra="ignore"``: answers carry more keys than plutoctl
reads, varying by release and capability). One adapter per answer shape:

- ``core_webservice_get_site_info``: ``SiteInfoRecord``
- ``core_cohort_get_cohorts``: ``COHORTS``
- ``core_cohort_search_cohorts``: ``SEARCH_ANSWER``
- ``core_cohort_get_cohort_members``: ``COHORT_MEMBERS``
- ``core_user_get_users_by_field``: ``USERS``
- ``core_enrol_get_enrolled_users``: ``USERS`` (profiles) or ``ENROLMENTS`` (id,
  username and roles of a course's users, kept as plain dicts)
- ``core_user_get_users``: ``USERS_ANSWER``
- ``core_course_get_courses_by_field``: ``COURSES_ANSWER``
- ``core_group_get_course_groups``: ``GROUPS``
- ``core_group_get_group_members``: ``GROUP_MEMBERS``

Writes are read as plain JSON by the writer (a create's ids, add-members warnings).
Kept apart from the registry (``functions.py``), which the planner and the sandbox
import and which must not pull in pydantic models.
"""

from __future__ import annotations

from typing import Any, NotRequired

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import TypedDict  # pydantic takes only this one before 3.12


class SiteInfoRecord(BaseModel):
    """What plutoctl reads of ``core_webservice_get_site_info``."""

    # API answers carry many more keys than we read, and they vary by release: ignore.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    sitename: str = ""
    release: str = ""
    version: str = ""
    siteid: int = 1
    functions: list[dict[str, Any]] = []


class Record(BaseModel):
    # Answers carry more keys than plutoctl reads, varying by release and capability.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)
    # List fields default through a factory, not ``= []``: pydantic deep-copies a
    # mutable default for every record that lacks the key, which cost about 10 s of
    # CPU on the 400,000 enrolment records of a 200-course site.


class Cohort(Record):
    id: int
    name: str = ""
    idnumber: str | None = ""
    description: str | None = ""
    visible: bool = True


class SearchAnswer(Record):
    cohorts: list[Cohort] = Field(default_factory=list)


class CohortMembers(Record):
    cohortid: int
    userids: list[int] = Field(default_factory=list)


class CustomField(Record):
    shortname: str
    type: str = ""
    value: str | None = None


class Role(Record):
    shortname: str = ""


class UserRecord(Record):
    id: int
    username: str = ""
    suspended: bool | None = None  # None: the answer did not say (enrolled-user lists never do)
    deleted: bool = False
    email: str | None = None
    idnumber: str | None = None
    auth: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    department: str | None = None
    institution: str | None = None
    city: str | None = None
    country: str | None = None
    lang: str | None = None
    customfields: list[CustomField] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)


_ENTRY_CONFIG = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


@with_config(_ENTRY_CONFIG)
class RoleEntry(TypedDict):
    shortname: NotRequired[str]


@with_config(_ENTRY_CONFIG)
class Enrolment(TypedDict):
    """One enrolled user of a course: validated like ``UserRecord`` but kept a plain dict.

    A site with 200 courses answers 400,000 of these; as dicts they validate about
    ten times faster than as models and take a fraction of the memory.
    """

    id: int
    username: NotRequired[str]
    deleted: NotRequired[bool]
    roles: NotRequired[list[RoleEntry]]


class UsersAnswer(Record):
    users: list[UserRecord] = Field(default_factory=list)


class Course(Record):
    id: int
    shortname: str


class CoursesAnswer(Record):
    courses: list[Course] = Field(default_factory=list)


class Group(Record):
    id: int
    name: str = ""
    description: str | None = ""
    idnumber: str | None = ""


class GroupMembers(Record):
    groupid: int
    userids: list[int] = Field(default_factory=list)


COHORTS = TypeAdapter(list[Cohort])
SEARCH_ANSWER = TypeAdapter(SearchAnswer)
COHORT_MEMBERS = TypeAdapter(list[CohortMembers])
USERS = TypeAdapter(list[UserRecord])
ENROLMENTS = TypeAdapter(list[Enrolment])
USERS_ANSWER = TypeAdapter(UsersAnswer)
COURSES_ANSWER = TypeAdapter(CoursesAnswer)
GROUPS = TypeAdapter(list[Group])
GROUP_MEMBERS = TypeAdapter(list[GroupMembers])
