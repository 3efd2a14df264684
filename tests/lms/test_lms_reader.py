"""The existing-state reader over real HTTP against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plutoctl.errors import AccessDeniedError, InvalidTokenError
from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.lms.reader import ReadScope, read_functions, read_site
from plutoctl.sandbox import Sandbox
from plutoctl.sandbox.functions import registry

NO_WAIT = RetryPolicy(attempts=2, backoff=0)


def seed(sb: Sandbox) -> None:
    """30 users, 2 profile fields, 4 segments (one without ID), 2 courses with groups."""
    store = sb.store
    store.add_profile_field("region", "text")
    store.add_profile_field("onsite", "checkbox")
    for i in range(30):
        custom = {"region": "emea" if i % 2 else "apac"}
        if i % 5 == 0:
            custom["onsite"] = "1"
        store.add_user(
            f"user{i:02d}",
            department="Sales" if i < 10 else "HR",
            city=f"City{i}",
            suspended=i == 29,
            custom=custom,
        )
    store.add_cohort("seg-a", "Segment A", description="first", visible=True)
    store.add_cohort("seg-b", "Segment B & co", visible=False)
    store.add_cohort("seg-c", "Segment C")
    store.add_cohort("", "No ID")
    store.add_cohort_members("seg-a", ["user01", "user02", "user03"])
    store.add_cohort_members("seg-b", ["user04", "user29"])
    store.add_cohort_members("seg-c", ["user05"])
    store.add_course("C1")
    store.add_course("C2")
    for name in ["user01", "user02", "user10"]:
        store.enrol(name, "C1")
    store.enrol("user11", "C1", role="editingteacher")
    store.add_group("C1", "Group One", idnumber="g1", description="the first")
    store.add_group("C1", "Loose group")
    store.add_group_members("C1", "g1", ["user01", "user10"])
    store.enrol("user12", "C2")


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox.start() as sandbox:
        seed(sandbox)
        yield sandbox


def client_for(sb: Sandbox, **kwargs: object) -> SiteClient:
    options: dict = {"retry": NO_WAIT, **kwargs}
    return SiteClient(site="lab", url=sb.url, token=sb.token, **options)


def scope(**kwargs: object) -> ReadScope:
    return ReadScope(**kwargs)  # type: ignore[arg-type]


def test_segments_are_all_listed_with_members_only_for_those_in_scope(sb: Sandbox) -> None:
    with client_for(sb) as client:
        existing = read_site(client, scope(segments=frozenset({"seg-a", "seg-b", "nope"})))
    assert set(existing.segments) == {"seg-a", "seg-b", "seg-c"}
    a, b, c = (existing.segments[s] for s in ("seg-a", "seg-b", "seg-c"))
    assert a.members == {"user01", "user02", "user03"}
    assert b.members == {"user04", "user29"}
    assert c.members is None
    assert (a.fields.name, a.fields.description, a.fields.visible) == ("Segment A", "first", True)
    assert (b.fields.name, b.fields.visible) == ("Segment B & co", False)  # raw, not &amp;
    assert existing.is_complete
    assert existing.release
    assert not existing.has_all_users
    # Without rules only the users in play are read: the members found.
    assert set(existing.users) == {"user01", "user02", "user03", "user04", "user29"}
    assert existing.users["user29"].suspended


def test_named_users_are_resolved_even_when_not_members(sb: Sandbox) -> None:
    named = frozenset({"user20", "nobody"})
    with client_for(sb) as client:
        existing = read_site(client, scope(usernames=named))
    assert set(existing.users) == {"user20"}
    assert existing.users["user20"].id == sb.store.user_id("user20")


def test_rules_in_scope_read_every_user_with_profiles(sb: Sandbox) -> None:
    fields = frozenset({"department", "suspended", "city"})
    with client_for(sb) as client:
        existing = read_site(client, scope(needs_all_users=True, standard_fields=fields))
    assert existing.has_all_users
    assert "guest" not in existing.users
    assert "admin" in existing.users
    assert len(existing.users) == 31
    user = existing.users["user05"]
    assert user.custom == {"region": "emea", "onsite": "1"}
    assert user.standard == {"department": "Sales", "suspended": "0", "city": "City5"}
    assert existing.users["user29"].standard["suspended"] == "1"
    assert "onsite" not in existing.users["user01"].custom
    assert existing.field_types == {"region": "text", "onsite": "checkbox"}


def test_account_fields_rules_use_are_read_although_no_listing_gives_them(sb: Sandbox) -> None:
    """core_enrol_get_enrolled_users never returns auth, lang or suspended: a rule on them
    must not see every user as empty (``notexact: manual`` would take them all)."""
    store = sb.store
    store.add_user("nologin1", auth="nologin", lang="fr")
    fields = frozenset({"auth", "lang"})
    with client_for(sb) as client:
        existing = read_site(client, scope(needs_all_users=True, standard_fields=fields))
        lookups = client.calls["core_user_get_users_by_field"]
    assert existing.is_complete
    assert existing.users["nologin1"].standard == {"auth": "nologin", "lang": "fr"}
    assert existing.users["user05"].standard == {"auth": "manual", "lang": "en"}
    assert lookups == 1  # every listed user, in one call
    with client_for(sb) as client:
        plain = read_site(client, scope(needs_all_users=True, standard_fields=frozenset()))
        assert client.calls["core_user_get_users_by_field"] == 0  # only when rules use them
    assert plain.users["nologin1"].standard == {}


@pytest.mark.parametrize("page_size", [1, 7, 31, 1000])
def test_paging_reads_every_user_exactly_once(sb: Sandbox, page_size: int) -> None:
    with client_for(sb, parallelism=3) as client:
        existing = read_site(client, scope(needs_all_users=True, page_size=page_size))
        pages = client.calls["core_enrol_get_enrolled_users"]
    assert len(existing.users) == 31
    # 32 rows with guest; 3 pages in flight (and one waiting) until the first short
    # page, so at most 3 pages past it.
    full_pages = 32 // page_size
    assert full_pages + 1 <= pages <= full_pages + 4


def test_courses_in_scope_with_groups_members_and_roles(sb: Sandbox) -> None:
    with client_for(sb) as client:
        existing = read_site(client, scope(courses=frozenset({"C1", "C2", "MISSING"})))
    assert set(existing.courses) == {"C1", "C2"}
    c1 = existing.courses["C1"]
    assert c1.enrolments == {
        "user01": {"student"},
        "user02": {"student"},
        "user10": {"student"},
        "user11": {"editingteacher"},
    }
    assert {g.name for g in c1.all_groups} == {"Group One", "Loose group"}
    g1 = c1.groups["g1"]
    assert (g1.name, g1.description, g1.members) == ("Group One", "the first", {"user01", "user10"})
    assert list(c1.groups) == ["g1"]
    assert existing.courses["C2"].enrolments == {"user12": {"student"}}
    assert existing.is_complete
    assert {"user01", "user10", "user11", "user12"} <= set(existing.users)


def test_duplicate_segment_ids_keep_the_first_and_mark_the_read_incomplete(sb: Sandbox) -> None:
    first = sb.store.cohorts()["seg-a"]["id"]
    sb.store.add_cohort("seg-a", "Imposter")
    with client_for(sb) as client:
        existing = read_site(client, scope())
    assert existing.segments["seg-a"].id == first
    assert any("seg-a" in reason for reason in existing.incomplete)


def test_a_failed_member_read_is_incomplete_not_fatal(sb: Sandbox) -> None:
    sb.faults.inject(kind="status", status=503, rate=1.0, function="core_cohort_get_cohort_members")
    with client_for(sb, sleep=lambda _s: None) as client:
        existing = read_site(client, scope(segments=frozenset({"seg-a"})))
    assert existing.segments["seg-a"].members is None
    assert not existing.is_complete
    assert "seg-a" in existing.incomplete[0]


def test_a_failed_user_page_is_incomplete_and_not_all_users(sb: Sandbox) -> None:
    sb.faults.inject(kind="status", status=500, rate=1.0, function="core_enrol_get_enrolled_users")
    with client_for(sb, sleep=lambda _s: None) as client:
        existing = read_site(client, scope(needs_all_users=True))
    assert not existing.has_all_users
    assert any("page 1" in reason for reason in existing.incomplete)


def test_a_refused_token_raises(sb: Sandbox) -> None:
    client = SiteClient(site="lab", url=sb.url, token="0" * 32, retry=NO_WAIT)
    with client, pytest.raises(InvalidTokenError):
        read_site(client, scope())


def test_missing_read_functions_raise_one_error_listing_them() -> None:
    only = ["core_webservice_get_site_info", "core_cohort_get_cohorts"]
    with Sandbox.start(functions=only) as sb, client_for(sb) as client:
        with pytest.raises(AccessDeniedError) as caught:
            read_site(client, scope(segments=frozenset({"x"}), courses=frozenset({"C1"})))
        assert sb.log.count("core_cohort_get_cohorts") == 0
    for name in [
        "core_cohort_get_cohort_members",
        "core_group_get_course_groups",
        "core_enrol_get_enrolled_users",
    ]:
        assert name in str(caught.value)


def sandbox_without(*functions: str) -> Sandbox:
    return Sandbox.start(functions=sorted(set(registry()) - set(functions)))


def test_users_fall_back_to_core_user_get_users() -> None:
    with sandbox_without("core_enrol_get_enrolled_users") as sb:
        seed(sb)
        with sb.store.transaction() as db:  # Moodle leaves such a user out of email=%
            db.execute("UPDATE user SET email = '' WHERE username = 'user07'")
        with client_for(sb) as client:
            existing = read_site(client, scope(needs_all_users=True))
            assert client.calls["core_user_get_users"] == 1
    assert existing.has_all_users
    assert len(existing.users) == 31
    assert "user07" in existing.users
    assert existing.users["user05"].custom["onsite"] == "1"


@pytest.mark.parametrize("count", [0, 3, 1000, 1001])
def test_segments_fall_back_to_the_paged_search(count: int) -> None:
    with sandbox_without("core_cohort_get_cohorts") as sb:
        for i in range(count):
            sb.store.add_cohort(f"s{i:04d}", f"S{i}")
        with client_for(sb) as client:
            existing = read_site(client, scope())
            assert client.calls["core_cohort_search_cohorts"] == count // 1000 + 1
    assert sorted(existing.segments) == [f"s{i:04d}" for i in range(count)]


def test_read_functions_follow_the_scope() -> None:
    bare = read_functions(scope())
    assert bare == {"core_webservice_get_site_info", "core_cohort_get_cohorts"}
    rules = read_functions(scope(needs_all_users=True))
    assert "core_enrol_get_enrolled_users" in rules
    fallback = read_functions(
        scope(needs_all_users=True), ["core_user_get_users", "core_cohort_search_cohorts"]
    )
    assert {"core_user_get_users", "core_cohort_search_cohorts"} <= fallback
    assert not {"core_enrol_get_enrolled_users", "core_cohort_get_cohorts"} & fallback
    courses = read_functions(scope(courses=frozenset({"C1"})))
    assert {"core_course_get_courses_by_field", "core_group_get_group_members"} <= courses


def test_calls_grow_with_courses_not_with_segments_or_members() -> None:
    def calls(segments: int, courses: int) -> int:
        with Sandbox.start() as sb:
            for i in range(40):
                sb.store.add_user(f"u{i}")
            ids = []
            for s in range(segments):
                sb.store.add_cohort(f"s{s}", f"S{s}")
                sb.store.add_cohort_members(f"s{s}", [f"u{(s + k) % 40}" for k in range(10)])
                ids.append(f"s{s}")
            for c in range(courses):
                sb.store.add_course(f"C{c}")
                sb.store.add_group(f"C{c}", "G", idnumber="g")
            with client_for(sb) as client:
                read_site(
                    client,
                    scope(
                        segments=frozenset(ids), courses=frozenset(f"C{c}" for c in range(courses))
                    ),
                )
                return sum(client.calls.values())

    assert calls(5, 2) == calls(60, 2)
    per_course = calls(5, 3) - calls(5, 2)
    assert per_course == 3  # course lookup, its groups, its enrolled users
    assert calls(5, 6) - calls(5, 2) == 4 * per_course


def test_segment_members_are_read_over_the_calls_in_flight(sb: Sandbox) -> None:
    sb.store.add_user("spread-user")
    for i in range(5):
        sb.store.add_cohort(f"spread-{i}", f"Spread {i}")
        sb.store.add_cohort_members(f"spread-{i}", ["spread-user"])
    wanted = frozenset(f"spread-{i}" for i in range(5))
    before = sb.log.count("core_cohort_get_cohort_members")
    with client_for(sb) as client:
        existing = read_site(client, scope(segments=wanted))
    assert sb.log.count("core_cohort_get_cohort_members") - before == 3  # 2 + 2 + 1 cohorts
    assert all(existing.segments[s].members == {"spread-user"} for s in wanted)


def test_named_users_a_lower_max_input_vars_dropped_are_asked_again() -> None:
    """A site whose real max_input_vars is below the client's drops the lookup values
    past it and answers for the rest: the others are not taken not to exist."""
    names = [f"user{i:02d}" for i in range(30)]
    with Sandbox.start(max_input_vars=20) as site:
        for name in names:
            site.store.add_user(name)
        client = SiteClient(site="lab", url=site.url, token=site.token, max_input_vars=1000)
        with client:
            existing = read_site(client, ReadScope(usernames=frozenset(names)))
    assert set(names) <= set(existing.users)
    assert existing.is_complete
