"""A group name the site cannot take: named in the plan, never called in sync."""

from __future__ import annotations

from pathlib import Path

TOKEN_VAR = "PLUTO_TOKEN_GROUPS"


def write_config(tmp_path: Path, sandbox, courses: str) -> Path:
    path = tmp_path / "segments.yaml"
    path.write_text(
        f"version: 1\nsites:\n  lab:\n    url: {sandbox.url}\n    token: ${{{TOKEN_VAR}}}\n"
        f"courses:\n{courses}",
        encoding="utf-8",
    )
    return path


def test_two_groups_swapping_names_are_explained_and_not_called_in_sync(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    sandbox.store.add_course("C1")
    sandbox.store.add_group("C1", "Blue", idnumber="blue")
    sandbox.store.add_group("C1", "Red", idnumber="red")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    swap = "  C1:\n    groups:\n      blue: {name: Red}\n      red: {name: Blue}\n"
    config = write_config(tmp_path, sandbox, swap)
    plan = run("plan", "-c", str(config), "--detailed-exitcode")
    assert plan.code == 1, plan.out  # not 0: the site does not match the config
    assert (
        "group C1/blue not created or renamed: another group in C1 (C1/red) is already "
        "named 'Red'; the two swap names"
    ) in plan.out
    assert "No changes the site can take now; it does not match the config" in plan.out
    assert "No changes.\n" not in plan.out
    assert run("plan", "-c", str(config)).code == 0  # a plain plan still succeeds

    # In steps, as the notice says: a third name first, then the swap in two runs.
    step = "  C1:\n    groups:\n      blue: {name: Purple}\n      red: {name: Red}\n"
    config.write_text(config.read_text().replace(swap, step), encoding="utf-8")
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    config.write_text(config.read_text().replace(step, swap), encoding="utf-8")
    for _ in range(2):
        assert run("apply", "-c", str(config), "--auto-approve").code == 0
    final = run("plan", "-c", str(config), "--detailed-exitcode")
    assert final.code == 0, final.out
    names = {gid: g["name"] for gid, g in sandbox.store.groups("C1").items()}
    assert names == {"blue": "Red", "red": "Blue"}


def test_validate_refuses_two_groups_of_a_course_named_alike(tmp_path, run) -> None:
    config = tmp_path / "segments.yaml"
    config.write_text(
        "version: 1\nsites:\n  lab: {url: 'sandbox:lab.db'}\ncourses:\n  C1:\n    groups:\n"
        "      a: {name: Team}\n      b: {name: team}\n",
        encoding="utf-8",
    )
    result = run("validate", "-c", str(config))
    assert result.code == 1
    assert "segments.yaml:8:11: courses.C1.groups.b.name: groups a and b of course C1 are both" in (
        result.err
    )
