"""``plutoctl plan``: read each site and print the changes it needs."""

from __future__ import annotations

import importlib
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from plutoctl.cli import program
from plutoctl.cli.options import (
    check_writable,
    config_option,
    load,
    refuse_overwriting_inputs,
    run_flags,
    warn_unused_acknowledgements,
)
from plutoctl.cli.output import use_colour
from plutoctl.errors import ExitCode
from plutoctl.plan.changes.plans import Plan
from plutoctl.plan.formats import FORMATS, Format

if TYPE_CHECKING:
    from plutoctl.run.plan import RunOptions


def plan_exit_code(plan: Plan, *, detailed: bool) -> ExitCode:
    """Return the exit code for a plan: errors, then refusals, then changes."""
    if plan.has_errors:
        return ExitCode.ERROR
    if plan.is_refused:
        return ExitCode.UNSAFE
    # A drift check cannot say "in sync" of what it could not read, nor of a change the
    # site cannot take as it is (a group name another group holds).
    if detailed and (plan.is_read_incomplete or plan.is_blocked):
        return ExitCode.ERROR
    if detailed and plan.has_changes:
        return ExitCode.CHANGES
    return ExitCode.OK


OUTPUT_MODULES = ("plutoctl.plan.render", "plutoctl.plan.saved")
"""What prints and saves a plan: imported while the sites are read, which mostly waits
on the network, rather than before the first call or after the last (about 50 ms)."""


def import_output() -> None:
    """Import ``OUTPUT_MODULES``."""
    for name in OUTPUT_MODULES:
        importlib.import_module(name)


@click.command("plan", short_help="Show the changes each site needs.")
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="How to print the plan.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),  # a directory: check_writable's error
    metavar="FILE",
    help="Save the plan (JSON, with fingerprints) for `plutoctl apply PLAN`.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes, 0 when there are none.",
)
@click.option("--show-members", is_flag=True, help="List every username, unfolded.")
@run_flags
def plan_command(
    config_path: Path,
    fmt: Format,
    out: Path | None,
    options: RunOptions,
    *,
    detailed_exitcode: bool,
    show_members: bool,
) -> int:
    """Read each site and show the changes that would make it match the config.

    Exit codes: 0 success (with --detailed-exitcode: no changes), 1 error,
    2 changes present (only with --detailed-exitcode), 3 plan refused as unsafe.

    Example:

        plutoctl plan -c segments.yaml --format markdown --out plan.json
    """
    from plutoctl.heap import rare_collection
    from plutoctl.run.plan import make_plan

    # The config, the read and the plan are 100,000s to millions of small objects (see
    # plutoctl.heap): the collector would walk them all again between the stages and while
    # the plan is rendered and saved, for cycles a plan barely makes.
    with rare_collection():
        loaded = load(config_path)
        if out is not None:
            refuse_overwriting_inputs(loaded, [out], what="--out")
            check_writable(out, what="--out", nothing="read")
        plan, runs = make_plan(loaded, options, meanwhile=import_output)
        program.hold(loaded, plan, runs)
        from plutoctl.plan.render import render  # imported while the sites were read
        from plutoctl.plan.saved import save_plan

        warn_unused_acknowledgements(plan, options)
        colour = fmt == "text" and use_colour(sys.stdout)
        # ``color``: click would strip the colours again wherever stdout is not a terminal,
        # which is where --color and FORCE_COLOR are asked for (a CI log).
        text = render(plan, fmt, colour=colour, show_members=show_members)
        click.echo(text, nl=False, color=colour)
        if out is not None:
            # The saved plan names its config absolutely, so that `plutoctl apply PLAN` run
            # from any directory finds the config it was made from.
            seals = {name: run.seal for name, run in runs.items() if run.seal is not None}
            save_plan(replace(plan, config_path=str(loaded.path.resolve())), out, seals)
            click.echo(f"Saved the plan to {out}; {saved_plan_next_step(plan, out)}", err=True)
    return plan_exit_code(plan, detailed=detailed_exitcode)


def saved_plan_next_step(plan: Plan, out: Path) -> str:
    """Say what ``plutoctl apply OUT`` would do with the plan just saved."""
    command = f"plutoctl apply {shlex.quote(str(out))}"
    if plan.is_refused:
        said = f"it is refused as unsafe, so `{command}` would apply nothing"
        fix = "acknowledge the refused changes (see above) and plan again"
        # As apply's own hint: --site picks the sites without problems, which then apply.
        healthy = [s.site for s in plan.sites if not s.errors and not s.refused and s.changes]
        if healthy:
            flags = " ".join(f"--site {shlex.quote(name)}" for name in healthy)
            return (
                f"{said}; `{command} {flags}` applies the sites without problems only; "
                f"to apply the rest, {fix}"
            )
        return f"{said}: {fix}"
    if plan.has_errors:
        return f"`{command}` applies it to the sites without errors only"
    if not plan.has_changes:
        return "it holds no changes"
    return f"apply it with: {command}"


def register(cli: click.Group) -> None:
    """Add ``plan`` to the CLI."""
    cli.add_command(plan_command)
