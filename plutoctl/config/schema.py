"""The config file's shape as pydantic models (docs/config.md).

These models check types and keys only. Cross-references (sites, segments named by
groups) and CSV contents are checked in ``plutoctl.config.validate`` so that every
problem can be reported at once with its position.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    StrictInt,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

TOKEN_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
CUSTOM_FIELD = re.compile(r"^[A-Za-z0-9_]+$")
"""A custom profile field's shortname, as rules and ``profile_fields`` name it."""
MAX_REMOVALS = re.compile(r"^([0-9]+(?:\.[0-9]+)?)%$")  # ASCII digits, as the JSON Schema says

# Standard user fields a rule may name as ``user.<name>`` (docs/rules.md).
STANDARD_FIELDS = (
    "username",
    "email",
    "idnumber",
    "auth",
    "firstname",
    "lastname",
    "department",
    "institution",
    "city",
    "country",
    "lang",
    "suspended",
)

MatchType = Literal[
    "exact",
    "notexact",
    "contains",
    "notcontains",
    "defined",
    "notdefined",
    "empty",
    "notempty",
    "in",
]
VALUELESS_MATCHES = frozenset({"defined", "notdefined", "empty", "notempty"})
CHECKBOX_MATCHES = frozenset({"exact", "notexact", "in", "defined", "notdefined"})
"""The matches a checkbox field (and ``user.suspended``, one) takes."""
CHECKBOX_VALUES = frozenset({"0", "1"})

# Tags of the two rule shapes; they appear in pydantic error locations.
RULE_TAGS = ("field-rule", "all-rule")

_SCALAR_SCHEMA: dict[str, Any] = {"type": ["string", "number", "boolean"]}
_RULE_VALUE_SCHEMA: dict[str, Any] = {
    "anyOf": [_SCALAR_SCHEMA, {"type": "array", "items": _SCALAR_SCHEMA}, {"type": "null"}],
    "description": "Text to compare (a list for 'in'); none for defined/notdefined/empty/notempty",
}
_PATHS_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
}
_MAX_REMOVALS_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 0},
        # 0% to 100%, as _check_max_removals reads it.
        {"type": "string", "pattern": r"^\s*0*(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)%\s*$"},
    ],
}


class _Model(BaseModel):
    # Numbers become text where text is expected: a segment name or username may be
    # all digits. Mapping keys are always text (the YAML loader sees to that).
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=False, coerce_numbers_to_str=True
    )


class SiteConfig(_Model):
    """One LMS site: a real one over HTTPS, a local one, or the embedded sandbox."""

    url: str = Field(
        description="https://… , http://127.0.0.1… / http://localhost… or sandbox:PATH"
    )
    token: str | None = Field(
        default=None, description="A ${ENV_VAR} reference; literal tokens are refused"
    )
    seed: str | None = Field(
        default=None, description="Sandbox only: bulk-upload-users CSV loaded into a new database"
    )
    max_input_vars: StrictInt = Field(
        default=1000, ge=50, description="The site's PHP max_input_vars; bounds batch sizes"
    )
    profile_fields: list[str] = Field(
        default_factory=list,
        description="Custom profile fields (shortnames) that exist on the site though no "
        "user may have a value yet; rules on other fields no user has are errors",
    )

    @property
    def is_sandbox(self) -> bool:
        """Return whether the site is the embedded sandbox (``sandbox:PATH``)."""
        return self.url.startswith("sandbox:")

    @property
    def token_variable(self) -> str | None:
        """Return the environment variable the token refers to, if any."""
        match = TOKEN_REF.match(self.token or "")
        return match.group(1) if match else None


UnknownUsers = Literal["error", "warn"]
_UNKNOWN_USERS_HELP = (
    "A username in members or members_csv that the site does not have: error stops the "
    "site's plan, warn lists it and plans everything else"
)


class Defaults(_Model):
    """Values that apply where an item says nothing."""

    sites: list[str] | None = Field(default=None, description="Sites used when an item names none")
    unknown_users: UnknownUsers = Field(
        default="error", description=_UNKNOWN_USERS_HELP + " (for segments that say nothing)"
    )


