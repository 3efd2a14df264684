"""A small GitHub Actions runner for the recipes: their ``run:`` steps, for real.

It runs a workflow's jobs for one event in ``needs`` order, each (and each matrix
entry; the entries of a matrix at the same time, as on GitHub) in a fresh clone of
the repository, with the workflow's, job's and step's ``env``, ``${{ }}`` expressions
for the contexts the recipes use, ``GITHUB_OUTPUT``, step outputs and outcomes, job
outputs, ``if:`` (``always()``, ``failure()``, ``==``, ``&&``) and the default "skip
after a failed step". The actions the recipes use stand in as on a runner: checkout
(the clone), setup-python (the Python on ``PATH``), upload- and download-artifact (a
directory per artifact name). Anything else is refused, so a recipe cannot use a step
this harness does not really run.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
STEP_TIMEOUT = 300


@dataclass
class StepRun:
    name: str
    code: int | None  # None: skipped
    output: str = ""


@dataclass
class JobRun:
    job: str
    matrix: dict[str, Any]
    steps: list[StepRun] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(s.code in (0, None) for s in self.steps)

    @property
    def failed_code(self) -> int | None:
        return next((s.code for s in self.steps if s.code not in (0, None)), None)

    @property
    def log(self) -> str:
        return "\n".join(f"--- {s.name} (exit {s.code})\n{s.output}" for s in self.steps)


@dataclass
class Event:
    name: str  # pull_request | push | schedule
    sha: str
    pr_number: int | None = None


class Workflow:
    """One workflow file, run job by job for an event."""

    def __init__(self, path: Path) -> None:
        self.data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.jobs: dict[str, Any] = self.data["jobs"]

    def run(
        self,
        repo: Path,
        event: Event,
        *,
        workdir: Path,
        env: Mapping[str, str],
        secrets: Mapping[str, str],
        api_url: str,
    ) -> dict[str, list[JobRun]]:
        """Run every job the event triggers; return each job's runs (one per matrix entry)."""
        artifacts = workdir / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        results: dict[str, list[JobRun]] = {}
        for name in self._order():
            job = self.jobs[name]
            needs = _as_list(job.get("needs"))
            if any(n not in results or not all(r.ok for r in results[n]) for n in needs):
                continue  # a needed job was skipped or failed
            ctx = _Context(event, secrets, needs={n: _needs_ctx(results[n]) for n in needs})
            if "if" in job and not ctx.truthy(job["if"]):
                continue
            run_entry = functools.partial(
                self._run_job, name, job, repo=repo, ctx=ctx, workdir=workdir,
                base_env=env, artifacts=artifacts, api_url=api_url,
            )  # fmt: skip
            matrices = _matrix(job, ctx)
            with ThreadPoolExecutor(max_workers=len(matrices)) as entries:  # as on GitHub
                results[name] = list(entries.map(run_entry, matrices))
        return results

    def _order(self) -> list[str]:
        done: list[str] = []
        while len(done) < len(self.jobs):
            for name, job in self.jobs.items():
                if name not in done and all(n in done for n in _as_list(job.get("needs"))):
                    done.append(name)
        return done

    def _run_job(
        self,
        name: str,
        job: dict[str, Any],
        matrix: dict[str, Any],
        repo: Path,
        ctx: _Context,
        workdir: Path,
        base_env: Mapping[str, str],
        artifacts: Path,
        api_url: str,
    ) -> JobRun:
        ctx = ctx.with_matrix(matrix)
        suffix = "-".join(str(v) for v in matrix.values())
        checkout = workdir / f"{name}{'-' + suffix if suffix else ''}"
        if checkout.exists():
            shutil.rmtree(checkout)
        subprocess.run(["git", "clone", "-q", str(repo), str(checkout)], check=True)
        subprocess.run(["git", "-C", str(checkout), "checkout", "-q", ctx.event.sha], check=True)
        run = JobRun(name, matrix)
        env = {
            **base_env,
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": api_url,
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_RUN_ID": "4711",
            "GITHUB_REPOSITORY": "example/config",
            "GITHUB_SHA": ctx.event.sha,
            # The branch a push or schedule runs on (the clone's main), or a pull
            # request's merge ref, as GitHub names them.
            "GITHUB_REF_NAME": (
                f"{ctx.event.pr_number}/merge" if ctx.event.pr_number is not None else "main"
            ),
            "GITHUB_EVENT_NAME": ctx.event.name,
            "GITHUB_WORKSPACE": str(checkout),
        }
        env.update(ctx.render_env(self.data.get("env", {})))
        env.update(ctx.render_env(job.get("env", {})))
        failed = False
        for index, step in enumerate(job["steps"]):
            step_name = step.get("name") or step.get("id") or step.get("uses") or f"step {index}"
            condition = step.get("if", "success()")
            if not ctx.with_failure(failed).truthy(condition):
                run.steps.append(StepRun(step_name, None))
                if "id" in step:
                    ctx.steps[step["id"]] = {"outputs": {}, "outcome": "skipped"}
                continue
            result = self._step(step, ctx, env, checkout, artifacts)
            run.steps.append(StepRun(step_name, result[0], result[1]))
            if "id" in step:
                outcome = "success" if result[0] == 0 else "failure"
                ctx.steps[step["id"]] = {"outputs": result[2], "outcome": outcome}
            failed = failed or result[0] != 0
        run.outputs = {k: ctx.render(v) for k, v in job.get("outputs", {}).items()}
        return run

    def _step(
        self,
        step: dict[str, Any],
        ctx: _Context,
        env: dict[str, str],
        cwd: Path,
        artifacts: Path,
    ) -> tuple[int, str, dict[str, str]]:
        with_ = {k: ctx.render(str(v)) for k, v in (step.get("with") or {}).items()}
        if "uses" in step:
            return (*_action(step["uses"], with_, cwd, artifacts), {})
        output_file = cwd.parent / f".github_output_{cwd.name}"
        output_file.write_text("", encoding="utf-8")
        script = cwd.parent / f".step_{cwd.name}.sh"
        script.write_text(ctx.render(step["run"]), encoding="utf-8")
        step_env = {**env, **ctx.render_env(step.get("env", {})), "GITHUB_OUTPUT": str(output_file)}
        proc = subprocess.run(
            ["bash", "-e", str(script)],
            cwd=cwd,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        outputs = _read_outputs(output_file.read_text(encoding="utf-8"))
        return proc.returncode, proc.stdout + proc.stderr, outputs


def _action(uses: str, with_: dict[str, str], cwd: Path, artifacts: Path) -> tuple[int, str]:
    action = uses.split("@", 1)[0]
    if action in ("actions/checkout", "actions/setup-python"):
        return 0, f"{action}: done by the harness (fresh clone; Python on PATH)"
    if action == "actions/upload-artifact":
        target = artifacts / with_["name"]
        target.mkdir(parents=True, exist_ok=True)
        source = cwd / with_["path"]
        if not source.exists():
            return 0, f"no file {with_['path']} to upload (a warning on GitHub)"
        shutil.copy(source, target / source.name)
        return 0, f"uploaded {with_['path']} as {with_['name']}"
    if action == "actions/download-artifact":
        source = artifacts / with_["name"]
        if not source.is_dir():
            return 1, f"no artifact named {with_['name']}"
        for item in source.iterdir():
            shutil.copy(item, cwd / item.name)
        return 0, f"downloaded {with_['name']}"
    raise AssertionError(f"the harness does not run {uses}; add it to tests/ci/gha.py")


def _read_outputs(text: str) -> dict[str, str]:
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            key, end = line.split("<<", 1)
            outputs[key] = "\n".join(itertools.takewhile(lambda x, e=end: x != e, lines))
        elif "=" in line:
            key, value = line.split("=", 1)
            outputs[key] = value
    return outputs


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)  # type: ignore[arg-type]


