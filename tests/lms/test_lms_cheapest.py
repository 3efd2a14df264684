"""The reader learns user ids by the cheapest call, and never twice in a run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plutoctl.apply.execute import apply_site
from plutoctl.apply.verify import scope_of_changes, verify_site
from plutoctl.config.schema import PolicyConfig
from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.lms.functions import break_even_users
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.model import DesiredSegment, DesiredSite, SegmentFields
from plutoctl.plan.build import plan_site
from plutoctl.plan.safety import Acknowledgements
from plutoctl.run.plan import known_ids
from plutoctl.sandbox import FieldSpec, Sandbox, generate

BY_FIELD = "core_user_get_users_by_field"
LISTING = "core_enrol_get_enrolled_users"
SITE_USERS = 3000


@pytest.fixture(scope="module")
def site() -> Iterator[Sandbox]:
    with Sandbox.start(max_input_vars=5000) as sb:
        generate(sb.store, users=SITE_USERS, courses=0, fields=[FieldSpec("region", "text")])
        sb.store.add_cohort("big", "Big")
        sb.store.add_cohort_members("big", [f"user{i:06d}" for i in range(1, 401)])
        yield sb


def client_for(sb: Sandbox) -> SiteClient:
    return SiteClient(
        site="lab", url=sb.url, token=sb.token, max_input_vars=5000, retry=RetryPolicy(attempts=1)
    )


def usernames(count: int, start: int = 1) -> frozenset[str]:
    return frozenset(f"user{i:06d}" for i in range(start, start + count))


def test_many_users_are_learned_by_listing_them_all_not_by_field(site: Sandbox) -> None:
    asked = 500  # one user in six: past the break-even
    assert break_even_users(asked) > SITE_USERS
    with client_for(site) as client:
        scope = ReadScope(usernames=usernames(asked), needs_custom_fields=False)
        existing = read_site(client, scope)
        assert client.calls[BY_FIELD] == 0
        assert client.calls[LISTING] >= 2  # the probe and the pages
    assert usernames(asked) <= set(existing.users)


def test_few_users_are_looked_up_by_field_only(site: Sandbox) -> None:
    asked = 150  # one user in twenty
    assert break_even_users(asked) < SITE_USERS
    with client_for(site) as client:
        scope = ReadScope(usernames=usernames(asked, start=1000), needs_custom_fields=False)
        existing = read_site(client, scope)
        assert client.calls[BY_FIELD] == 1
        assert client.calls[LISTING] == 1  # the probe: one user past the break-even exists
    assert usernames(asked, start=1000) <= set(existing.users)


def test_members_and_names_are_learned_in_one_way(site: Sandbox) -> None:
    # 400 member ids to name and 150 usernames: 550 together, past the break-even.
    scope = ReadScope(
        segments=frozenset({"big"}), usernames=usernames(150, start=2000), needs_custom_fields=False
    )
    with client_for(site) as client:
        existing = read_site(client, scope)
        assert client.calls[BY_FIELD] == 0
    assert existing.segments["big"].members == usernames(400)


def test_users_whose_profiles_are_needed_are_listed_with_them(site: Sandbox) -> None:
    # Custom fields triple a listing's cost: the break-even moves to one user in four.
    assert break_even_users(500, ("id", "username", "customfields")) < SITE_USERS
    assert break_even_users(1000, ("id", "username", "customfields")) > SITE_USERS
    with client_for(site) as client:
        existing = read_site(client, ReadScope(usernames=usernames(1000)))
        assert client.calls[BY_FIELD] == 0
    generated = {
        u.custom.get("region") for name, u in existing.users.items() if name in usernames(1000)
    }
    assert generated - {None, ""}  # the profiles came with the listing


def test_listing_asks_for_custom_fields_only_when_rules_read_them(site: Sandbox) -> None:
    for needs_custom, has_custom in ((False, False), (True, True)):
        with client_for(site) as client:
            existing = read_site(
                client, ReadScope(needs_all_users=True, needs_custom_fields=needs_custom)
            )
        assert bool(existing.users["user000001"].custom) is has_custom


def test_ids_learned_before_apply_serve_the_writes_and_the_verification(site: Sandbox) -> None:
    members = usernames(600, start=1001)
    desired = DesiredSite("lab", {"new": DesiredSegment("new", SegmentFields("New"), members)}, {})
    with client_for(site) as client:
        existing = read_site(client, ReadScope(segments=frozenset({"new"}), usernames=members))
        site_plan = plan_site(
            desired, existing, policy=PolicyConfig(), acks=Acknowledgements(), max_input_vars=5000
        )
        fresh = read_site(client, scope_of_changes(site_plan.changes))
        before = client.calls[BY_FIELD] + client.calls[LISTING]
        report = apply_site(client, site_plan, fresh)
        notes = verify_site(client, site_plan, report, known=known_ids(fresh))
        assert client.calls[BY_FIELD] + client.calls[LISTING] == before
    assert report.is_success and notes == ()
    assert site.store.cohort_members("new") == set(members)
    assert set(report.seconds_by_function) == set(report.calls_by_function)
    assert all(seconds > 0 for seconds in report.seconds_by_function.values())
    assert any(
        line.startswith("calls: core_cohort_add_cohort_members") for line in report.detail_lines()
    )
