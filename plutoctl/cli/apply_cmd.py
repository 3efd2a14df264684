"""``plutoctl apply``: make the planned changes, from a config or a saved plan."""

from __future__ import annotations

import json
import shlex
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from plutoctl.cli.options import (
    DEFAULT_CONFIG,
    check_writable,
    load,
    refuse_overwriting_inputs,
    run_flags,
    warn_unused_acknowledgements,
)
from plutoctl.cli.output import use_colour
from plutoctl.errors import ExitCode, PlutoError, UsageError

if TYPE_CHECKING:
    from plutoctl.config import LoadedConfig
    from plutoctl.plan.changes.plans import Plan
    from plutoctl.run.apply import SiteOutcome
    from plutoctl.run.plan import RunOptions


def confirm(*, auto_approve: bool) -> None:
    """Ask for ``yes`` on a terminal; without one, refuse rather than hang."""
    if auto_approve:
        return
    if sys.stdin is None or sys.stdin.closed or not sys.stdin.isatty():  # None: stdin closed (<&-)
        raise PlutoError(
            "apply needs confirmation, and there is no terminal to ask on",
            hint="pass --auto-approve (as in CI), or apply a saved plan: "
            "plutoctl plan --out plan.json && plutoctl apply plan.json",
        )
    try:
        answer = click.prompt(
            "Apply these changes? Only 'yes' is accepted", default="", show_default=False
        )
    except click.Abort as exc:
        if not isinstance(exc.__context__, EOFError):
            raise  # a Ctrl-C: the boundary exits 130
        click.echo()  # Ctrl-D echoes no newline: end the prompt's line
        answer = ""  # Ctrl-D is a no
    if answer.strip() != "yes":
        raise PlutoError("apply cancelled; nothing was changed")


def refuse_plan_time_flags(options: RunOptions) -> None:
    """A saved plan is applied as it was made: refuse flags that would be ignored."""
    given = [
        flag
        for flag, values in (
            ("--only", options.selection.only),
            ("--except", options.selection.excluded),
            (
                "--allow-removals/--allow-delete/--allow-move",
                options.acks.removals | options.acks.deletes | options.acks.moves,
            ),
            ("--no-acknowledgements", not options.config_acks),
        )
        if values
    ]
    if given:
        raise UsageError(
            f"{', '.join(given)} cannot change a saved plan, which is applied as it was made",
            hint="give them when making the plan: plutoctl plan ... --out PLAN "
            "(--site still picks which of its sites to apply)",
        )


def refuse_sites_not_planned(plan: Plan, sites: tuple[str, ...]) -> None:
    """Refuse ``--site`` names a saved plan was not made for: applying them would do nothing."""
    planned = [site.site for site in plan.sites]
    missing = [name for name in sites if name not in planned]
    if missing:
        raise UsageError(
            f"the plan has no site {', '.join(missing)}: it was made for "
            f"{', '.join(planned) or 'no site'}",
            hint="apply the plan made for that site, or make one: "
            f"plutoctl plan --site {missing[0]} --out PLAN",
        )


def summary_line(outcomes: dict[str, SiteOutcome]) -> str:
    """Return one line saying what each site came to."""
    parts = []
    for name, outcome in outcomes.items():
        if outcome.error is not None:
            parts.append(f"{name} not applied")
        elif outcome.is_already_applied:
            parts.append(f"{name} already applied")
        elif outcome.report is None:
            parts.append(f"{name} unchanged")
        elif outcome.is_success:
            parts.append(f"{name} applied")
        else:
            parts.append(f"{name} partly applied")
    return "Sites: " + "; ".join(parts) + "."


READ_IN_PART = (
    "read in part: what could not be read was not planned, nor applied (see the "
    "warnings above); run `plutoctl apply` again once the site answers every read"
)


