"""Helpers for apply tests: seeding a sandbox site, a client for it, and planning.

Every test talks to the real sandbox over HTTP on 127.0.0.1 (port 0).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from plutoctl.config.schema import PolicyConfig
from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.model import (
    DesiredCourse,
    DesiredEnrolment,
    DesiredGroup,
    DesiredSegment,
    DesiredSite,
    ExistingSite,
    SegmentFields,
)
from plutoctl.plan.build import plan_site
from plutoctl.plan.changes.plans import SitePlan
from plutoctl.plan.safety import Acknowledgements

SITE = "t"
FAST_RETRY = RetryPolicy(attempts=6, backoff=0.01, max_backoff=0.05)
USERS = [f"u{n:02d}" for n in range(1, 41)]


def seed(store: Any) -> None:
    """Users u01..u40; courses C1 (u01..u10 enrolled) and C2 (u20..u25 enrolled).

    Segment ``old`` holds u20..u25; ``gone`` holds u30, u31; group ``g-old`` in C1
    holds u01, u02; group ``g-extra`` in C1 holds u03.
    """
    for name in USERS:
        store.add_user(name)
    store.add_course("C1")
    store.add_course("C2")
    for name in USERS[:10]:
        store.enrol(name, "C1")
    for name in USERS[19:25]:
        store.enrol(name, "C2")
    store.add_cohort("old", "Old name", "old description")
    store.add_cohort_members("old", USERS[19:25])
    store.add_cohort("gone", "Gone")
    store.add_cohort_members("gone", ["u30", "u31"])
    store.add_group("C1", "Old group", "g-old", "")
    store.add_group_members("C1", "g-old", ["u01", "u02"])
    store.add_group("C1", "Extra group", "g-extra", "")
    store.add_group_members("C1", "g-extra", ["u03"])


@dataclass
class Site:
    """A seeded sandbox and a client for it."""

    sandbox: Any
    client: SiteClient

    @property
    def store(self) -> Any:
        return self.sandbox.store


@contextmanager
def open_client(
    sandbox: Any, *, parallelism: int = 3, retry: RetryPolicy = FAST_RETRY
) -> Iterator[SiteClient]:
    client = SiteClient(
        site=SITE,
        url=sandbox.url,
        token=sandbox.token,
        max_input_vars=sandbox.max_input_vars,
        timeout=(5.0, 30.0),
        retry=retry,
        parallelism=parallelism,
    )
    with client:
        yield client


def desired_site(
    segments: Mapping[str, tuple[str, frozenset[str] | None]],
    courses: Mapping[str, DesiredCourse] | None = None,
) -> DesiredSite:
    """Build a desired site from ``{segment ID: (name, members)}`` and courses."""
    return DesiredSite(
        site=SITE,
        segments={
            sid: DesiredSegment(sid, SegmentFields(name), members)
            for sid, (name, members) in segments.items()
        },
        courses=dict(courses or {}),
    )


def full_desired() -> DesiredSite:
    """A desired state that needs every kind of change against the seeded site."""
    c1 = DesiredCourse(
        "C1",
        groups={
            "g-new": DesiredGroup("g-new", "New group", "made by apply", segment="new-seg"),
            "g-old": DesiredGroup("g-old", "Renamed group", "", segment="old"),
        },
        enrolments=(DesiredEnrolment("new-seg", "student"),),
    )
    c2 = DesiredCourse("C2", enrolments=(DesiredEnrolment("old", "student", allow_unenrol=True),))
    return desired_site(
        {
            "new-seg": ("New segment", frozenset(USERS[:12])),
            "old": ("New name", frozenset({"u20", "u21", "u22", "u26", "u01"})),
        },
        {"C1": c1, "C2": c2},
    )


def read(
    client: SiteClient, desired: DesiredSite, *, extra: frozenset[str] = frozenset()
) -> ExistingSite:
    """Read what a plan of ``desired`` needs (every seeded user is in play)."""
    scope = ReadScope(
        segments=frozenset(desired.segments) | extra,
        usernames=frozenset(USERS),
        courses=frozenset(desired.courses),
    )
    return read_site(client, scope)


ALLOW_ALL = PolicyConfig(unmanaged_segments="delete", max_removals="100%")


def make_plan(
    client: SiteClient,
    desired: DesiredSite,
    *,
    policy: PolicyConfig = ALLOW_ALL,
    deletes: frozenset[str] = frozenset({"gone", "C1/g-extra"}),
) -> tuple[SitePlan, ExistingSite]:
    """Read the site and plan ``desired`` against it (deletes acknowledged)."""
    existing = read(client, desired, extra=frozenset({"gone"}))
    site_plan = plan_site(
        desired,
        existing,
        policy=policy,
        acks=Acknowledgements(removals=frozenset(), deletes=deletes),
        max_input_vars=client.max_input_vars,
    )
    assert not site_plan.errors, site_plan.errors
    assert not site_plan.refused, site_plan.refused
    return site_plan, existing
