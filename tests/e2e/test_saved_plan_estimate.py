"""The plan's time estimate counts the read its saved plan's freshness check makes.

Applying a saved plan recomputes it from a fresh read of the users it names: when
the rules in scope read custom profile fields, that read lists every user with
``id,username,customfields`` (about three times a listing of ``id,username``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from plutoctl.lms.functions import BEST_STREAMS, listing_seconds
from plutoctl.plan.build import estimate_seconds
from plutoctl.plan.changes.kinds import AddSegmentMembers
from plutoctl.plan.saved import load_plan

TOKEN_VAR = "PLUTO_TOKEN_ESTIMATE"
USERS = [f"user{i:04d}" for i in range(3000)]  # enough for the fields to tell apart

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
      - {{field: {field}, match: exact, value: Sales}}
"""


@pytest.fixture
def lab(sandbox, monkeypatch, tmp_path) -> Callable[[str], Path]:
    store = sandbox.store
    store.add_profile_field("department", "menu", options=["Sales", "HR"])
    for i, name in enumerate(USERS):
        dept = "Sales" if i % 2 else "HR"
        store.add_user(name, firstname="U", lastname="Sales" if i % 2 else "HR")
        store.set_profile(name, department=dept)
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)

    def write(field: str) -> Path:
        path = tmp_path / "segments.yaml"
        path.write_text(CONFIG.format(url=sandbox.url, var=TOKEN_VAR, field=field))
        return path

    return write


def planned(run, config: Path) -> tuple[float, list, int]:
    out = config.parent / "plan.json"
    made = run("plan", "-c", str(config), "--out", str(out))
    assert made.code == 0, made.out + made.err
    (site,) = load_plan(out).sites
    assert site.changes and site.estimated_seconds is not None
    return site.estimated_seconds, list(site.changes), 5000


@pytest.mark.parametrize(
    ("field", "listed"),
    [
        ("department", ("id", "username", "customfields")),
        ("user.lastname", ("id", "username")),
    ],
)
def test_estimate_counts_the_fields_the_recheck_lists(lab, sandbox, run, field, listed) -> None:
    seconds, changes, max_input_vars = planned(run, lab(field))
    users = sandbox.store.user_count()
    expected = estimate_seconds(changes, max_input_vars, users, fields=listed)
    other = ("id", "username") if "customfields" in listed else ("id", "username", "customfields")
    # the plan file keeps tenths of a second; the other listing differs by 0.5 s
    assert seconds == pytest.approx(expected, abs=0.051)
    assert abs(estimate_seconds(changes, max_input_vars, users, fields=other) - expected) > 0.4


def test_custom_fields_cost_the_recheck_their_listing() -> None:
    # The reference case: 20,052 users, 12,832 adds named, rules on custom fields.
    adds = [
        AddSegmentMembers(f"s{s}", tuple(f"u{s}-{i:05d}" for i in range(n)))
        for s, n in enumerate((4950, 4964, 2918))
    ]
    plain = estimate_seconds(adds, 5000, 20_052)
    custom = estimate_seconds(adds, 5000, 20_052, fields=("id", "username", "customfields"))
    wider = listing_seconds(
        20_052, ("id", "username", "customfields"), page=1000, streams=BEST_STREAMS
    ) - listing_seconds(20_052, ("id", "username"), page=1000, streams=BEST_STREAMS)
    assert custom - plain == pytest.approx(wider)
    assert 3.5 <= wider <= 4.5  # what the estimate was short by
