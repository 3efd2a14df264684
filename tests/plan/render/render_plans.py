"""Plans to render: a representative one (every change kind, two sites) and edge cases."""

from __future__ import annotations

from plutoctl.model import SegmentFields
from plutoctl.plan.changes.kinds import (
    AddGroupMembers,
    AddSegmentMembers,
    CreateGroup,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    Enrol,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Unenrol,
    UpdateGroup,
    UpdateSegment,
)
from plutoctl.plan.changes.plans import Notice, Plan, Refusal, SitePlan

CREATED_AT = "2026-03-01T09:30:00Z"


def names(prefix: str, count: int) -> tuple[str, ...]:
    """Return ``count`` usernames ``prefix001``, ``prefix002``, …"""
    return tuple(f"{prefix}{i:03d}" for i in range(1, count + 1))


def every_change_site() -> SitePlan:
    """A site plan holding every change kind once, in step order, plus the extras."""
    return SitePlan(
        site="demo",
        changes=(
            CreateSegment("dept-sales", SegmentFields("Sales", "Everyone in Sales", True)),
            UpdateSegment(
                "dept-hr",
                12,
                SegmentFields("Human Resources", "HR", False),
                (("name", "HR", "Human Resources"), ("visible", True, False)),
            ),
            CreateGroup("ONBOARD-101", "onboard-sales", "Sales Team", "Sales new hires"),
            UpdateGroup(
                "ONBOARD-101",
                "onboard-hr",
                41,
                "HR Team",
                "",
                (("description", "old text", ""), ("name", "HR", "HR Team")),
            ),
            AddSegmentMembers("dept-sales", ("asmith", "jdoe", "mlee")),
            Enrol("ONBOARD-101", "student", ("asmith", "jdoe"), "dept-sales"),
            AddGroupMembers("ONBOARD-101", "onboard-sales", ("asmith", "jdoe")),
            RemoveGroupMembers("ONBOARD-101", "onboard-hr", ("pking",), 4),
            Unenrol("ONBOARD-101", ("pking",), "dept-hr"),
            RemoveSegmentMembers("dept-hr", ("pking", "tnguyen"), 9),
            DeleteGroup("ONBOARD-101", "old-group", 43, 0),
            DeleteSegment("old-empty", 7, 0),
        ),
        refused=(
            Refusal(
                RemoveSegmentMembers("dept-ops", names("ops", 6), 8),
                "removes 6 of 8 members (75%), over policy.max_removals 25%",
                "--allow-removals dept-ops",
            ),
            Refusal(
                DeleteSegment("legacy", 9, 14),
                "deletes a segment that has 14 members",
                "--allow-delete legacy",
            ),
        ),
        held_back=(Notice("info", "3 removals held back (membership: additive)", "dept-eng"),),
        notices=(
            Notice("warning", "segment is not in the config (unmanaged)", "stray-seg"),
            Notice("info", "rule field 'region' is defined for no user", "segments.yaml:31"),
        ),
        errors=(Notice("error", "unknown username 'ghost'", "segments.yaml:18:7"),),
        api_calls=14,
        fingerprints=(
            ("segment:dept-hr", "sha256:1f2e"),
            ("group:ONBOARD-101/onboard-hr", "sha256:9a0b"),
        ),
    )


def second_site() -> SitePlan:
    """A second site with folded membership (25 members) and no extras."""
    return SitePlan(
        site="primary",
        changes=(
            CreateSegment("dept-sales", SegmentFields("Sales", "", True)),
            AddSegmentMembers("dept-sales", names("user", 25)),
        ),
        api_calls=2,
    )


def representative_plan() -> Plan:
    return Plan(
        sites=(every_change_site(), second_site()),
        config_path="segments.yaml",
        created_at=CREATED_AT,
    )


def empty_plan() -> Plan:
    return Plan(
        sites=(SitePlan(site="demo", api_calls=0), SitePlan(site="primary")),
        config_path="segments.yaml",
        created_at=CREATED_AT,
    )


def members_plan(count: int) -> Plan:
    """One site adding ``count`` members to one segment."""
    site = SitePlan("demo", changes=(AddSegmentMembers("dept-sales", names("u", count)),))
    return Plan(sites=(site,), config_path="segments.yaml", created_at=CREATED_AT)


def hostile_plan() -> Plan:
    """Names that try to inject markup, markdown and terminal escapes."""
    sid = "<script>alert(1)</script>"
    site = SitePlan(
        site="<b>site</b>",
        changes=(
            CreateSegment(sid, SegmentFields('x"><img src=x onerror=alert(1)>', "*bold* `code`")),
            AddSegmentMembers(sid, ("<i>u</i>", "a|b", "[link](http://evil.example)")),
            RemoveSegmentMembers("\x1b[31mred", ("x",), 2),
        ),
        notices=(Notice("warning", "<iframe src='https://evil.example'>", "a&b"),),
    )
    return Plan(sites=(site,), config_path="<cfg>.yaml", created_at=CREATED_AT)
