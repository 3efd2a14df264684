"""examples/ci/gitlab-ci*.yml run by gitlab-ci-local (shell executor) against sandboxes.

Only the GitLab API endpoint that receives the merge-request note is stubbed (on
127.0.0.1); plutoctl is the built wheel installed in a clean virtual environment.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from ci_helpers import (
    RECIPES,
    SALES,
    Dist,
    ForgeStub,
    commit,
    config_text,
    git,
    job_environment,
    make_repo,
    members_of,
    need_tool,
    tokens,
)

from plutoctl.sandbox import Sandbox

PREDEFINED = "CI_PIPELINE_SOURCE,CI_API_V4_URL,CI_MERGE_REQUEST_IID"
ACK = "acknowledge:\n  removals: {dept-sales: 4}\n"
KEPT = SALES[:6]  # 4 of 10 removed: 40%, over max_removals 25%


@dataclass
class Pipeline:
    code: int
    output: str

    def status(self, job: str) -> str:
        """Return PASS or FAIL for a job, from gitlab-ci-local's summary."""
        match = re.search(rf"^ (PASS|FAIL|WARN) +{re.escape(job)}\s*$", self.output, re.M)
        assert match, f"job {job} did not run:\n{self.output}"
        return match.group(1)


def pipeline(
    repo: Path, dist: Dist, source: str, variables: dict[str, str], *jobs: str
) -> Pipeline:
    """Run the jobs a pipeline of ``source`` would run (or the named ones)."""
    gcl = need_tool("gitlab-ci-local")
    args = [gcl, "--force-shell-executor", "--no-color"]
    # The recipes are checked against GitLab's schema once each (test_recipe_is_valid).
    args += ["--ignore-predefined-vars", PREDEFINED, "--json-schema-validation=false"]
    args += ["--variable", f"CI_PIPELINE_SOURCE={source}"]
    for key, value in variables.items():
        args += ["--variable", f"{key}={value}"]
    proc = subprocess.run(
        [*args, *jobs],
        cwd=repo,
        env=job_environment(dist),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return Pipeline(proc.returncode, proc.stdout + proc.stderr)


def schema_check(repo: Path) -> subprocess.CompletedProcess[str]:
    """gitlab-ci-local's check of .gitlab-ci.yml against GitLab's JSON schema."""
    gcl = need_tool("gitlab-ci-local")
    return subprocess.run(
        [gcl, "--list", "--no-color", "--json-schema-validation"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize("recipe", ["gitlab-ci.yml", "gitlab-ci-matrix.yml"])
def test_recipe_is_valid(tmp_path: Path, recipe: str) -> None:
    text = (RECIPES / recipe).read_text(encoding="utf-8")
    repo = make_repo(tmp_path / "config", {".gitlab-ci.yml": text})
    checked = schema_check(repo)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "json schema validated" in checked.stdout + checked.stderr


def test_schema_check_catches_a_mistake(tmp_path: Path) -> None:
    text = (RECIPES / "gitlab-ci.yml").read_text(encoding="utf-8")
    broken = text.replace("    when: always\n", "    when: sometimes\n", 1)
    assert broken != text
    repo = make_repo(tmp_path / "config", {".gitlab-ci.yml": broken})
    checked = schema_check(repo)
    assert checked.returncode != 0
    assert "'when' property must be one of" in checked.stdout + checked.stderr


def mr_variables(forge: ForgeStub, sites: dict[str, Sandbox]) -> dict[str, str]:
    return {
        **tokens(sites),
        "CI_API_V4_URL": f"{forge.url}/api/v4",
        "CI_MERGE_REQUEST_IID": "7",
        "GITLAB_API_TOKEN": forge.token,
    }


@pytest.fixture
def one_site(sites: dict[str, Sandbox]) -> dict[str, Sandbox]:
    return {"primary": sites["primary"]}


def test_reviewed_removal_goes_from_mr_note_to_applied(
    tmp_path: Path, dist: Dist, forge: ForgeStub, one_site: dict[str, Sandbox]
) -> None:
    recipe = (RECIPES / "gitlab-ci.yml").read_text(encoding="utf-8")
    repo = make_repo(
        tmp_path / "config",
        {".gitlab-ci.yml": recipe, "segments.yaml": config_text(one_site, members=SALES)},
    )
    variables = mr_variables(forge, one_site)

    # The merge request removes 40% of dept-sales: refused, but the note is posted.
    git(repo, "checkout", "-q", "-b", "shrink-sales")
    commit(repo, {"segments.yaml": config_text(one_site, members=KEPT)}, "sales: 4 leave")
    # A long review: a page of people's notes, one quoting the marker. The bot's note
    # lands on the second page; the quote is never edited (GitLab refuses that).
    quote = forge.post_as_person("<!-- plutoctl-plan -->\nwhy is this refused?")
    for n in range(99):
        forge.post_as_person(f"note {n}")
    unsafe = pipeline(repo, dist, "merge_request_event", variables)
    assert unsafe.status("plan:mr") == "FAIL", unsafe.output
    assert "exit code of the plan: 3" in unsafe.output
    assert (repo / "plan.md").exists()  # kept as the artifact (when: always)
    (note,) = forge.bodies()
    assert note.startswith("<!-- plutoctl-plan -->")
    assert "Refused" in note and "acknowledge: {removals: {dept-sales: 4}}" in note

    # The reviewer's acknowledgement, in the same merge request: the note is updated.
    commit(
        repo,
        {"segments.yaml": config_text(one_site, members=KEPT, acknowledge=ACK)},
        "acknowledge the 4 removals from dept-sales",
    )
    diff = git(repo, "diff", "main", "--", "segments.yaml")
    assert len(re.findall(r"^\+.*dept-sales: 4", diff, re.M)) == 1
    reviewed = pipeline(repo, dist, "merge_request_event", variables)
    assert reviewed.status("plan:mr") == "PASS", reviewed.output
    assert "exit code of the plan: 2" in reviewed.output
    (note,) = forge.bodies()  # the same note, edited in place, found on the second page
    assert "Acknowledged in review" in note and "acknowledge.removals dept-sales: 4" in note
    assert ("PUT", "/api/v4/projects/") in [(m, p[:17]) for m, p in forge.requests]
    assert forge.notes[quote].body.endswith("why is this refused?")
    assert members_of(one_site["primary"], "dept-sales") == set(SALES)  # nothing applied yet

    # Merged: the default-branch pipeline plans this commit, saves it, applies it.
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", "shrink-sales")
    merged = pipeline(repo, dist, "push", tokens(one_site))
    assert merged.status("plan:main") == "PASS", merged.output
    assert merged.status("apply:main") == "PASS", merged.output
    assert members_of(one_site["primary"], "dept-sales") == set(KEPT)
    assert (repo / "apply-report.json").exists()

    # Converged: the next plan is empty, and asks for the spent acknowledgement to go.
    again = subprocess.run(
        [str(dist.bin / "plutoctl"), "plan", "-c", str(repo / "segments.yaml"),
         "--detailed-exitcode"],
        env={**job_environment(dist), **tokens(one_site)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert "acknowledge.removals dept-sales matches nothing in this plan" in again.stdout


def test_drift_job_exits_as_documented(
    tmp_path: Path, dist: Dist, one_site: dict[str, Sandbox]
) -> None:
    recipe = (RECIPES / "gitlab-ci.yml").read_text(encoding="utf-8")
    acknowledged = config_text(one_site, members=SALES, acknowledge=ACK)
    repo = make_repo(tmp_path / "config", {".gitlab-ci.yml": recipe, "segments.yaml": acknowledged})
    in_sync = pipeline(repo, dist, "schedule", tokens(one_site))
    assert in_sync.status("drift") == "PASS", in_sync.output

    # Someone adds a member by hand: drift, exit 2, the job fails.
    one_site["primary"].store.add_cohort_members("dept-sales", ["eng01"])
    drifted = pipeline(repo, dist, "schedule", tokens(one_site))
    assert drifted.status("drift") == "FAIL"
    assert re.search(r"drift\s+finished in .*FAIL 2", drifted.output), drifted.output

    # Members removed by hand beyond the policy: the acknowledgement in the config
    # does not hide it (--no-acknowledgements): exit 3.
    one_site["primary"].store.add_cohort_members("dept-sales", ["eng02"])
    subprocess.run(["true"], check=True)
    commit(repo, {"segments.yaml": config_text(one_site, members=KEPT, acknowledge=ACK)}, "x")
    unsafe = pipeline(repo, dist, "schedule", tokens(one_site))
    assert re.search(r"drift\s+finished in .*FAIL 3", unsafe.output), unsafe.output


def test_sites_matrix_plans_and_applies_each_site(
    tmp_path: Path, dist: Dist, forge: ForgeStub, sites: dict[str, Sandbox]
) -> None:
    recipe = (RECIPES / "gitlab-ci-matrix.yml").read_text(encoding="utf-8")
    repo = make_repo(
        tmp_path / "config",
        {".gitlab-ci.yml": recipe, "segments.yaml": config_text(sites, members=SALES)},
    )
    git(repo, "checkout", "-q", "-b", "shrink-sales")
    commit(repo, {"segments.yaml": config_text(sites, members=KEPT, acknowledge=ACK)}, "x")
    planned = pipeline(repo, dist, "merge_request_event", mr_variables(forge, sites))
    assert planned.status("sites:check") == "PASS", planned.output
    for name in sites:
        assert planned.status(f"plan:mr: [{name}]") == "PASS", planned.output
    assert sorted(b.splitlines()[0] for b in forge.bodies()) == sorted(
        f"<!-- plutoctl-plan site={name} -->" for name in sites
    )

    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", "shrink-sales")
    applied = pipeline(repo, dist, "push", tokens(sites))
    for name, sandbox in sites.items():
        assert applied.status(f"apply: [{name}]") == "PASS", applied.output
        assert members_of(sandbox, "dept-sales") == set(KEPT)
    print(applied.output[applied.output.rfind("PASS") - 2000 :])


def test_a_config_that_does_not_validate_replaces_the_plan_note(
    tmp_path: Path, dist: Dist, forge: ForgeStub, one_site: dict[str, Sandbox]
) -> None:
    recipe = (RECIPES / "gitlab-ci.yml").read_text(encoding="utf-8")
    good = config_text(one_site, members=[*SALES, "eng01"])
    repo = make_repo(tmp_path / "config", {".gitlab-ci.yml": recipe, "segments.yaml": good})
    first = pipeline(repo, dist, "merge_request_event", mr_variables(forge, one_site))
    assert first.status("plan:mr") == "PASS", first.output
    (planned,) = forge.bots()

    commit(repo, {"segments.yaml": good.replace("name: Sales", "nme: Sales")}, "a typo")
    second = pipeline(repo, dist, "merge_request_event", mr_variables(forge, one_site))
    assert second.status("plan:mr") == "FAIL" and "unknown key 'nme'" in second.output
    (note,) = forge.bots().items()  # the same note, no longer the old plan
    failed = "**The plan failed (exit 1) before it was written: see the job log.**"
    assert note == (planned, f"<!-- plutoctl-plan -->\n{failed}\n")


def test_matrix_config_that_does_not_validate_replaces_each_site_note(
    tmp_path: Path, dist: Dist, forge: ForgeStub, sites: dict[str, Sandbox]
) -> None:
    recipe = (RECIPES / "gitlab-ci-matrix.yml").read_text(encoding="utf-8")
    good = config_text(sites, members=[*SALES, "eng01"])
    repo = make_repo(tmp_path / "config", {".gitlab-ci.yml": recipe, "segments.yaml": good})
    variables = mr_variables(forge, sites)
    first = pipeline(repo, dist, "merge_request_event", variables)
    assert first.code == 0, first.output
    assert "plan:mr:none" not in first.output  # only after a failure
    planned = forge.bots()
    assert len(planned) == len(sites)
    quote = forge.post_as_person("<!-- plutoctl-plan site=emea -->\nwhy?")

    commit(repo, {"segments.yaml": good.replace("name: Sales", "nme: Sales")}, "a typo")
    second = pipeline(repo, dist, "merge_request_event", variables)
    assert second.code != 0 and second.status("sites:check") == "FAIL", second.output
    said = "The plan failed before any site was planned: the config does not validate. "
    assert forge.bots().keys() == planned.keys()  # the same notes, edited
    for key, body in forge.bots().items():
        marker, text = body.split("\n", 1)
        assert marker == planned[key].splitlines()[0]
        assert text.startswith(f"**{said}See the log of the sites:check job: "), text
    assert forge.notes[quote].body.endswith("why?")
    assert second.status("plan:mr:none") == "PASS"

    commit(repo, {"segments.yaml": good}, "fixed")
    third = pipeline(repo, dist, "merge_request_event", variables, "plan:mr")  # the plans only
    assert third.code == 0 and forge.bots().keys() == planned.keys(), third.output
    assert all("+1 / −0 members" in body for body in forge.bots().values())


@pytest.mark.parametrize("change", ["renamed", "added"])
def test_matrix_sites_check_catches_a_site_missing_from_the_matrix(
    tmp_path: Path, dist: Dist, sites: dict[str, Sandbox], change: str
) -> None:
    recipe = (RECIPES / "gitlab-ci-matrix.yml").read_text(encoding="utf-8")
    text = config_text(sites, members=SALES)
    if change == "renamed":
        text = text.replace("  apac:", "  asia:")
    else:
        latam = f"  latam:\n    url: {sites['apac'].url}\n    token: ${{PLUTO_TOKEN_LATAM}}\n"
        text = text.replace("segments:\n", latam + "segments:\n")
    repo = make_repo(tmp_path / "config", {".gitlab-ci.yml": recipe, "segments.yaml": text})
    result = pipeline(repo, dist, "push", tokens(sites), "sites:check")
    assert result.status("sites:check") == "FAIL"
    assert "update the matrix (.sites) in .gitlab-ci.yml" in result.output


@pytest.mark.parametrize(
    ("recipe", "job"), [("gitlab-ci.yml", "apply:main"), ("gitlab-ci-matrix.yml", "apply")]
)
def test_a_pipeline_of_an_older_commit_applies_nothing(
    tmp_path: Path, dist: Dist, sites: dict[str, Sandbox], recipe: str, job: str
) -> None:
    """Pipelines are not ordered: an older commit's apply after a newer one's would undo it."""
    one = {"primary": sites["primary"]}
    text = (RECIPES / recipe).read_text(encoding="utf-8")
    files = {".gitlab-ci.yml": text, "segments.yaml": config_text(one, members=SALES)}
    repo = make_repo(tmp_path / "config", files)
    # The project's branch has moved on since this commit: a newer one is on origin.
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(origin)], check=True)
    newer = tmp_path / "newer"
    subprocess.run(["git", "clone", "-q", str(origin), str(newer)], check=True)
    git(newer, "config", "user.email", "admin@example.com")
    git(newer, "config", "user.name", "Admin")
    commit(newer, {"segments.yaml": config_text(one, members=[*SALES, "eng01"])}, "eng01")
    git(newer, "push", "-q", "origin", "main")
    git(repo, "remote", "add", "origin", str(origin))
    late = pipeline(repo, dist, "push", tokens(one), job)
    assert "not applying" in late.output and "whose pipeline applies" in late.output, late.output
    assert members_of(one["primary"], "dept-sales") == set(SALES)  # nothing applied
