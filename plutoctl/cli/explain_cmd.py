"""``plutoctl explain``: why a user is, or is not, in each segment."""

from __future__ import annotations

from pathlib import Path

import click

from plutoctl.cli.options import (
    complete_sites,
    config_option,
    connection_options,
    load,
    run_options,
)
from plutoctl.config import LoadedConfig
from plutoctl.errors import UsageError


def pick_site(loaded: LoadedConfig, site: str | None) -> str:
    """Return the site to explain on: the one named, or the only one."""
    if site is not None:
        return site
    sites = list(loaded.config.sites)
    if len(sites) == 1:
        return sites[0]
    raise UsageError(
        "this config has several sites; say which one",
        hint=f"add --site NAME (one of: {', '.join(sites)})",
    )


@click.command("explain", short_help="Explain why a user is in each segment or not.")
@click.argument("username")
@config_option
@click.option(
    "--site",
    metavar="NAME",
    shell_complete=complete_sites,
    help="The site (needed when the config has several).",
)
@connection_options
def explain_command(
    username: str, config_path: Path, site: str | None, parallelism: int, timeout: float
) -> int:
    """Show every segment USERNAME is or would be in, and what decided it.

    For each segment on the site: member now or not, member after apply or not,
    and the list entry, CSV row, rule or exclusion that decided.

    Example:

        plutoctl explain jdoe -c segments.yaml --site primary
    """
    from plutoctl.config.usernames import clean_username
    from plutoctl.explain import explain_user, render_explanation
    from plutoctl.plan.desired import build_desired
    from plutoctl.runner import (
        open_site,
        read_existing,
        scope_for,
        sites_to_run,
        with_unmanaged_members,
    )

    loaded = load(config_path)
    username = clean_username(username)  # as the config's usernames are read
    name = pick_site(loaded, site)
    options = run_options(sites=(name,), parallelism=parallelism, timeout=timeout)
    sites_to_run(loaded, options.selection)
    segments, courses = scope_for(loaded, name, options.selection)
    with open_site(name, loaded, options) as client:
        existing = read_existing(
            client, loaded, name, segments, courses, extra_usernames=frozenset({username})
        )
        # Segments the config does not declare are listed too (last): read their members.
        existing = with_unmanaged_members(client, existing, frozenset(loaded.config.segments))
    result = build_desired(loaded, name, existing, segments=segments, courses=courses)
    explanations = explain_user(loaded, name, existing, username, result)
    click.echo(render_explanation(explanations, username, name))
    return 0


def register(cli: click.Group) -> None:
    """Add ``explain`` to the CLI."""
    cli.add_command(explain_command)
