"""examples/ci/github-actions*.yml: linted by actionlint, their run: steps run in order.

The harness (gha.py) runs each job's steps with the workflow's environment in a fresh
clone, against sandbox sites over HTTP; only the GitHub endpoint that receives the
pull-request comment is stubbed (on 127.0.0.1). plutoctl is the built wheel.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from ci_helpers import (
    RECIPES,
    SALES,
    Dist,
    ForgeStub,
    actionlint_command,
    commit,
    config_text,
    git,
    job_environment,
    make_repo,
    members_of,
    tokens,
)
from gha import Event, JobRun, Workflow

from plutoctl.sandbox import Sandbox

WORKFLOWS = sorted(RECIPES.glob("github-actions*.yml"))
ACK = "acknowledge:\n  removals: {dept-sales: 4}\n"
KEPT = SALES[:6]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_passes(workflow: Path) -> None:
    proc = subprocess.run(
        [*actionlint_command(), str(workflow)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed lint checks" in proc.stdout


def test_actionlint_catches_a_mistake(tmp_path: Path) -> None:
    actionlint = actionlint_command()
    text = (RECIPES / "github-actions.yml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace("github.event.pull_request.number", "github.nope"), "utf-8")
    proc = subprocess.run([*actionlint, str(broken)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "nope" in proc.stdout


def run(
    workflow: str, repo: Path, event: Event, dist: Dist, forge: ForgeStub, sites, tmp: Path
) -> dict[str, list[JobRun]]:
    secrets = tokens(sites)
    return Workflow(RECIPES / workflow).run(
        repo,
        event,
        workdir=tmp,
        env=job_environment(dist),
        secrets=secrets,
        api_url=forge.url,
    )


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD")


def test_reviewed_removal_goes_from_pr_comment_to_applied(
    tmp_path: Path, dist: Dist, forge: ForgeStub, sites: dict[str, Sandbox]
) -> None:
    forge.token = "gh-token-for-tests"  # github.token in the harness
    one = {"primary": sites["primary"]}
    repo = make_repo(tmp_path / "config", {"segments.yaml": config_text(one, members=SALES)})
    git(repo, "checkout", "-q", "-b", "shrink-sales")
    commit(repo, {"segments.yaml": config_text(one, members=KEPT)}, "sales: 4 leave")
    # A long review: a page of people's comments, one quoting the marker. The bot's
    # comment lands on the second page; the quote is never edited (GitHub refuses that).
    quote = forge.post_as_person("<!-- plutoctl-plan -->\nwhy is this refused?")
    for n in range(99):
        forge.post_as_person(f"comment {n}")

    unsafe = run(
        "github-actions.yml", repo, Event("pull_request", head(repo), 7), dist, forge, one,
        tmp_path / "run1",
    )  # fmt: skip
    (plan,) = unsafe["plan"]
    assert plan.failed_code == 3, plan.log  # failed after posting the comment
    (comment,) = forge.bodies()
    assert "Refused" in comment and "acknowledge: {removals: {dept-sales: 4}}" in comment

    commit(repo, {"segments.yaml": config_text(one, members=KEPT, acknowledge=ACK)}, "ack")
    diff = git(repo, "diff", "main", "--", "segments.yaml")
    assert len(re.findall(r"^\+.*dept-sales: 4", diff, re.M)) == 1
    reviewed = run(
        "github-actions.yml", repo, Event("pull_request", head(repo), 7), dist, forge, one,
        tmp_path / "run2",
    )  # fmt: skip
    (plan,) = reviewed["plan"]
    assert plan.ok, plan.log
    (comment,) = forge.bodies()  # updated in place, found on the second page
    assert "acknowledge.removals dept-sales: 4" in comment
    assert any(method == "PATCH" for method, _ in forge.requests)
    assert forge.notes[quote].body.endswith("why is this refused?")

    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", "shrink-sales")
    pushed = run(
        "github-actions.yml", repo, Event("push", head(repo)), dist, forge, one, tmp_path / "run3"
    )
    assert pushed["plan-for-apply"][0].ok, pushed["plan-for-apply"][0].log
    (apply,) = pushed["apply"]
    assert apply.ok, apply.log
    assert members_of(one["primary"], "dept-sales") == set(KEPT)

    drift = run(
        "github-actions.yml", repo, Event("schedule", head(repo)), dist, forge, one,
        tmp_path / "run4",
    )  # fmt: skip
    assert drift["drift"][0].ok, drift["drift"][0].log  # in sync after the apply
    one["primary"].store.add_cohort_members("dept-sales", ["eng01"])
    drift = run(
        "github-actions.yml", repo, Event("schedule", head(repo)), dist, forge, one,
        tmp_path / "run5",
    )  # fmt: skip
    assert drift["drift"][0].failed_code == 2


def test_sites_matrix_runs_one_job_per_site(
    tmp_path: Path, dist: Dist, forge: ForgeStub, sites: dict[str, Sandbox]
) -> None:
    forge.token = "gh-token-for-tests"
    repo = make_repo(tmp_path / "config", {"segments.yaml": config_text(sites, members=SALES)})
    git(repo, "checkout", "-q", "-b", "shrink-sales")
    commit(repo, {"segments.yaml": config_text(sites, members=KEPT, acknowledge=ACK)}, "x")
    planned = run(
        "github-actions-matrix.yml", repo, Event("pull_request", head(repo), 9), dist, forge,
        sites, tmp_path / "pr",
    )  # fmt: skip
    assert [r.matrix["site"] for r in planned["plan"]] == list(sites)
    assert all(r.ok for r in planned["plan"]), [r.log for r in planned["plan"]]
    assert sorted(b.splitlines()[0] for b in forge.bodies()) == sorted(
        f"<!-- plutoctl-plan site={name} -->" for name in sites
    )

    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", "shrink-sales")
    pushed = run(
        "github-actions-matrix.yml", repo, Event("push", head(repo)), dist, forge, sites,
        tmp_path / "push",
    )  # fmt: skip
    assert [r.matrix["site"] for r in pushed["apply"]] == list(sites)
    for job in pushed["apply"]:
        assert job.ok, job.log
        site = job.matrix["site"]
        for kept in (f"plan-{site}", f"apply-report-{site}"):  # the artifacts
            assert (tmp_path / f"push/artifacts/{kept}-{head(repo)}/{kept}.json").is_file()
        print(f"apply [{job.matrix['site']}]:", job.steps[-2].output.strip().splitlines()[-1])
    for sandbox in sites.values():
        assert members_of(sandbox, "dept-sales") == set(KEPT)


def test_matrix_apply_is_serialised_per_site() -> None:
    import yaml

    data = yaml.safe_load((RECIPES / "github-actions-matrix.yml").read_text(encoding="utf-8"))
    concurrency = data["jobs"]["apply"]["concurrency"]
    assert "matrix.site" in concurrency["group"] and concurrency["cancel-in-progress"] is False
    gitlab = yaml.safe_load((RECIPES / "gitlab-ci-matrix.yml").read_text(encoding="utf-8"))
    assert "$SITE" in gitlab["apply"]["resource_group"]


@pytest.mark.parametrize("recipe", ["github-actions.yml", "github-actions-matrix.yml"])
def test_a_run_of_an_older_commit_applies_nothing(
    tmp_path: Path, dist: Dist, forge: ForgeStub, sites: dict[str, Sandbox], recipe: str
) -> None:
    """Runs are not ordered: an older commit's apply after a newer one's would undo it."""
    one = {"primary": sites["primary"]} if recipe == "github-actions.yml" else sites
    repo = make_repo(tmp_path / "config", {"segments.yaml": config_text(one, members=SALES)})
    older = head(repo)
    commit(repo, {"segments.yaml": config_text(one, members=[*SALES, "eng01"])}, "eng01 joins")
    late = run(recipe, repo, Event("push", older), dist, forge, one, tmp_path / "late")
    for apply in late["apply"]:
        assert apply.ok, apply.log
        assert f"not applying {older}: main is at {head(repo)}" in apply.log
    for sandbox in one.values():
        assert members_of(sandbox, "dept-sales") == set(SALES)  # nothing applied


def test_a_config_that_does_not_validate_replaces_the_plan_comment(
    tmp_path: Path, dist: Dist, forge: ForgeStub, sites: dict[str, Sandbox]
) -> None:
    forge.token = "gh-token-for-tests"
    one = {"primary": sites["primary"]}
    repo = make_repo(tmp_path / "config", {"segments.yaml": config_text(one, members=SALES)})
    git(repo, "checkout", "-q", "-b", "more-sales")
    commit(repo, {"segments.yaml": config_text(one, members=[*SALES, "eng01"])}, "eng01")
    first = run(
        "github-actions.yml", repo, Event("pull_request", head(repo), 7), dist, forge, one,
        tmp_path / "run1",
    )  # fmt: skip
    assert first["plan"][0].ok, first["plan"][0].log
    (comment,) = forge.bodies()
    assert "eng01" in comment or "+1" in comment

    broken = config_text(one, members=[*SALES, "eng01"]).replace("name: Sales", "nme: Sales")
    commit(repo, {"segments.yaml": broken}, "a typo")
    second = run(
        "github-actions.yml", repo, Event("pull_request", head(repo), 7), dist, forge, one,
        tmp_path / "run2",
    )  # fmt: skip
    (plan,) = second["plan"]
    assert plan.failed_code == 1, plan.log
    assert "unknown key 'nme'" in plan.log
    (comment,) = forge.bodies()  # the same comment, no longer the old plan
    assert "The plan failed (exit 1) before it was written: see the job log." in comment


def test_matrix_config_that_does_not_validate_replaces_each_site_comment(
    tmp_path: Path, dist: Dist, forge: ForgeStub, sites: dict[str, Sandbox]
) -> None:
    forge.token = "gh-token-for-tests"
    good = config_text(sites, members=[*SALES, "eng01"])
    repo = make_repo(tmp_path / "config", {"segments.yaml": config_text(sites, members=SALES)})
    git(repo, "checkout", "-q", "-b", "more-sales")
    commit(repo, {"segments.yaml": good}, "eng01")
    pr = Event("pull_request", head(repo), 9)
    first = run("github-actions-matrix.yml", repo, pr, dist, forge, sites, tmp_path / "run1")
    assert all(r.ok for r in first["plan"]), [r.log for r in first["plan"]]
    planned = forge.bots()
    assert len(planned) == len(sites)
    quote = forge.post_as_person("<!-- plutoctl-plan site=emea -->\nwhy?")

    commit(repo, {"segments.yaml": good.replace("name: Sales", "nme: Sales")}, "a typo")
    pr = Event("pull_request", head(repo), 9)
    second = run("github-actions-matrix.yml", repo, pr, dist, forge, sites, tmp_path / "run2")
    (check,) = second["sites"]
    assert check.failed_code == 1 and "unknown key 'nme'" in check.log, check.log
    assert "plan" not in second
    said = "The plan failed before any site was planned: the config does not validate. "
    log = "See the log of the `sites` job: https://github.example/example/config/actions/runs/"
    assert forge.bots().keys() == planned.keys()  # the same comments, edited
    for key, body in forge.bots().items():
        marker, text = body.split("\n", 1)
        assert marker == planned[key].splitlines()[0] and text.startswith(f"**{said}{log}")
    assert forge.notes[quote].body.endswith("why?")

    commit(repo, {"segments.yaml": good}, "fixed")
    pr = Event("pull_request", head(repo), 9)
    third = run("github-actions-matrix.yml", repo, pr, dist, forge, sites, tmp_path / "run3")
    assert all(r.ok for r in third["plan"]), [r.log for r in third["plan"]]
    assert forge.bots().keys() == planned.keys()  # the next plan edits them again
    assert all("+1 / −0 members" in body for body in forge.bots().values())
