"""Rules on the account fields (user.auth, user.lang) select by the users' real values.

No user listing returns them, so a rule on them once saw every user as empty:
``notexact: manual`` took everyone in, ``exact: nologin`` nobody.
"""

from __future__ import annotations

import pytest

from plutoctl.errors import SandboxError

TOKEN_VAR = "PLUTO_TOKEN_ACCOUNT"

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  not-manual:
    name: Not manual
    rules: [{{field: user.auth, match: notexact, value: manual}}]
  french:
    name: French
    rules: [{{field: user.lang, match: exact, value: fr}}]
"""


@pytest.fixture
def config(sandbox, tmp_path, monkeypatch):
    store = sandbox.store
    store.add_user("ann", auth="manual", lang="en")
    store.add_user("bea", auth="nologin", lang="fr")
    store.add_user("cid", auth="manual", lang="fr")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    path = tmp_path / "segments.yaml"
    path.write_text(CONFIG.format(url=sandbox.url, var=TOKEN_VAR), encoding="utf-8")
    return path


def test_rules_on_account_fields_select_by_their_values_and_converge(config, sandbox, run) -> None:
    applied = run("apply", "-c", str(config), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert sandbox.store.cohort_members("not-manual") == {"bea"}
    assert sandbox.store.cohort_members("french") == {"bea", "cid"}
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0
    with sandbox.store.transaction() as db:  # as an admin changing ann's language
        db.execute("UPDATE user SET lang = 'fr' WHERE username = 'ann'")
    moved = run("plan", "-c", str(config), "--detailed-exitcode")
    assert moved.code == 2
    assert "+ 1 member of french" in moved.out
    explained = run("explain", "bea", "-c", str(config))
    assert explained.code == 0, explained.err
    assert "'nologin'" in explained.out


def test_a_failed_user_listing_says_why_rules_cannot_be_planned(
    config, sandbox, run, monkeypatch
) -> None:
    monkeypatch.setenv("PLUTOCTL_RETRY_BACKOFF", "0")
    sandbox.faults.inject(kind="status", status=503, function="core_enrol_get_enrolled_users")
    result = run("plan", "-c", str(config))
    assert result.code == 1
    assert "rules need every user of site 'lab', but only some users were read (" in result.out
    assert "HTTP 503" in result.out or "503" in result.out
    # Not blamed on the config: a field of some users read is not a field nobody has.
    assert "no user on this site has a value for profile field" not in result.out


def test_a_failed_user_listing_is_not_blamed_on_a_profile_field(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    sandbox.store.add_profile_field("department", "text")
    sandbox.store.add_user("ann")
    sandbox.store.set_profile("ann", department="Sales")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = tmp_path / "segments.yaml"
    config.write_text(
        f"version: 1\nsites:\n  lab:\n    url: {sandbox.url}\n    token: ${{{TOKEN_VAR}}}\n"
        "segments:\n  sales:\n    name: Sales\n"
        "    rules: [{field: department, match: exact, value: Sales}]\n",
        encoding="utf-8",
    )
    assert run("plan", "-c", str(config)).code == 0
    sandbox.faults.inject(kind="status", status=503, function="core_enrol_get_enrolled_users")
    result = run("plan", "-c", str(config))
    assert result.code == 1
    assert "rules need every user of site 'lab', but only some users were read (" in result.out
    # Not blamed on the config: the field exists; the read failed.
    assert "no user on this site has a value for profile field" not in result.out


def test_account_fields_that_could_not_be_read_are_never_taken_for_empty(
    config, sandbox, run, monkeypatch
) -> None:
    """Taken for empty, ann's and cid's unread auth ('manual') made them not-manual."""
    monkeypatch.setenv("PLUTOCTL_RETRY_BACKOFF", "0")
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text + "  active:\n    name: Active\n"
        "    rules: [{field: user.suspended, match: notexact, value: '1'}]\n",
        encoding="utf-8",
    )
    sandbox.store.add_user("dan", suspended=True)
    sandbox.faults.inject(kind="status", status=503, function="core_user_get_users_by_field")
    planned = run("plan", "-c", str(config))
    assert planned.code == 1, planned.out + planned.err
    for name in ("user.auth", "user.lang", "user.suspended"):
        assert f"rules use {name}, but it could not be read for 5 user(s)" in planned.out
    applied = run("apply", "-c", str(config), "--auto-approve")
    assert applied.code == 1, applied.out + applied.err
    for segment in ("not-manual", "active"):  # nothing created, nobody added
        with pytest.raises(SandboxError, match="no cohort"):
            sandbox.store.cohort_members(segment)

    sandbox.faults.clear()
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    assert sandbox.store.cohort_members("not-manual") == {"bea"}
    assert sandbox.store.cohort_members("active") == {"admin", "ann", "bea", "cid"}
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_a_standard_field_no_user_has_stops_its_rules_instead_of_emptying_a_segment(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    """A site that hides user.city from the token's user leaves it out of every answer:
    taken as every user's empty value, the rule planned removing every member."""
    for name in ("ann", "bob", "cid"):
        sandbox.store.add_user(name)  # no city: as the site answers when it hides it
    sandbox.store.add_cohort("city-dublin", "Dublin")
    sandbox.store.add_cohort_members("city-dublin", ["ann", "bob"])
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = tmp_path / "segments.yaml"
    config.write_text(
        f"version: 1\nsites:\n  lab:\n    url: {sandbox.url}\n    token: ${{{TOKEN_VAR}}}\n"
        "segments:\n  city-dublin:\n    name: Dublin\n"
        "    rules: [{field: user.city, match: exact, value: Dublin}]\n"
        "policy:\n  max_removals: 100%\n",
        encoding="utf-8",
    )
    planned = run("plan", "-c", str(config))
    assert planned.code == 1, planned.out + planned.err
    assert "no user on this site has a value for user.city: the site may hide" in planned.out
    assert run("apply", "-c", str(config), "--auto-approve").code == 1
    assert sandbox.store.cohort_members("city-dublin") == {"ann", "bob"}  # nothing removed