class MatchRule(_Model):
    """``{field, match, value}``: one condition on a profile field."""

    field: str = Field(description="Custom profile field shortname, or user.<standard field>")
    match: MatchType = Field(description="How the field's value is compared")
    value: Annotated[str | list[str] | None, WithJsonSchema(_RULE_VALUE_SCHEMA)] = Field(
        default=None,
        description="Text to compare (a list for 'in'); none for defined/notdefined/empty/notempty",
    )

    @field_validator("value", mode="before")
    @classmethod
    def _value_to_text(cls, value: object) -> object:
        # YAML may hand us 1 or true for checkbox values; rules compare text.
        if isinstance(value, list):
            items = [_as_text(item) for item in value]
            if not all(isinstance(item, str) for item in items):
                raise ValueError("a list of values may hold only text, numbers or true/false")
            return items
        value = _as_text(value)
        if value is not None and not isinstance(value, str):
            raise ValueError("must be text, a number, true/false or a list of those")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _note_booleans(cls, data: Any, handler: ModelWrapValidatorHandler[MatchRule]) -> MatchRule:
        rule = handler(data)
        raw = data.get("value") if isinstance(data, dict) else None
        if any(isinstance(item, bool) for item in (raw if isinstance(raw, list) else [raw])):
            rule.__pydantic_private__["_has_boolean"] = True  # type: ignore[index]
        return rule

    _has_boolean: bool = PrivateAttr(default=False)

    @property
    def has_boolean(self) -> bool:
        """Whether the value was written as YAML's true or false (then made 1 or 0): a
        checkbox's values, and anywhere else most likely meant as the text."""
        return self._has_boolean