def report_outcomes(outcomes: dict[str, SiteOutcome]) -> ExitCode:
    """Print what each site came to (failures on stderr); return the worst exit code."""
    code = ExitCode.OK
    for name, outcome in outcomes.items():
        if outcome.error is not None:
            click.echo(f"error: site {name}: not applied: {outcome.error.message}", err=True)
            if outcome.error.hint:
                click.echo(f"  hint: {outcome.error.hint}", err=True)
            code = max(code, outcome.error.exit_code or ExitCode.ERROR)
            continue
        if outcome.is_read_in_part:
            click.echo(f"error: site {name}: {READ_IN_PART}", err=True)
            code = max(code, ExitCode.ERROR)
        if outcome.is_already_applied:
            click.echo(
                f"site {name}: already is what the plan makes it (the plan was applied "
                "before); nothing to do."
            )
            continue
        if outcome.report is None:
            click.echo(f"site {name}: no changes.")
            continue
        click.echo(f"site {name}: {outcome.report.summary_line()}")
        for line in outcome.report.detail_lines():
            click.echo(f"  {line}")
        for note in outcome.verify_notes:
            click.echo(f"  verify: {note}")
        if outcome.is_unverified:
            click.echo(
                f"error: site {name}: the site does not hold all that apply reported done "
                "(see verify above); run `plutoctl apply` again to finish. If it recurs, "
                "the site does not take the change as sent: a max_input_vars lower than the "
                "config says, or (for an unenrolment) a user enrolled by another method",
                err=True,
            )
        if not outcome.report.is_success or outcome.is_unverified:
            code = max(code, ExitCode.APPLY_FAILED)
    return ExitCode(code)


@click.command("apply", short_help="Make the planned changes on the sites.")
# A directory, as any file that is not a plan, is refused by load_plan (exit 1), as
# the config's are by its loader: not a usage error.
@click.argument("plan_file", required=False, type=click.Path(path_type=Path))
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path),  # the loader's own messages, as config_option
    metavar="FILE",
    help="The config file.  [default: segments.yaml, or the one a saved plan was made from]",
)
@click.option("--auto-approve", is_flag=True, help="Apply without asking (for CI).")
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path),  # a directory: check_writable's error
    metavar="FILE",
    help="Write what was done, failed and skipped as JSON.",
)
@click.option("--show-members", is_flag=True, help="List every username in the plan shown.")
@run_flags
def apply_command(
    plan_file: Path | None,
    config_path: Path | None,
    report_path: Path | None,
    options: RunOptions,
    *,
    auto_approve: bool,
    show_members: bool,
) -> int:
    """Make the changes a plan shows: plan and confirm, or apply a saved plan.

    With PLAN_FILE (from `plutoctl plan --out`), apply that plan without asking; it is
    refused if anything it touches changed since it was made, and --only, --except and
    --allow-* then belong to `plutoctl plan`. Sites are applied independently: a site
    whose plan has errors is not applied, the others are. Exit codes (the worst
    site's): 0 done, 1 error (or stale plan), 3 plan refused as unsafe (nothing
    applied), 4 some operations failed (run apply again to finish).

    Example:

        plutoctl apply -c segments.yaml --auto-approve --report apply.json
    """
    from plutoctl.plan.render import render
    from plutoctl.plan.saved import load_plan
    from plutoctl.run.apply import apply_plan, outcomes_not_applied
    from plutoctl.run.plan import learned_ids, make_plan
    from plutoctl.run.reverify import check_saved_plan
    from plutoctl.run.sites import sites_to_run

    basis = None
    known: dict[str, dict[int, str]] = {}
    if plan_file is not None:
        refuse_plan_time_flags(options)
        plan = load_plan(plan_file)
        loaded = load(config_path or Path(plan.config_path or DEFAULT_CONFIG))
        check_report_path(report_path, loaded, plan_file)
        sites_to_run(loaded, options.selection)  # refuses --site names the config lacks
        refuse_sites_not_planned(plan, options.selection.sites)
        try:
            basis = check_saved_plan(loaded, plan)
        except PlutoError as exc:
            if report_path is not None:  # a stale or tampered plan: said in the report too
                reason = f"not applied: {exc.message}"
                write_report(report_path, outcomes_not_applied(loaded, plan, options, reason))
            raise
    else:
        loaded = load(config_path or Path(DEFAULT_CONFIG))
        check_report_path(report_path, loaded, None)
        plan, runs = make_plan(loaded, options)
        known = learned_ids(runs)
        warn_unused_acknowledgements(plan, options)
        colour = use_colour(sys.stdout)
        text = render(plan, "text", colour=colour, show_members=show_members)
        click.echo(text, nl=False, color=colour)  # as in plan: kept off a terminal too
    # A saved plan is checked whole; only the sites picked (--site) are applied.
    chosen = set(options.selection.sites)
    picked = [p for p in plan.sites if not chosen or p.site in chosen]
    errored = [p.site for p in picked if p.errors]
    if any(p.refused for p in picked):
        click.echo("error: the plan was refused as unsafe; nothing was applied", err=True)
        healthy = [p.site for p in picked if not p.errors and not p.refused and p.changes]
        if healthy:
            flags = " ".join(f"--site {shlex.quote(name)}" for name in healthy)
            click.echo(f"  hint: to apply the sites without problems only, add {flags}", err=True)
        if errored:
            click.echo(f"error: the plan has errors on site(s) {', '.join(errored)}", err=True)
        if report_path is not None:
            reason = "not applied: the plan was refused as unsafe; nothing was applied"
            write_report(report_path, outcomes_not_applied(loaded, plan, options, reason))
        # As plan exits for the same plan: errors before refusals.
        return ExitCode.ERROR if errored else ExitCode.UNSAFE
    others = len(errored) < len(picked)
    if errored:
        # Sites are independent: one whose plan has errors is left alone, the others go on.
        click.echo(
            f"error: not applying site(s) {', '.join(errored)}: the plan has errors there"
            + ("; the other sites go ahead" if others else ""),
            err=True,
        )
    if not any(p.has_changes for p in picked):
        click.echo(
            "Nothing to apply on the other sites." if errored and others else "Nothing to apply."
        )
        partial = [p.site for p in picked if p.is_read_incomplete and not p.errors]
        for name in partial:
            click.echo(f"error: site {name}: {READ_IN_PART}", err=True)
        if report_path is not None:
            reason = "not applied: nothing to apply"  # no site has changes: unused but for form
            write_report(report_path, outcomes_not_applied(loaded, plan, options, reason))
        return ExitCode.ERROR if errored or partial else ExitCode.OK
    if plan_file is None:
        try:
            confirm(auto_approve=auto_approve)
        except PlutoError as exc:
            if report_path is not None:  # declined, or no terminal: said in the report too
                reason = f"not applied: {exc.message}"
                write_report(report_path, outcomes_not_applied(loaded, plan, options, reason))
            raise
    from plutoctl.cli.progress import ProgressPrinter

    stop = threading.Event()
    outcomes = apply_plan(
        loaded, plan, options, progress=ProgressPrinter(), stop=stop, saved=basis, known=known
    )
    code = report_outcomes(outcomes)
    if len(outcomes) > 1:
        click.echo(summary_line(outcomes))
    if report_path is not None:
        write_report(report_path, outcomes)
    if stop.is_set():
        click.echo(interrupted_message(outcomes, plan_file), err=True)
        return ExitCode.INTERRUPTED
    return code


