"""Hypothesis properties of the planner.

- The diff of a state with itself is empty.
- Applying a plan's changes to the existing model yields the desired model: a second
  diff against the simulated result is empty, under every unmanaged policy.
- Changes come in step order, never empty, never twice for one object.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from support.simulate import simulate

from plutoctl.config.schema import PolicyConfig
from plutoctl.model import (
    DesiredCourse,
    DesiredEnrolment,
    DesiredGroup,
    DesiredSegment,
    DesiredSite,
    ExistingCourse,
    ExistingGroup,
    ExistingSegment,
    ExistingSite,
    SegmentFields,
)
from plutoctl.plan.build import plan_site
from plutoctl.plan.changes.kinds import RemoveGroupMembers, Unenrol
from plutoctl.plan.changes.subjects import subject
from plutoctl.plan.diff import change_sort_key, diff_site
from plutoctl.plan.safety import Acknowledgements

USERS = tuple(f"u{i}" for i in range(7))
SEGMENTS = ("s0", "s1", "s2", "s3")
COURSES = ("C0", "C1", "C2")
GROUPS = ("g0", "g1", "g2")
ROLES = ("student", "teacher")
POLICIES = st.sampled_from(["ignore", "report", "delete"])

# Strategies are made once, here, not in each draw: Hypothesis works out a new
# strategy's properties each time it meets one, which cost more than the tests' own code.
user_sets = st.frozensets(st.sampled_from(USERS))
fields = st.builds(
    SegmentFields,
    name=st.sampled_from(["Sales", "HR", "Ops"]),
    description=st.sampled_from(["", "desc"]),
    visible=st.booleans(),
)
segment_ids = st.frozensets(st.sampled_from(SEGMENTS))
course_names = st.frozensets(st.sampled_from(COURSES))
group_ids = st.frozensets(st.sampled_from(GROUPS))
maybe_members = st.one_of(user_sets, st.none())
no_members_or_some = st.one_of(st.none(), user_sets)
enrolment_maps = st.dictionaries(
    st.sampled_from(USERS), st.frozensets(st.sampled_from(ROLES), min_size=1)
)
existing_group_names = {gid: st.sampled_from([f"G {gid}", f"G {gid} v2"]) for gid in GROUPS}
desired_group_names = {gid: st.sampled_from([f"G {gid}", f"G {gid} v2", "Free"]) for gid in GROUPS}
descriptions = st.sampled_from(["", "about"])
bound_segments = st.one_of(st.none(), st.sampled_from(SEGMENTS))
enrol_entries = st.lists(
    st.builds(
        DesiredEnrolment,
        segment=st.sampled_from(SEGMENTS),
        role=st.sampled_from(ROLES),
        allow_unenrol=st.booleans(),
    ),
    max_size=3,
)


@st.composite
def existing_segments(draw: st.DrawFn) -> dict[str, ExistingSegment]:
    ids = draw(segment_ids)
    return {
        sid: ExistingSegment(
            index + 1,
            sid,
            draw(fields),
            draw(maybe_members if draw(st.booleans()) else user_sets),
        )
        for index, sid in enumerate(sorted(ids))
    }


@st.composite
def existing_course(draw: st.DrawFn, shortname: str, course_id: int) -> ExistingCourse:
    enrolments = draw(enrolment_maps)
    enrolled = sorted(enrolments)
    groups = []
    for index, gid in enumerate(sorted(draw(group_ids))):
        members = draw(st.frozensets(st.sampled_from(enrolled))) if enrolled else frozenset()
        name = draw(existing_group_names[gid])
        groups.append(ExistingGroup(100 * course_id + index, gid, name, "", members))
    if draw(st.booleans()):
        groups.append(ExistingGroup(100 * course_id + 99, "", "Free"))
    return ExistingCourse(course_id, shortname, tuple(groups), enrolments)


@st.composite
def existing_sites(draw: st.DrawFn) -> ExistingSite:
    shortnames = sorted(draw(course_names))
    courses = {
        name: draw(existing_course(name, index + 1)) for index, name in enumerate(shortnames)
    }
    return ExistingSite("demo", draw(existing_segments()), {}, courses)


@st.composite
def desired_sites(draw: st.DrawFn) -> DesiredSite:
    segments = {
        sid: DesiredSegment(
            sid,
            draw(fields),
            draw(no_members_or_some),
            is_additive=draw(st.booleans()),
        )
        for sid in draw(segment_ids)
    }
    courses = {}
    for shortname in draw(course_names):
        groups = {
            gid: DesiredGroup(
                gid,
                draw(desired_group_names[gid]),
                draw(descriptions),
                draw(bound_segments),
            )
            for gid in draw(group_ids)
        }
        entries = draw(enrol_entries)
        courses[shortname] = DesiredCourse(shortname, groups, tuple(entries))
    return DesiredSite("demo", segments, courses)


def as_desired(existing: ExistingSite) -> DesiredSite:
    """Return a desired state that declares exactly what exists."""
    segments = {
        sid: DesiredSegment(sid, seg.fields, seg.members) for sid, seg in existing.segments.items()
    }
    courses = {
        name: DesiredCourse(
            name,
            {gid: DesiredGroup(gid, g.name, g.description) for gid, g in course.groups.items()},
        )
        for name, course in existing.courses.items()
    }
    return DesiredSite(existing.site, segments, courses)


@settings(max_examples=60, deadline=None)
@given(existing=existing_sites(), unmanaged=POLICIES)
def test_diff_of_a_state_with_itself_is_empty(existing: ExistingSite, unmanaged: str) -> None:
    assert diff_site(as_desired(existing), existing, unmanaged=unmanaged).changes == ()


@settings(max_examples=150, deadline=None)
@given(desired=desired_sites(), existing=existing_sites(), unmanaged=POLICIES)
def test_applying_a_plan_yields_the_desired_state(
    desired: DesiredSite, existing: ExistingSite, unmanaged: str
) -> None:
    first = diff_site(desired, existing, unmanaged=unmanaged)
    after = simulate(existing, first.changes)
    second = diff_site(desired, after, unmanaged=unmanaged)
    assert second.changes == ()
    for sid, want in desired.segments.items():
        members = after.segments[sid].members
        if want.members is not None and members is not None and not want.is_additive:
            assert members == want.members


@settings(max_examples=60, deadline=None)
@given(desired=desired_sites(), existing=existing_sites(), unmanaged=POLICIES)
def test_changes_are_ordered_non_empty_and_unique(
    desired: DesiredSite, existing: ExistingSite, unmanaged: str
) -> None:
    changes = diff_site(desired, existing, unmanaged=unmanaged).changes
    keys = [change_sort_key(c) for c in changes]
    assert keys == sorted(keys)
    assert all(getattr(c, "usernames", ("x",)) for c in changes)
    assert len(set(changes)) == len(changes)


@settings(max_examples=60, deadline=None)
@given(desired=desired_sites(), existing=existing_sites(), unmanaged=POLICIES)
def test_safety_only_ever_removes_or_trims_changes(
    desired: DesiredSite, existing: ExistingSite, unmanaged: str
) -> None:
    policy = PolicyConfig(unmanaged_segments=unmanaged, max_removals=1)
    plan = plan_site(desired, existing, policy=policy, acks=Acknowledgements(), max_input_vars=100)
    everything = PolicyConfig(unmanaged_segments=unmanaged, max_removals="100%")
    # Courses too: unenrolments count against max_removals per course.
    every_id = frozenset(SEGMENTS) | set(COURSES) | {f"{c}/{g}" for c in COURSES for g in GROUPS}
    acks = Acknowledgements(removals=every_id, deletes=every_id)
    full = plan_site(desired, existing, policy=everything, acks=acks, max_input_vars=100)
    assert full.refused == ()
    assert full.changes == diff_site(desired, existing, unmanaged=unmanaged).changes
    assert len(plan.changes) + len(plan.refused) <= len(full.changes)
    for change in plan.changes:
        if change in full.changes:
            continue
        # Only removals dragged along by a refused segment removal are trimmed.
        assert isinstance(change, RemoveGroupMembers | Unenrol)
        assert any(
            type(f) is type(change)
            and subject(f) == subject(change)
            and set(change.usernames) < set(f.usernames)
            for f in full.changes
        )
    for refusal in plan.refused:
        assert refusal.change in full.changes
        assert refusal.acknowledge.split()[-1] in every_id