def _as_text(value: object) -> object:
    """Return numbers and booleans as the text rules compare (checkboxes are 0/1)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    return value


class AllRule(_Model):
    """``{all: [rule, …]}``: every condition must match."""

    all: list[Rule] = Field(min_length=1)


def _rule_kind(value: object) -> str | None:
    """Tell the two rule shapes apart, so errors speak of the shape the user wrote."""
    if isinstance(value, dict):
        if "all" in value:
            return RULE_TAGS[1]
        # {any: …} or {not: …}, as other rule languages write them: one error of the
        # rule's shape, not three of a field rule's missing and unknown keys.
        return None if "field" not in value and value.keys() & {"any", "not"} else RULE_TAGS[0]
    if isinstance(value, AllRule):
        return RULE_TAGS[1]
    if isinstance(value, MatchRule):
        return RULE_TAGS[0]
    return None


Rule = Annotated[
    Annotated[MatchRule, Tag(RULE_TAGS[0])] | Annotated[AllRule, Tag(RULE_TAGS[1])],
    Discriminator(
        _rule_kind,
        custom_error_type="rule_shape",
        custom_error_message="a rule is a mapping: {field, match, value} or {all: [rules]}",
    ),
]
AllRule.model_rebuild()


def _name_from_csv_allowed(schema: dict[str, Any]) -> None:
    # A segment that a segments_csv row declares takes its name from the row, so its
    # YAML entry has none; the loader checks that every other segment has one.
    schema["required"] = [key for key in schema.get("required", []) if key != "name"]


class SegmentConfig(_Model):
    """A user segment (Moodle cohort), keyed by its segment ID."""

    model_config = ConfigDict(json_schema_extra=_name_from_csv_allowed)

    name: str = Field(
        min_length=1, description="Required, unless a segments_csv row declares the segment"
    )
    description: str = ""
    visible: bool = True
    sites: list[str] | None = None
    members: list[str] = Field(default_factory=list)
    members_csv: str | None = None
    rules: list[Rule] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    membership: Literal["exact", "additive"] = "exact"
    protected: bool = False
    unknown_users: UnknownUsers | None = Field(
        default=None, description=_UNKNOWN_USERS_HELP + " [default: defaults.unknown_users]"
    )

    @property
    def has_managed_membership(self) -> bool:
        """Return whether any of members, members_csv or rules is declared."""
        fields = self.model_fields_set
        return bool({"members", "members_csv", "rules"} & fields)


class GroupConfig(_Model):
    """A course group, keyed by its group idnumber."""

    name: str = Field(min_length=1)
    description: str = ""
    segment: str | None = Field(default=None, description="Segment whose enrolled members form it")


class EnrolConfig(_Model):
    """Enrol every member of a segment with a role ("User Segment sync")."""

    segment: str
    role: str = "student"
    unenrol: bool = False


class CourseConfig(_Model):
    """A course, keyed by its short name."""

    sites: list[str] | None = None
    groups: dict[str, GroupConfig] = Field(default_factory=dict)
    enrol: list[EnrolConfig] = Field(default_factory=list)


class PolicyConfig(_Model):
    """Safety policy for removals and for segments the config does not declare."""

    unmanaged_segments: Literal["ignore", "report", "delete"] = Field(
        default="ignore", description="What to do with segments the config does not declare"
    )
    max_removals: Annotated[int | str, WithJsonSchema(_MAX_REMOVALS_SCHEMA)] = Field(
        default="25%",
        description="Per segment, per group and per course (its unenrolments): a count, or a "
        "percentage like 25%",
    )

    @field_validator("max_removals", mode="before")
    @classmethod
    def _check_max_removals(cls, value: object) -> int | str:
        message = "must be a count (0 or more) or a percentage like 25%"
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ValueError(f"{message}, not below 0")
            return value
        if not isinstance(value, str):
            raise ValueError(message)
        text = value.strip()
        match = MAX_REMOVALS.match(text)
        if match and float(match.group(1)) > 100:
            raise ValueError(f"{message}: a percentage goes up to 100%")
        if not match:
            raise ValueError(message + _max_removals_hint(text))
        return text

    def removal_limit(self, existing_count: int) -> int:
        """Return how many of ``existing_count`` members may go without acknowledgement."""
        if isinstance(self.max_removals, int):
            return self.max_removals
        # Decimal: 18.4% of 375 is 69 exactly, where floats make it 68.99999999999999.
        percent = Decimal(self.max_removals.rstrip("%"))
        return int(existing_count * percent / 100)


def _max_removals_hint(text: str) -> str:
    """Say what is wrong with a ``max_removals`` written almost right."""
    if text.isdigit():
        return f": write the count unquoted, as max_removals: {int(text)}"
    if text.endswith("%") and MAX_REMOVALS.match(text.replace(" ", "")):
        return f": write it with no space before the %, as {text.replace(' ', '')}"
    if MAX_REMOVALS.match(f"{text}%") or text.startswith("0."):
        return ": a percentage takes a %, as 25%"
    return ""


class AcknowledgeConfig(_Model):
    """Reviewed acknowledgements: what the safety policy lets through for this change.

    They live in the config so a reviewer sees them in the same diff as the change
    they permit. Each names exactly one object (a segment ID, or ``COURSE/GROUP``)
    and a removal acknowledgement is bounded by a count.
    """

    removals: dict[str, Annotated[StrictInt, Field(ge=1)]] = Field(
        default_factory=dict,
        description="Segment ID or COURSE/GROUP -> the most members a plan may remove from it",
    )
    deletes: list[str] = Field(
        default_factory=list,
        description="Segment IDs or COURSE/GROUP that a plan may delete (or create, if protected)",
    )

    @field_validator("removals", "deletes", mode="before")
    @classmethod
    def _empty(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            return {} if info.field_name == "removals" else []
        return value


class Config(_Model):
    """The whole config file."""

    version: Literal[1]
    required_version: str | None = Field(
        default=None,
        description='plutoctl versions this config needs, e.g. ">=0.2,<0.3"',
    )
    sites: dict[str, SiteConfig] = Field(min_length=1)
    defaults: Defaults = Field(default_factory=Defaults)
    segments_csv: Annotated[list[str], WithJsonSchema(_PATHS_SCHEMA)] = Field(
        default_factory=list,
        description="Pluto's 'Bulk Create User Segments' CSV file(s), relative to the config: "
        "each row (name, idnumber, description, visible) declares a segment; a segments "
        "entry with the same ID and no name adds members, rules or exclusions to it",
    )
    segments: dict[str, SegmentConfig] = Field(default_factory=dict)
    courses: dict[str, CourseConfig] = Field(default_factory=dict)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    acknowledge: AcknowledgeConfig = Field(default_factory=AcknowledgeConfig)

    @field_validator("segments_csv", mode="before")
    @classmethod
    def _one_path_or_list(cls, value: object) -> object:
        # One file may be named alone, as members_csv is.
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    @field_validator("defaults", "segments", "courses", "policy", "acknowledge", mode="before")
    @classmethod
    def _empty_section(cls, value: object) -> object:
        # A section whose entries are all commented out reads as null: treat it as empty.
        return {} if value is None else value

    def sites_for(self, named: list[str] | None) -> list[str]:
        """Return the sites an item goes to: its own, else the defaults, else every site."""
        if named:
            return list(named)
        if self.defaults.sites:
            return list(self.defaults.sites)
        return list(self.sites)
