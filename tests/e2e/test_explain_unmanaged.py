"""explain lists the segments the config does not declare that hold the user, last."""

from __future__ import annotations

from pathlib import Path

TOKEN_VAR = "PLUTO_TOKEN_EXPLAIN"


def write_config(tmp_path: Path, sandbox, body: str) -> Path:
    """The config of one site, ``lab`` (the sandbox), followed by ``body``."""
    path = tmp_path / "segments.yaml"
    path.write_text(
        f"version: 1\nsites:\n  lab:\n    url: {sandbox.url}\n    token: ${{{TOKEN_VAR}}}\n" + body,
        encoding="utf-8",
    )
    return path


def test_explain_lists_unmanaged_segments_holding_the_user_last(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    store = sandbox.store
    for name in ("ann", "bob"):
        store.add_user(name, firstname="U", lastname=name)
    store.add_cohort("legacy-club", "Legacy club")
    store.add_cohort_members("legacy-club", ["ann"])
    store.add_cohort("other-club", "Other club")
    store.add_cohort_members("other-club", ["bob"])
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = write_config(
        tmp_path,
        sandbox,
        "segments:\n  team: {name: Team, members: [ann]}\npolicy:\n  unmanaged_segments: report\n",
    )
    result = run("explain", "Ann", "-c", str(config))  # read as Moodle reads usernames
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "User 'ann' on site 'lab':"
    headers = [line.strip() for line in lines if line.startswith("  ") and line[2] != " "]
    assert headers[-1] == "legacy-club (Legacy club): member"
    assert "segment not in the config (policy unmanaged_segments: report)" in result.out
    assert "other-club" not in result.out
    assert headers[0].startswith("team (Team)")


def test_explain_shows_a_site_names_escapes_instead_of_sending_them_to_the_terminal(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    store = sandbox.store
    store.add_user("ann", firstname="U", lastname="ann")
    store.add_cohort("id\x1b]0;pwned\x07", "clear\x1b[2Jscreen")
    store.add_cohort_members("id\x1b]0;pwned\x07", ["ann"])
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = write_config(
        tmp_path,
        sandbox,
        "segments:\n  team: {name: Team, members: [ann]}\n",
    )
    result = run("explain", "ann", "-c", str(config))
    assert result.code == 0, result.err
    assert "\x1b" not in result.out and "\x07" not in result.out
    assert "id\\x1b]0;pwned\\x07 (clear\\x1b[2Jscreen): member" in result.out


def test_explain_says_when_the_plan_refuses_or_holds_back_the_change(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    store = sandbox.store
    names = ["ann", "bob", "cid", "dan"]
    for name in names:
        store.add_user(name, firstname="U", lastname=name)
    store.add_cohort("team", "Team")
    store.add_cohort_members("team", names)
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = write_config(
        tmp_path,
        sandbox,
        "segments:\n  team: {name: Team, members: [ann]}\n  crew: {name: Crew, members: [bob]}\n",
    )
    result = run("explain", "bob", "-c", str(config))
    assert result.code == 0, result.err
    assert "team (Team): member; would be removed, but the plan does not do it now" in result.out
    assert (
        "refused: would remove 3 of 4 members of segment team; policy max_removals 25% "
        "allows 1; to allow: --allow-removals team"
    ) in result.out
    # Nothing is applied on a site whose plan holds a refusal: not "will be added".
    assert (
        "crew (Crew): not a member yet; would be added, but the plan does not do it now"
    ) in result.out
    config.write_text(
        config.read_text(encoding="utf-8") + "acknowledge:\n  removals: {team: 3}\n",
        encoding="utf-8",
    )
    allowed = run("explain", "bob", "-c", str(config))
    assert "team (Team): member; will be removed" in allowed.out


def test_explain_warns_when_the_site_was_read_in_part(sandbox, tmp_path, run, monkeypatch) -> None:
    store = sandbox.store
    store.add_user("ann", firstname="U", lastname="ann")
    store.add_cohort("team", "Team")
    store.add_cohort_members("team", ["ann"])
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    monkeypatch.setenv("PLUTOCTL_RETRY_BACKOFF", "0")
    sandbox.faults.inject(kind="status", status=500, function="core_cohort_get_cohort_members")
    config = write_config(
        tmp_path,
        sandbox,
        "segments:\n  team: {name: Team, members: [ann]}\n",
    )
    result = run("explain", "ann", "-c", str(config))
    assert result.code == 0, result.err
    assert "warning: the read of site 'lab' was incomplete" in result.err
    assert "may make this explanation wrong" in result.err
    # ann is a member the plan cannot see: neither "not a member yet" nor "will be added".
    assert (
        "team (Team): membership not read; should be a member, but the plan does not change it now"
    ) in result.out
    assert "the segment's members on the site were not read" in result.out
    assert "will be added" not in result.out


def test_explain_warns_that_a_site_whose_plan_has_errors_applies_nothing(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    sandbox.store.add_user("ann", firstname="U", lastname="ann")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    body = "segments:\n  staff: {name: Staff, members: [ann]}\n  typo: {name: T, members: [anm]}\n"
    config = write_config(tmp_path, sandbox, body)
    assert run("plan", "-c", str(config)).code == 1  # 'anm' is not on the site
    result = run("explain", "ann", "-c", str(config))
    assert result.code == 0, result.err
    # Not "will be added": nothing is applied on a site whose plan has errors.
    assert "staff (Staff): not a member yet; would be added, but the plan does not do it now" in (
        result.out
    )
    assert "the site's plan has errors, so nothing is applied there" in result.out
    assert "warning: the plan of site 'lab' has errors, so nothing is applied there" in result.err
    assert "'anm'" in result.err and "plutoctl plan --site lab" in result.err


def test_explain_says_the_plan_deletes_an_unmanaged_segment_or_why_it_does_not(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    store = sandbox.store
    store.add_user("ann", firstname="U", lastname="ann")
    for sid in ("legacy", "kept"):
        store.add_cohort(sid, sid.title())
        store.add_cohort_members(sid, ["ann"])
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    body = (
        "segments:\n  team: {name: Team, members: [ann]}\n"
        "policy:\n  unmanaged_segments: delete\nacknowledge:\n  deletes: [legacy]\n"
    )
    config = write_config(tmp_path, sandbox, body)
    result = run("explain", "ann", "-c", str(config))
    assert result.code == 0, result.err
    # kept's refused delete stops the site's plan: legacy's delete waits for it.
    assert (
        "  legacy (Legacy): member; would be removed, but the plan does not do it now\n"
        "    - segment not in the config"
    ) in result.out
    assert "    - the plan would delete this segment\n" in result.out
    assert "the site's plan holds refused changes, so nothing is applied there" in result.out
    assert "  kept (Kept): member\n" in result.out  # its delete needs acknowledging
    assert "    - its delete is refused: would delete segment kept, which has 1 member" in (
        result.out
    )
    config.write_text(
        body.replace("[legacy]", "[legacy, kept]").join(
            config.read_text(encoding="utf-8").split(body)
        ),
        encoding="utf-8",
    )
    acknowledged = run("explain", "ann", "-c", str(config))
    assert "  legacy (Legacy): member; will be removed\n" in acknowledged.out, acknowledged.out
    assert "  kept (Kept): member; will be removed\n" in acknowledged.out
    assert "    - the plan deletes this segment\n" in acknowledged.out


def test_explain_of_a_user_whose_look_up_failed_says_so(sandbox, tmp_path, run, monkeypatch):
    """The look-up failed (HTTP 500): plan said so, explain said the user does not exist."""
    for name in ("ann", "bob"):
        sandbox.store.add_user(name, firstname="U", lastname=name)
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    monkeypatch.setenv("PLUTOCTL_RETRY_BACKOFF", "0")
    config = write_config(tmp_path, sandbox, "segments:\n  team: {name: Team, members: [ann]}\n")
    sandbox.faults.inject(kind="status", status=500, function="core_user_get_users_by_field")
    result = run("explain", "bob", "-c", str(config))
    assert result.code == 1
    assert "user 'bob' could not be read on site 'lab'" in result.err, result.err
    assert "does not exist" not in result.err


def test_explain_names_the_sites_a_segment_left_on_another_is_declared_for(
    tmp_path, run, monkeypatch
) -> None:
    """A segment the config declares for site b, held by ann on site a, was called
    'segment not in the config' on a; and a plain apply of a multi-site config may do
    nothing while explain says 'will be'."""
    from plutoctl.sandbox import Sandbox

    with Sandbox.start() as a, Sandbox.start() as b:
        for sandbox in (a, b):
            sandbox.store.add_user("ann", firstname="U", lastname="ann")
        a.store.add_cohort("b-only", "B only")
        a.store.add_cohort_members("b-only", ["ann"])
        monkeypatch.setenv("PLUTO_TOKEN_A", a.token)
        monkeypatch.setenv("PLUTO_TOKEN_B", b.token)
        config = tmp_path / "segments.yaml"
        config.write_text(
            f"version: 1\nsites:\n  a: {{url: '{a.url}', token: '${{PLUTO_TOKEN_A}}'}}\n"
            f"  b: {{url: '{b.url}', token: '${{PLUTO_TOKEN_B}}'}}\n"
            "segments:\n  b-only: {name: B only, sites: [b], members: [ann]}\n",
            encoding="utf-8",
        )
        result = run("explain", "ann", "-c", str(config), "--site", "a")
    assert result.code == 0, result.err
    assert "segment not declared for site 'a' (the config declares it for: b)" in result.out
    assert "segment not in the config" not in result.out
    assert "note: what 'will be' is what this site's plan makes: `plutoctl apply --site a`" in (
        result.err
    )


def test_explain_gives_the_reason_for_a_removal_from_an_empty_members_list(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    sandbox.store.add_user("ann", firstname="U", lastname="ann")
    sandbox.store.add_cohort("staff", "Staff")
    sandbox.store.add_cohort_members("staff", ["ann"])
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = write_config(tmp_path, sandbox, "segments:\n  staff: {name: Staff, members: []}\n")
    result = run("explain", "ann", "-c", str(config))
    assert "  staff (Staff): member; " in result.out
    assert "    - not listed in members or members_csv\n" in result.out


def test_explain_calls_a_rule_the_plan_rejects_an_error_not_a_match(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    store = sandbox.store
    store.add_profile_field("dept", "text")
    store.add_user("ann", firstname="U", lastname="ann")
    store.set_profile("ann", dept="Sales")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = write_config(
        tmp_path,
        sandbox,
        "segments:\n  bad:\n    name: Bad\n"
        "    rules: [{field: deptt, match: notexact, value: Sales}]\n",
    )
    result = run("explain", "ann", "-c", str(config))
    assert result.code == 0, result.err
    assert "rule 1 is an error: " in result.out and "deptt" in result.out
    assert "did you mean 'dept'" in result.out, result.out
    assert "matched" not in result.out


def test_explain_gives_no_verdict_from_a_rejected_rule_and_keeps_the_other_reasons(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    """A rejected ``notexact`` rule selects everyone: explain said "would be added" from
    it, and left out the segment's other rules and its exclusions."""
    store = sandbox.store
    store.add_profile_field("dept", "text")
    for name in ("ann", "bob"):
        store.add_user(name, firstname="U", lastname=name)
    store.set_profile("ann", dept="Sales")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = write_config(
        tmp_path,
        sandbox,
        "segments:\n  typo:\n    name: Typo\n"
        "    rules:\n      - {field: deptt, match: notexact, value: '1'}\n"
        "      - {field: dept, match: exact, value: sales}\n"
        "    exclude: [ann]\n",
    )
    for user in ("ann", "bob"):
        result = run("explain", user, "-c", str(config))
        assert result.code == 0, result.err
        assert "added" not in result.out, result.out
        assert "typo (Typo): not a member yet; no verdict: the plan rejects rule 1" in result.out
        assert "rule 1 is an error: " in result.out
    assert "rule 2 matched" in result.out or "no rule matched" in result.out
    ann = run("explain", "ann", "-c", str(config))
    assert "rule 2 matched" in ann.out, ann.out
    assert "excluded at " in ann.out, ann.out


def test_explain_says_nothing_is_applied_on_a_site_whose_plan_is_refused(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    """team's removal is acknowledged, crew's is refused: apply makes nothing on the
    site (exit 3), yet explain said team's member "will be removed"."""
    store = sandbox.store
    names = ["ann", "bob", "cid", "dan"]
    for name in names:
        store.add_user(name, firstname="U", lastname=name)
    for segment in ("team", "crew"):
        store.add_cohort(segment, segment.title())
        store.add_cohort_members(segment, names)
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = write_config(
        tmp_path,
        sandbox,
        "segments:\n  team: {name: Team, members: [ann]}\n  crew: {name: Crew, members: [ann]}\n"
        "acknowledge:\n  removals: {team: 3}\n",
    )
    assert run("apply", "-c", str(config), "--auto-approve").code == 3
    result = run("explain", "bob", "-c", str(config))
    assert result.code == 0, result.err
    assert "will be removed" not in result.out, result.out
    assert "team (Team): member; would be removed, but the plan does not do it now" in result.out
    assert "the site's plan holds refused changes, so nothing is applied there" in result.out
    assert "crew (Crew): member; would be removed, but the plan does not do it now" in result.out
    assert "refused: would remove 3 of 4 members of segment crew" in result.out
    assert store.cohort_members("team") == set(names)
