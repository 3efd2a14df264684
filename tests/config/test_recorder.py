"""did_you_mean: the hint every "unknown …" problem of the config gives."""

from __future__ import annotations

import pytest

from plutoctl.config.recorder import did_you_mean

SEGMENTS = ["seg-a", "seg-b"]


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("Seg-A", "did you mean 'seg-a'? Case matters: declared segments are matched exactly"),
        ("SEG-B", "did you mean 'seg-b'? Case matters: declared segments are matched exactly"),
        ("seg-bb", "did you mean 'seg-b'?"),
        ("payroll", "declared segments: seg-a, seg-b"),
    ],
    ids=["other-case", "upper-case", "close", "far"],
)
def test_a_name_in_another_case_is_named_before_a_close_one(name: str, hint: str) -> None:
    assert did_you_mean(name, SEGMENTS, "declared segments") == hint