def _needs_ctx(runs: list[JobRun]) -> dict[str, Any]:
    outputs: dict[str, str] = {}
    for run in runs:
        outputs.update(run.outputs)
    return {"outputs": outputs, "result": "success" if all(r.ok for r in runs) else "failure"}


def _matrix(job: dict[str, Any], ctx: _Context) -> list[dict[str, Any]]:
    matrix = (job.get("strategy") or {}).get("matrix")
    if not matrix:
        return [{}]
    axes = {}
    for key, value in matrix.items():
        axes[key] = ctx.value(value) if isinstance(value, str) else value
    keys = list(axes)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*axes.values())]


class _Context:
    """The expression contexts: github, secrets, needs, matrix, steps, and job status."""

    def __init__(
        self,
        event: Event,
        secrets: Mapping[str, str],
        needs: dict[str, Any],
        matrix: dict[str, Any] | None = None,
        failed: bool = False,
    ) -> None:
        self.event = event
        self.secrets = dict(secrets)
        self.needs = needs
        self.matrix = matrix or {}
        self.steps: dict[str, Any] = {}
        self.failed = failed

    def with_matrix(self, matrix: dict[str, Any]) -> _Context:
        return _Context(self.event, self.secrets, self.needs, matrix)

    def with_failure(self, failed: bool) -> _Context:
        ctx = _Context(self.event, self.secrets, self.needs, self.matrix, failed)
        ctx.steps = self.steps
        return ctx

    def lookup(self, path: str) -> Any:
        github = {
            "event_name": self.event.name,
            "sha": self.event.sha,
            "token": "gh-token-for-tests",
            "event": {"pull_request": {"number": self.event.pr_number}},
        }
        roots = {
            "github": github,
            "secrets": self.secrets,
            "needs": self.needs,
            "matrix": self.matrix,
            "steps": self.steps,
        }
        head, *rest = path.split(".")
        value: Any = roots[head]
        for part in rest:
            value = value.get(part, "") if isinstance(value, dict) else ""
        return value

    def value(self, text: str) -> Any:
        match = EXPRESSION.fullmatch(text.strip())
        return self.evaluate(match.group(1) if match else text)

    def evaluate(self, expr: str) -> Any:
        expr = expr.strip()
        if "&&" in expr:
            return all(self.evaluate(part) for part in expr.split("&&"))
        if "==" in expr:
            left, right = expr.split("==", 1)
            return self.evaluate(left) == self.evaluate(right)
        if expr in ("always()",):
            return True
        if expr == "success()":
            return not self.failed
        if expr == "failure()":
            return self.failed
        if expr.startswith("fromJSON(") and expr.endswith(")"):
            return json.loads(str(self.evaluate(expr[len("fromJSON(") : -1])))
        if expr.startswith("'") and expr.endswith("'"):
            return expr[1:-1]
        if re.fullmatch(r"[A-Za-z_][\w.-]*", expr):
            return self.lookup(expr)
        raise AssertionError(f"the harness cannot evaluate ${{{{ {expr} }}}}")

    def truthy(self, condition: object) -> bool:
        text = str(condition)
        match = EXPRESSION.fullmatch(text.strip())
        result = self.evaluate(match.group(1) if match else text)
        if self.failed and not any(f in text for f in ("always()", "failure()")):
            return False
        return bool(result)

    def render(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            value = self.evaluate(match.group(1))
            return json.dumps(value) if isinstance(value, list | dict) else str(value)

        return EXPRESSION.sub(replace, text)

    def render_env(self, env: Mapping[str, object]) -> dict[str, str]:
        return {k: self.render(str(v)) for k, v in env.items()}


def workflow_env_names(path: Path) -> list[str]:
    """Return the names of the workflow-level env variables (for checks)."""
    return list(yaml.safe_load(path.read_text(encoding="utf-8")).get("env", {}))


def environ_without_ci() -> dict[str, str]:
    """Return this process's environment without variables a runner would set itself."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
