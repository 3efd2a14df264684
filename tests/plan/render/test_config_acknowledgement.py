"""The acknowledge: entry a refusal suggests reads back, pasted into a config, as the ID."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from plutoctl.config.yaml_positions import parse_yaml
from plutoctl.plan.changes.kinds import DeleteSegment, RemoveSegmentMembers
from plutoctl.plan.changes.plans import Refusal
from plutoctl.plan.render.common import config_acknowledgement

# What a segment ID may be: printable, not blank, no spaces at either end.
ids = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1).filter(
    lambda text: text == text.strip() and text.isprintable()
)
KNOWN = ["sales, emea", "team #2", "no", "123", "a: b", "{x}", "- x", "'q'", "plain-id", "C1/g"]


def pasted(entry: str) -> object:
    return parse_yaml(entry + "\n", "segments.yaml").data["acknowledge"]  # type: ignore[index]


@settings(max_examples=300, deadline=None)
@given(ident=ids | st.sampled_from(KNOWN))
def test_the_suggested_entries_read_back_as_the_id(ident: str) -> None:
    removal = Refusal(RemoveSegmentMembers(ident, ("a", "b"), 4), "r", "--allow-removals x")
    entry = config_acknowledgement(removal, [removal])
    assert entry is not None
    assert pasted(entry) == {"removals": {ident: 2}}
    delete = Refusal(DeleteSegment(ident, 1, 3), "r", "--allow-delete x")
    entry = config_acknowledgement(delete, [delete])
    assert entry is not None
    assert pasted(entry) == {"deletes": [ident]}
