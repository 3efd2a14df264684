"""``plutoctl explain``: why a user is, or is not, in each segment."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from plutoctl.cli.options import (
    complete_sites,
    config_option,
    connection,
    connection_options,
    load,
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
    from plutoctl.explain import render_explanation
    from plutoctl.run.explain import explain_on_site, pick_site

    loaded = load(config_path)
    username = clean_username(username)  # as the config's usernames are read
    name = pick_site(loaded, site)
    using = connection(parallelism=parallelism, timeout=timeout)
    answer = explain_on_site(loaded, name, username, using)
    click.echo(render_explanation(answer.segments, username, name))
    if answer.incomplete:
        click.echo(
            f"warning: the read of site {name!r} was incomplete "
            f"({'; '.join(answer.incomplete)}): what was not read may make this explanation "
            "wrong; try again once the site answers",
            err=True,
        )
    if answer.errors:
        more = f" (and {len(answer.errors) - 1} more)" if len(answer.errors) > 1 else ""
        click.echo(
            f"warning: the plan of site {name!r} has errors, so nothing is applied there "
            f"until they are fixed: {answer.errors[0]}{more}; see them with: plutoctl plan "
            f"--site {shlex.quote(name)}",
            err=True,
        )
    if len(loaded.config.sites) > 1:
        click.echo(
            f"note: what 'will be' is what this site's plan makes: `plutoctl apply --site "
            f"{shlex.quote(name)}` does it; a plain apply does nothing while another site's "
            "plan holds a refused change",
            err=True,
        )
    return 0


def register(cli: click.Group) -> None:
    """Add ``explain`` to the CLI."""
    cli.add_command(explain_command)
