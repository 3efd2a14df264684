"""The plan's time estimate: the measured costs of a typical site (plutoctl.lms.functions)."""

from __future__ import annotations

import pytest

from plutoctl.lms.functions import break_even_users
from plutoctl.plan.build import estimate_seconds
from plutoctl.plan.changes.kinds import AddSegmentMembers
from plutoctl.plan.render.common import duration

# The reference case: 13,346 adds into three segments of a 20,052-user site; the
# site absorbs them in about 11 s at three calls in flight.
ADDS = [
    AddSegmentMembers(f"seg-{s}", tuple(f"user{s}-{i:05d}" for i in range(count)))
    for s, count in enumerate((4449, 4449, 4448))
]


def test_reference_apply_estimate_is_the_writes_plus_the_cheapest_reads() -> None:
    seconds = estimate_seconds(ADDS, 5000, site_users=20_052)
    # 11 s of writes (0.68-0.83 ms a member at 3 streams) + ~2.5 s listing every user
    assert 11 <= seconds <= 16


def test_without_the_site_size_users_are_counted_as_looked_up() -> None:
    listed = estimate_seconds(ADDS, 5000, site_users=20_052)
    looked_up = estimate_seconds(ADDS, 5000, site_users=None)
    assert looked_up > listed + 10  # 13,346 lookups at 3.2 ms each


def test_no_changes_take_no_time() -> None:
    assert estimate_seconds([], 5000, site_users=100) == 0.0


def test_break_even_is_about_one_user_in_ten() -> None:
    assert break_even_users(1_500) < 20_052 <= break_even_users(2_500)
    assert 9 <= break_even_users(1000) / 1000 <= 11


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "under 1 s"), (14.6, "about 15 s"), (600, "about 10 min"), (7300, "about 2 h 2 min")],
)
def test_duration_reads_for_people(seconds: float, text: str) -> None:
    assert duration(seconds) == text