def interrupted_message(outcomes: dict[str, SiteOutcome], plan_file: Path | None) -> str:
    """Say what an interrupted apply left, and how to finish it."""
    said = "Interrupted: the calls in flight finished and nothing more was sent"
    # A call sent while applying a site is a write that may have landed.
    if not any(o.report is not None and o.report.calls for o in outcomes.values()):
        if plan_file is None:
            return f"{said}; nothing was written. Run `plutoctl apply` again to apply the plan."
        command = f"plutoctl apply {shlex.quote(str(plan_file))}"
        return f"{said}; nothing was written; the same plan can be applied again: {command}"
    # A saved plan no longer matches a site it was partly applied to: a new plan
    # holds the rest.
    again = (
        "Run `plutoctl apply` again to finish."
        if plan_file is None
        else "To finish, make a new plan and apply it (the saved plan no longer matches the site)."
    )
    return f"{said}; the skipped items above were not applied. {again}"


def check_report_path(path: Path | None, loaded: LoadedConfig, plan_file: Path | None) -> None:
    """Refuse, before anything is read or applied, a ``--report`` path that would
    overwrite an input or cannot be written."""
    if path is not None:
        also_read = [plan_file] if plan_file else []
        refuse_overwriting_inputs(loaded, [path], what="--report", also_read=also_read)
        check_writable(path, what="--report", nothing="applied")


def write_report(path: Path, outcomes: dict[str, SiteOutcome]) -> None:
    """Write the apply outcome per site as JSON (never a token: none is held)."""
    data = {
        "format_version": 1,
        "sites": [
            {
                "site": name,
                "success": outcome.is_success,
                "error": outcome.error.message
                if outcome.error
                else READ_IN_PART
                if outcome.is_read_in_part
                else None,
                "report": outcome.report.to_dict() if outcome.report else None,
                "verify": list(outcome.verify_notes),
            }
            for name, outcome in outcomes.items()
        ],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise PlutoError(
            f"apply finished as shown above, but the report could not be written to {path}: "
            f"{exc.strerror or exc}"
        ) from exc


def register(cli: click.Group) -> None:
    """Add ``apply`` to the CLI."""
    cli.add_command(apply_command)
