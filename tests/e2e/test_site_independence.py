"""apply: each site applies or not on its own; the exit code is the worst outcome."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFIG = """\
version: 1
sites:
  north:
    url: {north}
    token: ${{PLUTO_TOKEN_NORTH}}
  south:
    url: {south}
    token: ${{PLUTO_TOKEN_SOUTH}}
segments:
  team:
    name: Team
    members: [ann, bob]
"""


@pytest.fixture
def two_sites(make_sandbox, monkeypatch, tmp_path: Path):
    north, south = make_sandbox(), make_sandbox()
    for name in ("ann", "bob"):
        north.store.add_user(name, firstname="U", lastname=name)
    south.store.add_user("ann", firstname="U", lastname="ann")  # bob is unknown in the south
    monkeypatch.setenv("PLUTO_TOKEN_NORTH", north.token)
    monkeypatch.setenv("PLUTO_TOKEN_SOUTH", south.token)
    config = tmp_path / "segments.yaml"
    config.write_text(CONFIG.format(north=north.url, south=south.url), encoding="utf-8")
    return north, south, config


def test_a_site_with_errors_does_not_stop_the_others(two_sites, run) -> None:
    north, south, config = two_sites
    result = run("apply", "-c", str(config), "--auto-approve")
    assert result.code == 1, result.err
    assert "unknown user 'bob' on site 'south'" in result.out
    assert "error: site south: not applied: its plan has errors: unknown user 'bob'" in result.err
    assert "Sites: north applied; south not applied." in result.out
    assert north.store.cohort_members("team") == {"ann", "bob"}
    assert south.log.count("core_cohort_create_cohorts") == 0
    again = run("plan", "-c", str(config), "--site", "north", "--detailed-exitcode")
    assert again.code == 0, again.out


def test_a_saved_plan_with_an_errored_site_applies_the_others(two_sites, run, tmp_path) -> None:
    north, south, config = two_sites
    saved = tmp_path / "plan.json"
    assert run("plan", "-c", str(config), "--out", str(saved)).code == 1
    result = run("apply", str(saved))
    assert result.code == 1, result.err
    assert "Sites: north applied; south not applied." in result.out
    assert north.store.cohort_members("team") == {"ann", "bob"}
    assert south.log.count("core_cohort_create_cohorts") == 0
    assert run("plan", "-c", str(config), "--site", "north", "--detailed-exitcode").code == 0


def test_the_exit_code_is_the_worst_sites(two_sites, run) -> None:
    north, _south, config = two_sites
    # The north's member adds are rejected outright (400: not retried): it fails, exit 4.
    north.faults.inject(kind="status", status=400, function="core_cohort_add_cohort_members")
    result = run("apply", "-c", str(config), "--auto-approve")
    north.faults.clear()
    assert result.code == 4, result.out + result.err
    assert "Sites: north partly applied; south not applied." in result.out
    assert run("apply", "-c", str(config), "--auto-approve").code == 1
    assert north.store.cohort_members("team") == {"ann", "bob"}
    assert run("plan", "-c", str(config), "--site", "north", "--detailed-exitcode").code == 0
