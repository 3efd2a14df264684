"""A site whose roles are not Moodle's standard ids: enrolments use the site's ids."""

from __future__ import annotations

TOKEN_VAR = "PLUTO_TOKEN_ROLES"


def renumber(store) -> None:
    """Swap the ids of student (5) and teacher (4), as a site that renumbered its roles."""
    with store.transaction() as db:
        db.execute("UPDATE role SET id = 99 WHERE shortname = 'student'")
        db.execute("UPDATE role SET id = 5 WHERE shortname = 'teacher'")
        db.execute("UPDATE role SET id = 4 WHERE shortname = 'student'")


def config(tmp_path, sandbox, members: str):
    path = tmp_path / "segments.yaml"
    path.write_text(
        f"version: 1\nsites:\n  lab:\n    url: {sandbox.url}\n    token: ${{{TOKEN_VAR}}}\n"
        f"segments:\n  team: {{name: Team, members: [{members}]}}\n"
        "courses:\n  C1:\n    enrol:\n      - {segment: team, role: student}\n",
        encoding="utf-8",
    )
    return path


def test_an_enrolment_uses_the_role_id_the_site_shows(sandbox, tmp_path, run, monkeypatch):
    renumber(sandbox.store)
    for name in ("ann", "bob"):
        sandbox.store.add_user(name)
    sandbox.store.add_course("C1")
    sandbox.store.enrol("ann", "C1", "student")  # shows the site's student id: 4
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    path = config(tmp_path, sandbox, "ann, bob")
    applied = run("apply", "-c", str(path), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert sandbox.store.enrolments("C1") == {"ann": {"student"}, "bob": {"student"}}
    assert run("plan", "-c", str(path), "--detailed-exitcode").code == 0


def test_a_role_the_renumbered_site_never_showed_is_not_guessed(
    sandbox, tmp_path, run, monkeypatch
):
    renumber(sandbox.store)
    sandbox.store.add_user("bob")
    sandbox.store.add_user("tim")
    sandbox.store.add_course("C1")
    sandbox.store.enrol("tim", "C1", "teacher")  # teacher shows as 5: not the standard 4
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    applied = run("apply", "-c", str(config(tmp_path, sandbox, "bob")), "--auto-approve")
    assert applied.code == 4, applied.out + applied.err
    assert "role 'student'" in applied.out
    assert "bob" not in sandbox.store.enrolments("C1")  # never enrolled as teacher (5)
