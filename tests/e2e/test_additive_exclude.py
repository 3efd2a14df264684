"""An excluded user already in an additive segment: kept, and said so where it is named."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
USERS = ROOT / "examples" / "demo" / "users.csv"

CONFIG = """\
version: 1
sites:
  demo:
    url: sandbox:demo.db
    seed: {users}
segments:
  helpers:
    name: Helpers
    membership: additive
    members: [amelia.hughes, ben.carter]
{exclude}"""


def test_an_additive_segment_keeps_an_excluded_member_with_a_warning(tmp_path, run, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "segments.yaml"
    config.write_text(CONFIG.format(users=USERS, exclude=""), encoding="utf-8")
    assert run("apply", "-c", "segments.yaml", "--auto-approve").code == 0

    # ben.carter leaves the list and is excluded: an additive segment keeps him.
    text = CONFIG.format(users=USERS, exclude="    exclude: [ben.carter, grace.liu]\n")
    config.write_text(text.replace(", ben.carter]", "]"), "utf-8")
    plan = run("plan", "-c", "segments.yaml", "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err  # additive never removes: nothing to do
    assert (
        "segment helpers keeps 'ben.carter': excluded, but already a member, and membership "
        "additive never removes"
    ) in plan.out + plan.err
    assert "warning: segments.yaml:11:15: segment helpers keeps" in plan.out  # the exclude entry
    assert "grace.liu" not in plan.out + plan.err  # excluded and not a member: nothing to say

    # Made exact, the excluded member is removed, and the next plan is empty.
    config.write_text(
        config.read_text(encoding="utf-8").replace("additive", "exact"), encoding="utf-8"
    )
    exact = run("plan", "-c", "segments.yaml")
    assert "- 1 member of helpers (of 2): ben.carter" in exact.out  # half: past max_removals
    applied = run("apply", "-c", "segments.yaml", "--auto-approve", "--allow-removals", "helpers")
    assert applied.code == 0, applied.out + applied.err
    final = run("plan", "-c", "segments.yaml", "--detailed-exitcode")
    assert final.code == 0, final.out
    assert "keeps" not in final.out + final.err
