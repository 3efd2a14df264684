"""A site big enough for its user listing to be counted (docs/lms.md, "Counting a
listing"): plan, apply and plan again converge, whether ids have gaps (deleted users)
or users arrive between the plan and the apply."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from plutoctl.sandbox import FieldSpec, Sandbox, generate

TOKEN_VAR = "PLUTO_TOKEN_COUNTED"
DEPARTMENTS = ("Sales", "Support", "Finance")
USERS = 2_600  # pages of 1,000: the first comes back full, so the listing is counted

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  sales:
    name: Sales
    rules:
      - {{field: department, match: exact, value: Sales}}
"""


def sales(sandbox: Sandbox) -> set[str]:
    """The users whose department is Sales, read from the store, not through plutoctl."""
    with sandbox.store.transaction() as db:
        rows = db.execute(
            "SELECT u.username FROM user u JOIN user_info_data d ON d.userid = u.id "
            "JOIN user_info_field f ON f.id = d.fieldid "
            "WHERE f.shortname = 'department' AND d.data = 'Sales' AND u.deleted = 0"
        )
        return {username for (username,) in rows}


@pytest.fixture
def site(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    generate(
        sandbox.store, users=USERS, courses=0, fields=[FieldSpec("department", "menu", DEPARTMENTS)]
    )
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = tmp_path / "segments.yaml"
    config.write_text(CONFIG.format(url=sandbox.url, var=TOKEN_VAR))
    return config


def converge(run: Callable, config: Path) -> None:
    applied = run("apply", "-c", str(config), "--auto-approve")
    assert applied.code == 0, applied.err + applied.out
    again = run("plan", "-c", str(config), "--detailed-exitcode")
    assert again.code == 0, again.err + again.out
    assert "No changes." in again.out


def test_a_counted_listing_plans_every_user(site: Path, sandbox: Sandbox, run: Callable) -> None:
    expected = sales(sandbox)
    first = run("plan", "-c", str(site), "--detailed-exitcode")
    assert first.code == 2, first.err + first.out
    assert f"+{len(expected):,} / −0 members" in first.out
    converge(run, site)
    assert sandbox.store.cohort_members("sales") == expected


def test_deleted_users_leave_gaps_the_count_works_around(
    site: Path, sandbox: Sandbox, run: Callable
) -> None:
    with sandbox.store.transaction() as db:
        db.execute("UPDATE user SET deleted = 1 WHERE id % 5 = 0 AND username LIKE 'user%'")
    expected = sales(sandbox)
    converge(run, site)
    assert sandbox.store.cohort_members("sales") == expected


def test_users_added_since_the_last_run_are_counted_and_planned(
    site: Path, sandbox: Sandbox, run: Callable
) -> None:
    converge(run, site)
    for i in range(1_200):  # past where the last run's count ended
        department = DEPARTMENTS[i % len(DEPARTMENTS)]
        sandbox.store.add_user(f"late{i:04d}", custom={"department": department})
    added = sales(sandbox) - sandbox.store.cohort_members("sales")
    assert len(added) == 400
    plan = run("plan", "-c", str(site), "--detailed-exitcode")
    assert plan.code == 2, plan.err + plan.out
    assert "+400 / −0 members" in plan.out
    converge(run, site)
    assert sandbox.store.cohort_members("sales") == sales(sandbox)
