"""A group or enrol entry bound to a segment the config puts on some of the course's
sites only: validate warns that it is skipped on the others, and plan does just that."""

from __future__ import annotations

from pathlib import Path

from plutoctl.sandbox import Store

USERS = "username,firstname,lastname,course1\nm01,M,One,C1\nm02,M,Two,C1\nm03,M,Three,C1\n"

CONFIG = """\
version: 1
sites:
  a: {url: "sandbox:a.db", seed: users.csv}
  b: {url: "sandbox:b.db", seed: users.csv}
segments:
  both: {name: Both, members: [m01]}
  bonly: {name: B only, sites: [b], members: [m02, m03]}
courses:
  C1:
    groups:
      g1: {name: G1, segment: both}
      g2: {name: G2, segment: bonly}
    enrol:
      - {segment: bonly, role: teacher}
"""


def test_a_binding_to_a_segment_of_other_sites_is_skipped_there(tmp_path: Path, run) -> None:
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    config = tmp_path / "segments.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    checked = run("validate", "-c", str(config))
    assert checked.code == 0
    assert "segment 'bonly' is not on site 'a'; skipped there" in checked.err
    # Site a holds a cohort of that ID that the config does not manage there.
    assert run("plan", "-c", str(config), "--site", "a").code == 0  # creates a.db
    store = Store(tmp_path / "a.db")
    store.add_cohort("bonly", "Somebody else's")
    store.add_cohort_members("bonly", ["m03"])
    store.close()
    applied = run("apply", "-c", str(config), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert "C1/groups/g2: segment 'bonly' is not on site 'a', so this binding is skipped" in (
        applied.out
    )
    a, b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    try:
        assert a.group_members("C1", "g1") == {"m01"}
        assert a.group_members("C1", "g2") == set()  # created, never filled from a's cohort
        assert b.group_members("C1", "g2") == {"m02", "m03"}
        assert b.cohort_members("bonly") == {"m02", "m03"}
    finally:
        a.close()
        b.close()
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


MOVED = """\
version: 1
sites:
  a: {{url: "sandbox:a.db", seed: users.csv}}
  b: {{url: "sandbox:b.db", seed: users.csv}}
segments:
  vip: {{name: VIP, protected: true, sites: [{site}], members: [m01]}}
policy: {{unmanaged_segments: delete}}
"""


def test_a_protected_segment_moved_to_another_site_is_not_deleted_unasked(
    tmp_path: Path, run
) -> None:
    """Declared for b now, vip on a read as unmanaged, and policy delete removed it
    from a with no acknowledgement, though the config still protects it."""
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    config = tmp_path / "segments.yaml"
    config.write_text(MOVED.format(site="a"), encoding="utf-8")
    made = run("apply", "-c", str(config), "--auto-approve", "--allow-delete", "vip")
    assert made.code == 0, made.out + made.err
    config.write_text(MOVED.format(site="b"), encoding="utf-8")
    moved = run("apply", "-c", str(config), "--auto-approve", "--site", "a")
    assert moved.code == 3, moved.out + moved.err
    assert "segment vip is protected: deleting it changes its existence" in moved.out
    assert "(the config declares it for other sites)" in moved.out
    a = Store(tmp_path / "a.db")
    try:
        assert a.cohort_members("vip") == {"m01"}  # still there
    finally:
        a.close()
    allowed = run(
        "apply", "-c", str(config), "--auto-approve", "--site", "a", "--allow-delete", "vip"
    )
    assert allowed.code == 0, allowed.out + allowed.err
    assert run("plan", "-c", str(config), "--site", "a", "--detailed-exitcode").code == 0


def test_only_an_id_of_other_sites_with_site_is_a_usage_error_not_no_changes(
    tmp_path: Path, run
) -> None:
    """A mistyped scope read as 'site a: No changes.', exit 0, as if in sync."""
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    config = tmp_path / "segments.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    result = run("plan", "-c", str(config), "--only", "bonly", "--site", "a")
    assert result.code == 64, result.out + result.err
    assert "--only bonly: it is not on site(s) a (its sites: b)" in result.err
    assert run("plan", "-c", str(config), "--only", "bonly", "--site", "b").code == 0
