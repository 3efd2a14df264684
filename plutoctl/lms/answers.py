"""The answers plutoctl reads, as pydantic models: what each read function returns.

Validated at the boundary (``extra="ignore"``: answers carry more keys than plutoctl
reads, varying by release and capability). One adapter per answer shape:

- ``core_webservice_get_site_info``: ``SiteInfoRecord``
- ``core_cohort_get_cohorts``: ``COHORTS``
- ``core_cohort_search_cohorts``: ``SEARCH_ANSWER``
- ``core_cohort_get_cohort_members``: ``COHORT_MEMBERS``
- ``core_user_get_users_by_field``: ``USERS``
- ``core_enrol_get_enrolled_users``: ``USERS`` (profiles) or ``ENROLMENTS`` (id,
  username and roles of a course's users)
- ``core_user_get_users``: ``USERS_ANSWER``
- ``core_course_get_courses_by_field``: ``COURSES_ANSWER``
- ``core_group_get_course_groups``: ``GROUPS``
- ``core_group_get_group_members``: ``GROUP_MEMBERS``

The three user answers (``USERS``, ``ENROLMENTS``, ``USERS_ANSWER``) are the bulk of
a large site's answers: msgspec decodes them straight into structs (``UserRow``,
``EnrolmentRow``), and the pydantic models validate whatever msgspec refuses, giving
the errors (see ``StructAnswer``).

Writes are read as plain JSON by the writer (a create's ids, add-members warnings).
Kept apart from the registry (``functions.py``), which the planner and the sandbox
import and which must not pull in pydantic models.
"""

from __future__ import annotations

from typing import Any, Generic, NotRequired, Protocol, TypeVar

import msgspec
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
    roleid: int = 0
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
    roleid: NotRequired[int]
    shortname: NotRequired[str]


@with_config(_ENTRY_CONFIG)
class Enrolment(TypedDict):
    """One enrolled user of a course, validated like ``UserRecord`` (a TypedDict: when
    msgspec refuses a page, its 2,000 entries validate faster as dicts than as models)."""

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


# --- the hot answers, decoded straight into structs --------------------------------------
#
# User pages and course enrolments are most of what a large site answers (about 80 MB
# for 100,000 users and 200 courses × 2,000 enrolments). msgspec decodes them into
# these structs about four times faster than pydantic validates them, into a third of
# the memory. It is strict (a JSON integer for an int, a string for a str): whatever
# it refuses is validated by the pydantic models above as before, so an answer
# pydantic accepts gives the same values, and a malformed one the same errors.


class RoleRow(msgspec.Struct, frozen=True, gc=False):
    """A role of an enrolled user (``Role``)."""

    roleid: int = 0
    shortname: str = ""


class CustomFieldRow(msgspec.Struct, frozen=True, gc=False):
    """A custom profile field value (``CustomField``)."""

    shortname: str
    type: str = ""
    value: str | None = None


class UserRow(msgspec.Struct, frozen=True, gc=False):
    """A user as read (``UserRecord``); also made for users seen only by name."""

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
    customfields: list[CustomFieldRow] = []
    roles: list[RoleRow] = []


class EnrolmentRow(msgspec.Struct, frozen=True, gc=False):
    """One enrolled user of a course (``Enrolment``); ``roles`` None: not read."""

    id: int
    username: str = ""
    deleted: bool = False
    roles: list[RoleRow] | None = None


class UsersAnswerRow(msgspec.Struct, frozen=True, gc=False):
    """``core_user_get_users``'s answer (``UsersAnswer``)."""

    users: list[UserRow] = []


_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)


class Answer(Protocol[_T_co]):
    """What validates an answer: a pydantic ``TypeAdapter`` or a ``StructAnswer``."""

    def validate_json(self, data: bytes, /) -> _T_co: ...

    def validate_python(self, object: Any, /) -> _T_co: ...


class StructAnswer(Generic[_T]):
    """An answer decoded by msgspec into ``rows``; pydantic's ``model`` validates what
    msgspec refuses (raising its ValidationError, so the caller's errors stay the same)
    and its result is turned into the same structs."""

    def __init__(self, model: TypeAdapter[Any], rows: type[_T]) -> None:
        self.model = model
        self.rows = rows
        self._decoder = msgspec.json.Decoder(rows)

    def validate_json(self, data: bytes, /) -> _T:
        try:
            return self._decoder.decode(data)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return self._as_rows(self.model.validate_json(data))

    def validate_python(self, object: Any, /) -> _T:
        return self._as_rows(self.model.validate_python(object))

    def _as_rows(self, validated: Any) -> _T:
        return msgspec.convert(self.model.dump_python(validated), self.rows)


COHORTS = TypeAdapter(list[Cohort])
SEARCH_ANSWER = TypeAdapter(SearchAnswer)
COHORT_MEMBERS = TypeAdapter(list[CohortMembers])
USERS = StructAnswer(TypeAdapter(list[UserRecord]), list[UserRow])
ENROLMENTS = StructAnswer(TypeAdapter(list[Enrolment]), list[EnrolmentRow])
USERS_ANSWER = StructAnswer(TypeAdapter(UsersAnswer), UsersAnswerRow)
COURSES_ANSWER = TypeAdapter(CoursesAnswer)
GROUPS = TypeAdapter(list[Group])
GROUP_MEMBERS = TypeAdapter(list[GroupMembers])
